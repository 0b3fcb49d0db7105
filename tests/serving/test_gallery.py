"""The persistent gallery: records survive reopen and kill -9, the index file is a cache rebuilt when it does not
match, several processes share one folder (each catches up with the others), bad calls raise GalleryError."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from aiaas_cli.serving import gallery as gallery_module
from aiaas_cli.serving.gallery import Gallery, GalleryError
from aiaas_cli.serving.gallery_index import HEADER_FILE, INDEX_FILE, Settings

DIM = 16


def unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(vectors: np.ndarray, seed: int = 99) -> np.ndarray:
    """Queries close to ``vectors`` (another photo of the same person)."""
    return vectors + 0.05 * unit(len(vectors), seed)


def top1(gallery: Gallery, queries: np.ndarray) -> list[str]:
    return [found[0][0] for found in gallery.identify(queries, k=1)]


def test_identify_finds_the_enrolled_identity_once_each(tmp_path):
    people = unit(60, 0)
    with Gallery(tmp_path, DIM) as gallery:
        for i, vector in enumerate(people):
            assert gallery.enroll(f"person {i}", vector[None]) == 1
        assert gallery.enroll("person 0", unit(3, 1)) == 4  # more photos of person 0: appended
        assert top1(gallery, near(people)) == [f"person {i}" for i in range(60)]
        found = gallery.identify(people[0], k=5)[0]
        assert len(found) == 5 and len({name for name, _ in found}) == 5  # one entry per identity
        assert found[0][0] == "person 0" and found[0][1] == pytest.approx(1.0, abs=1e-5)
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        assert len(gallery) == 60 and gallery.names()[:2] == [("person 0", 4), ("person 1", 1)]


def test_records_and_index_survive_reopen(tmp_path):
    people = unit(20, 2)
    with Gallery(tmp_path, DIM) as gallery:
        for i, vector in enumerate(people):
            gallery.enroll(f"p{i:02d}", vector[None])
        assert gallery.remove("p05") == 1
    header = json.loads((tmp_path / HEADER_FILE).read_text())
    with Gallery(tmp_path, DIM) as gallery:
        assert [n for n, _ in gallery.names()] == [f"p{i:02d}" for i in range(20) if i != 5]
        assert top1(gallery, near(people[:3])) == ["p00", "p01", "p02"]
        assert top1(gallery, people[5]) != ["p05"]
    assert json.loads((tmp_path / HEADER_FILE).read_text()) == header  # loaded, not rebuilt: nothing changed


@pytest.mark.parametrize("damage", ["missing", "garbage", "other gallery's", "behind the records"])
def test_index_file_that_does_not_match_is_rebuilt_or_caught_up(tmp_path, damage):
    folder, people = tmp_path / "g", unit(30, 3)
    with Gallery(folder, DIM) as gallery:
        for i, vector in enumerate(people[:20]):
            gallery.enroll(f"p{i}", vector[None])
    shutil.copytree(folder, tmp_path / "older")
    with Gallery(folder, DIM) as gallery:
        for i, vector in enumerate(people[20:], start=20):
            gallery.enroll(f"p{i}", vector[None])
        gallery.remove("p0")
    if damage == "missing":
        (folder / INDEX_FILE).unlink()
    elif damage == "garbage":
        (folder / INDEX_FILE).write_bytes(b"not an index" * 100)
    elif damage == "other gallery's":
        with Gallery(tmp_path / "other", DIM) as other:
            other.enroll("stranger", unit(30, 4))  # as many vectors as ours: only the generation tells them apart
        for name in (INDEX_FILE, HEADER_FILE):
            shutil.copy(tmp_path / "other" / name, folder / name)
    else:  # an index saved before the last enrolments and the removal (a worker killed before it saved)
        for name in (INDEX_FILE, HEADER_FILE):
            shutil.copy(tmp_path / "older" / name, folder / name)
    with Gallery(folder, DIM) as gallery:
        assert top1(gallery, near(people[1:])) == [f"p{i}" for i in range(1, 30)]
        assert "p0" not in {name for name, _ in gallery.identify(people[0], k=30)[0]}
        assert "stranger" not in dict(gallery.names())
    header = json.loads((folder / HEADER_FILE).read_text())
    assert header["count"] == 29


def test_a_removal_in_one_process_leaves_the_others_index(tmp_path):
    people = unit(5, 5)
    first, second = Gallery(tmp_path, DIM), Gallery(tmp_path, DIM)
    for i, vector in enumerate(people):
        first.enroll(f"p{i}", vector[None])
    assert top1(second, near(people)) == [f"p{i}" for i in range(5)]  # second catches up with first's enrolments
    assert second.remove("p2") == 1
    assert "p2" not in {name for name, _ in first.identify(people[2], k=5)[0]}
    assert len(first) == 4
    first.close(), second.close()


def _enrol_many(folder, prefix, seed, barrier, answers):
    gallery = Gallery(folder, DIM)
    for i, vector in enumerate(unit(40, seed)):
        gallery.enroll(f"{prefix}{i}", vector[None])
    barrier.wait()  # both have enrolled: each must now see the other's identities
    answers.put((prefix, sorted(name for name, _ in gallery.names()), top1(gallery, near(unit(40, 11 - seed)))))
    gallery.close()


def test_two_processes_enrolling_at_once_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")  # no SQLite connection or index inherited from this process
    barrier, answers = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_enrol_many, args=(tmp_path, p, s, barrier, answers)) for p, s in [("a", 5), ("b", 6)]
    ]
    for worker in workers:
        worker.start()
    seen = dict((prefix, (names, best)) for prefix, names, best in (answers.get(timeout=60) for _ in workers))
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    everyone = sorted([f"a{i}" for i in range(40)] + [f"b{i}" for i in range(40)])
    assert seen["a"][0] == everyone and seen["b"][0] == everyone
    assert seen["a"][1] == [f"b{i}" for i in range(40)] and seen["b"][1] == [f"a{i}" for i in range(40)]
    with Gallery(tmp_path, DIM) as gallery:
        assert [name for name, _ in gallery.names()] == everyone


KILLED_WRITER = """
import sys, numpy as np
from aiaas_cli.serving.gallery import Gallery
gallery = Gallery(sys.argv[1], {dim})
rng = np.random.default_rng(0)
for i in range(100000):
    gallery.enroll(f"n{{i}}", rng.standard_normal((2, {dim})))
    print(f"n{{i}}", flush=True)  # only after enroll returned: an answered enrolment
