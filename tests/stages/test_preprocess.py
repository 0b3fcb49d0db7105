"""The preprocess stage as a user meets it: caching by input fingerprint, --strict, and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

AIAAS = str(Path(sys.executable).with_name("aiaas"))


def write_images(folder: Path, count: int, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(folder / f"{i}.png")


@pytest.fixture()
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    write_images(root / "cat", 5, seed=1)
    write_images(root / "dog", 5, seed=2)
    return root


def preprocess(cli, root: Path, *args: str, expect: int = 0):
    return cli("preprocess", "image-cls", f"data.root={root}", *args, expect=expect)


def run_json(cli, root: Path, *args: str) -> dict:
    return json.loads(preprocess(cli, root, *args, "--json").stdout)


def dataset_dirs(home: Path) -> set[str]:
    folder = home / "datasets"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def mtimes(dataset_dir: str) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in Path(dataset_dir).iterdir()}


def test_unchanged_input_is_cached_without_rework(cli, photos):
    first = run_json(cli, photos)
    before = mtimes(first["dataset_dir"])
    result = preprocess(cli, photos, "--json")
    second = json.loads(result.stdout)
    assert first["cached"] is False and second["cached"] is True
    assert second["dataset_dir"] == first["dataset_dir"] and second["split_sizes"] == first["split_sizes"]
    assert mtimes(second["dataset_dir"]) == before
    assert "Dataset unchanged" in result.stderr and "Decoding images" not in result.stderr


def test_worker_count_does_not_change_the_cache_key(cli, photos):
    first = run_json(cli, photos)
    assert run_json(cli, photos, "data.preprocess_workers=4")["dataset_dir"] == first["dataset_dir"]


def test_touching_a_file_invalidates_the_cache(cli, photos):
    first = run_json(cli, photos)
    stat = (photos / "cat" / "0.png").stat()
    os.utime(photos / "cat" / "0.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = run_json(cli, photos)
    assert second["cached"] is False and second["dataset_dir"] != first["dataset_dir"]


def test_adding_a_file_invalidates_the_cache(cli, photos):
    first = run_json(cli, photos)
    write_images(photos / "bird", 5, seed=3)
    second = run_json(cli, photos)
    assert second["cached"] is False and second["classes"] == ["bird", "cat", "dog"]
    assert sum(second["split_sizes"].values()) == sum(first["split_sizes"].values()) + 5


def test_changing_the_image_size_invalidates_the_cache(cli, photos):
    first = run_json(cli, photos)
    second = run_json(cli, photos, "data.image_size=16")
    assert second["cached"] is False and second["dataset_dir"] != first["dataset_dir"]
    assert np.load(Path(second["dataset_dir"]) / "train_x.npy").shape[1:] == (16, 16, 3)


def test_hidden_files_do_not_invalidate_the_cache(cli, photos):
    first = run_json(cli, photos)
    (photos / "cat" / ".DS_Store").write_bytes(b"\0Bud1")
    (photos / ".ipynb_checkpoints").mkdir()
    assert run_json(cli, photos)["dataset_dir"] == first["dataset_dir"]


def error_line(result) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and errors[0] == lines[-1]
    return errors[0]


def no_temp_dirs(home: Path) -> bool:
    return not [name for name in dataset_dirs(home) if ".tmp-" in name]


def test_strict_fails_on_a_broken_file(cli, photos, session_home):
    (photos / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    result = preprocess(cli, photos, "--strict", expect=1)
    line = error_line(result)
    assert "skipped 1 unreadable file(s), e.g. dog/broken.jpg" in line and "--strict" in line
    assert no_temp_dirs(session_home)


def test_strict_failure_leaves_no_dataset_dir(cli, photos, session_home):
    (photos / "dog" / "broken.jpg").write_bytes(b"")
    before = dataset_dirs(session_home)
    preprocess(cli, photos, "--strict", expect=1)
    assert dataset_dirs(session_home) == before


def test_strict_also_fails_on_a_cached_dataset_with_skipped_files(cli, photos):
    (photos / "cat" / "notes.txt").write_text("a note")
    assert run_json(cli, photos)["skipped"] == 1
    assert "notes.txt" in error_line(preprocess(cli, photos, "--strict", expect=1))


def test_strict_passes_on_clean_input(cli, photos):
    assert run_json(cli, photos, "--strict")["skipped"] == 0


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "does not exist"),
        ({"": 0}, "is empty"),
        ({"cat": 3}, "has a single class (cat)"),
        ({"train/cat": 2, "val/cat": 1}, "has a single class (cat)"),
        ({"Cat": 2, "cat": 2}, "differ only by case"),
        ({"cat": 2, "dog": 0}, "no readable images: dog"),
    ],
    ids=["missing", "empty", "single-class", "presplit-single-class", "case-clash", "empty-class"],
)
def test_bad_roots_fail_with_one_line_and_exit_2(cli, tmp_path, session_home, layout, message):
    root = tmp_path / "data"
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        write_images(root / folder, count)
    before = dataset_dirs(session_home)
    result = preprocess(cli, root, expect=2)
    assert message in error_line(result)
    assert dataset_dirs(session_home) == before


def test_json_mode_reports_the_error_as_an_object(cli, tmp_path):
    write_images(tmp_path / "only" / "cat", 2)
    result = preprocess(cli, tmp_path / "only", "--json", expect=2)
    assert json.loads(result.stdout) == {"error": error_line(result).removeprefix("error: "), "exit_code": 2}


def test_real_subprocess_on_a_single_class_root(tmp_path):
    write_images(tmp_path / "pets" / "cat", 2)
    write_images(tmp_path / "pets" / ".ipynb_checkpoints", 1)
    proc = subprocess.run(
        [AIAAS, "preprocess", "image-cls", f"data.root={tmp_path / 'pets'}"],
        capture_output=True,
        text=True,
        env={**os.environ, "AIAAS_HOME": str(tmp_path / "home")},
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"error: data root {tmp_path / 'pets'} has a single class (cat) (a classifier needs at least two classes)"
    ]
    assert no_temp_dirs(tmp_path / "home")