"""


def test_every_answered_enrolment_survives_kill_9(tmp_path):
    script = textwrap.dedent(KILLED_WRITER.format(dim=DIM))
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    answered = [writer.stdout.readline().strip() for _ in range(150)]
    writer.send_signal(signal.SIGKILL)  # mid-stream: the next enrolment may be half written
    answered += [line.strip() for line in writer.stdout]  # what it printed before it died
    writer.wait(10)
    assert writer.returncode == -signal.SIGKILL
    with Gallery(tmp_path, DIM) as gallery:
        held = dict(gallery.names())
    assert all(held.get(name) == 2 for name in answered if name)
    assert len(held) in (len(answered), len(answered) + 1)  # at most the one being written when it died


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda g: g.enroll("", unit(1, 0)), "needs a name"),
        (lambda g: g.enroll("   ", unit(1, 0)), "needs a name"),
        (lambda g: g.enroll("x" * 201, unit(1, 0)), "at most 200"),
        (lambda g: g.enroll("a\nb", unit(1, 0)), "control characters"),
        (lambda g: g.enroll("x", np.ones((1, DIM + 1))), r"\[n >= 1, 16\]"),
        (lambda g: g.enroll("x", np.ones((0, DIM))), r"\[n >= 1, 16\]"),
        (lambda g: g.enroll("x", np.full((1, DIM), np.nan)), "NaN or infinite"),
        (lambda g: g.enroll("x", np.zeros((1, DIM))), "zeros"),
        (lambda g: g.enroll("x", [["a"] * DIM]), "numbers"),
        (lambda g: g.remove("nobody"), "no identity named 'nobody'"),
        (lambda g: g.identify(np.ones((1, 3))), r"\[n >= 1, 16\]"),
        (lambda g: g.identify(unit(1, 0), k=0), "at least 1"),
    ],
)
def test_bad_calls_raise_gallery_error(tmp_path, call, message):
    with Gallery(tmp_path, DIM) as gallery:
        with pytest.raises(GalleryError, match=message):
            call(gallery)
        assert gallery.names() == []


def test_a_folder_keeps_its_dimension(tmp_path):
    Gallery(tmp_path, DIM).close()
    with pytest.raises(GalleryError, match="holds 16-d vectors, not 8-d"):
        Gallery(tmp_path, 8)
    with Gallery(tmp_path, DIM) as gallery:
        assert gallery.identify(unit(2, 0)) == [[], []]  # an empty gallery knows nobody


def test_threads_identify_while_another_enrols(tmp_path):
    people, errors = unit(200, 7), []
    with Gallery(tmp_path, DIM) as gallery:
        gallery.enroll("p0", people[:1])

        def ask() -> None:
            try:
                for i in range(100):
                    assert gallery.identify(people[i % 200], k=3)[0]
            except Exception as exc:  # a failed search in a thread must fail the test
                errors.append(exc)

        askers = [threading.Thread(target=ask) for _ in range(4)]
        for thread in askers:
            thread.start()
        for i in range(1, 200):
            gallery.enroll(f"p{i}", people[i : i + 1])
        for thread in askers:
            thread.join()
        assert not errors
        assert top1(gallery, near(people)) == [f"p{i}" for i in range(200)]


def test_an_index_far_behind_is_saved_again_when_caught_up(tmp_path, monkeypatch):
    monkeypatch.setattr(gallery_module, "SAVE_EVERY", 5)

    def count() -> int:
        return json.loads((tmp_path / HEADER_FILE).read_text())["count"]

    writer = Gallery(tmp_path, DIM)
    for i in range(12):  # records only, as if a worker died before saving its index
        writer.records.enroll([(f"p{i}", unit(1, 20 + i))])
    assert count() == 0
    with Gallery(tmp_path, DIM) as opened:  # loads the file, applies 12 changes >= SAVE_EVERY, writes it again
        assert count() == 12 and len(opened) == 12
        for i in range(12, 18):
            writer.records.enroll([(f"p{i}", unit(1, 20 + i))])
        assert len(opened) == 18 and count() == 18  # caught up while open: written again too
    writer.close()


def test_only_a_change_of_graph_settings_rebuilds_the_file(tmp_path):
    with Gallery(tmp_path, DIM) as gallery:
        gallery.enroll("ada", unit(3, 9))
    built = (tmp_path / INDEX_FILE).stat().st_mtime_ns
    with Gallery(tmp_path, DIM, Settings(expansion_search=64)) as gallery:  # a search setting: loaded as it is
        assert gallery.index.index.expansion_search == 64 and top1(gallery, unit(3, 9)) == ["ada"] * 3
    assert (tmp_path / INDEX_FILE).stat().st_mtime_ns == built
    with Gallery(tmp_path, DIM, Settings(connectivity=8)) as gallery:  # another graph: rebuilt from the records
        assert top1(gallery, unit(3, 9)) == ["ada"] * 3
    assert json.loads((tmp_path / HEADER_FILE).read_text())["settings"]["connectivity"] == 8


def test_importing_the_gallery_first_does_not_crash_onnxruntime():
    """usearch 2.26's library loaded before onnxruntime's makes onnxruntime's import segfault: the gallery loads
    onnxruntime first, so any process may import the gallery before the runtime."""
    import subprocess
    import sys

    code = "import aiaas_cli.serving.gallery, onnxruntime; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-500:]


def test_concurrent_identify_calls_are_searched_together_with_the_same_answers(tmp_path, monkeypatch):
    people = unit(300, 11)
    with Gallery(tmp_path, DIM) as gallery:
        gallery.enroll_many([(f"p{i}", people[i : i + 1]) for i in range(300)])
        alone = [gallery.identify(q, k=3)[0] for q in near(people[:64])]
        batches, search_many = [], gallery.index.search_many

        def counted(queries, count, threads):
            batches.append(len(queries))
            time.sleep(0.01)  # so that calls overlap even on a fast machine
            return search_many(queries, count, threads)

        monkeypatch.setattr(gallery.index, "search_many", counted)
        answers: dict[int, list] = {}

        def ask(first: int) -> None:
            for i in range(first, 64, 8):
                answers[i] = gallery.identify(near(people[:64])[i], k=3)[0]

        threads = [threading.Thread(target=ask, args=(c,)) for c in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [answers[i] for i in range(64)] == alone
        assert sum(batches) == 64 and max(batches) > 1
