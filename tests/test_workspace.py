"""The workspace's guarantees: atomic writes, temp litter swept, a full disk is one line, and kill -9 at any point of
a stage leaves no half-written artifact under its final name (then the same command succeeds)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faults import limit_file_size
from processes import after, half_written, litter, run, temp_litter

from aiaas_cli import workspace
from aiaas_cli.errors import UserError


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_atomic_file_keeps_the_previous_version_when_the_block_fails(tmp_path):
    target = tmp_path / "metrics.json"
    workspace.write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), workspace.atomic_file(target) as temp:
        temp.write_text('{"v": 2, "torn')
        raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert litter(tmp_path) == []


def test_temp_names_say_which_process_made_them(tmp_path):
    with workspace.atomic_dir(tmp_path / "data") as temp:
        assert f"-{os.getpid()}-" in temp.name and temp.name.startswith(".data.tmp-")


def test_sweep_removes_what_dead_processes_left_and_keeps_live_ones(tmp_path):
    """Issue 13 #7: a killed preprocess's `.NAME.tmp-…` folder goes; a concurrent command's stays."""
    host = socket.gethostname().replace("-", "_")
    dead = tmp_path / f".image-cls-0123.tmp-{host}-{dead_pid()}-abcd1234"
    live = tmp_path / f".image-cls-4567.tmp-{host}-{os.getpid()}-abcd1234"
    elsewhere = tmp_path / f".image-cls-89ab.tmp-otherhost-{dead_pid()}-abcd1234"
    legacy_old, legacy_new = tmp_path / ".image-cls-cdef.tmp-1a2b3c4d", tmp_path / ".image-cls-fedc.tmp-5e6f7a8b"
    for folder in (dead, live, elsewhere, legacy_old, legacy_new):
        (folder / "train").mkdir(parents=True)
    os.utime(legacy_old, (time.time() - 7200, time.time() - 7200))
    removed = workspace.sweep_stale(tmp_path, recursive=False)
    assert sorted(removed) == sorted([dead, legacy_old])
    assert live.exists() and elsewhere.exists() and legacy_new.exists()


def test_preprocess_sweeps_the_dataset_cache_on_start(cli, fresh_home, tmp_path):
    from aiaas_recipes.common.smoke import colour_folders

    host = socket.gethostname().replace("-", "_")
    stale = fresh_home / "datasets" / f".image-cls-0123456789abcdef.tmp-{host}-{dead_pid()}-abcd1234"
    (stale / "train").mkdir(parents=True)
    (stale / "train" / "x.npy").write_bytes(b"\0" * 1000)
    cli("preprocess", "image-cls", f"data.root={colour_folders(tmp_path / 'colours')}", "data.image_size=12")
    assert not stale.exists() and litter(fresh_home) == []


def test_scratch_is_removed_when_the_command_ends(cli, fresh_home):
    scratch = workspace.scratch_dir()
    (scratch / "best.ckpt").write_bytes(b"x")
    cli("runs")
    assert not scratch.exists()


@pytest.mark.slow
def test_disk_full_while_writing_the_dataset_cache_is_one_line(tmp_path):
    """Standing guarantee: a file-size limit (as a full disk) mid-write: one line, exit 1, nothing half-written,
    and a dataset cached before is untouched."""
    from aiaas_recipes.common.smoke import colour_folders

    root = colour_folders(tmp_path / "colours", per_class=40, size=64)
    home = tmp_path / "home"
    small = run(["preprocess", "image-cls", f"data.root={root}", "data.image_size=8", "--json"], home)
    assert small.code == 0, small.stderr
    limit = 600_000  # the MLflow store (~1 MB) exists already; the 64 px train array (~1.1 MB) cannot be written
    full = run(["preprocess", "image-cls", f"data.root={root}", "data.image_size=64"], home,
               preexec_fn=limit_file_size(limit))  # fmt: skip
    errors = [line for _, line in full.lines if line.startswith("error:")]
    assert full.code == 1 and "Traceback" not in full.stderr, full.stderr[-3000:]
    assert len(errors) == 1 and "nothing was written under that name" in errors[0]
    print(f"\n{errors[0]}")
    assert half_written(home) == [] and litter(home) == []
    assert sorted(p.name for p in (home / "datasets").iterdir()) == [Path(small.json()["dataset_dir"]).name]


# kill -9 at several points of each stage, then the same command again ------------------------------------------


@pytest.fixture(scope="module")
def kill_home(tmp_path_factory) -> tuple[Path, list[str]]:
    from aiaas_recipes.common.smoke import colour_folders

    base = tmp_path_factory.mktemp("kill")
    args = [f"data.root={colour_folders(base / 'colours')}", "data.image_size=12", "data.batch_size=8",
            "trainer.early_stopping.enabled=false"]  # fmt: skip
    return base / "home", args


@pytest.fixture(scope="module")
def trained(kill_home) -> str:
    home, args = kill_home
    done = run(["train", "image-cls", *args, "trainer.max_epochs=2", "--json"], home)
    assert done.code == 0, done.stderr[-3000:]
    return done.json()["run_id"]


@pytest.fixture(scope="module")
def exported(kill_home, trained) -> str:
    done = run(["export", "image-cls", f"run={trained}", "--json"], kill_home[0])
    assert done.code == 0, done.stderr[-3000:]
    return trained


def kill_then_rerun(args: list[str], home: Path, points: list) -> dict:
    """SIGKILL ``aiaas ARGS`` at each point, checking the workspace after each; then run it to the end."""
    report = {"kills": 0, "missed": 0}
    for point in points:
        killed = run(args, home, kill_when=point)
        if killed.killed_at is None:
            report["missed"] += 1  # it finished before the point came: still a valid run, checked below
            assert killed.code == 0, killed.stderr[-3000:]
        else:
            report["kills"] += 1
        assert half_written(home) == []
        assert temp_litter(home) == []
    done = run([*args, "--json"], home)
    assert done.code == 0, done.stderr[-3000:]
    assert half_written(home) == []
    report["result"] = done.json()
    print(f"\naiaas {args[0]}: {report['kills']} kill(s), {report['missed']} finished first, 0 half-written")
    return report


@pytest.mark.slow
def test_kill_preprocess_at_several_points(kill_home):
    home, _ = kill_home
    points = [after("Preprocessing into"), after("Decoding images", 0.3), after("Decoding images: 1797/1797")]
    report = kill_then_rerun(["preprocess", "image-cls", "data.image_size=13"], home, points)
    # a kill that lands after the command finished leaves a complete dataset, which the rerun reuses
    assert report["kills"] >= 2 and report["result"]["cached"] is (report["missed"] > 0)
    assert not [p for p in litter(home) if p.startswith("datasets")]  # the rerun swept the killed runs' folders


@pytest.mark.slow
def test_kill_train_at_several_points(kill_home, cli, monkeypatch):
    """Also issue 13 #6: `aiaas runs` shows the killed runs as KILLED, not RUNNING."""
    home, args = kill_home
    points = [after("Building model", 0.5), after("epoch 1/"), after("epoch 2/", 0.2)]
    report = kill_then_rerun(["train", "image-cls", *args, "trainer.max_epochs=3"], home, points)
    assert report["kills"] >= 2
    monkeypatch.setenv("AIAAS_HOME", str(home))
    runs = [row for row in cli.json("runs", "-n", "50")["runs"] if {"train", "train!"} & set(row["stages"])]
    statuses = [row["status"] for row in runs]
    print(f"aiaas runs after the kills: {statuses}")
    # never RUNNING for ever; under heavy load a kill that lands while a run is being closed can leave it FINISHED
    assert "RUNNING" not in statuses and 1 <= statuses.count("KILLED") <= report["kills"]
    assert not [p for p in litter(home) if p.startswith("runs")]


@pytest.mark.slow
def test_kill_export_at_several_points(kill_home, trained):
    home, _ = kill_home
    points = [after("Exporting <", 1.0), after("Parity on"), after("Registering", 0.3)]
    report = kill_then_rerun(["export", "image-cls", f"run={trained}"], home, points)
    assert report["kills"] >= 2 and Path(report["result"]["onnx_path"]).is_file()


@pytest.mark.slow
def test_kill_package_at_several_points(kill_home, exported):
    home, _ = kill_home
    points = [after("in the BentoML model store"), after("Building the Bento", 0.5), after("Building the Bento", 2.0)]
    report = kill_then_rerun(["package", "image-cls", f"run={exported}"], home, points)
    assert report["kills"] >= 2 and report["result"]["bento_tag"].startswith("aiaas-image-cls:")


@pytest.mark.slow
def test_kill_push_at_several_points(kill_home, exported):
    home, _ = kill_home
    tag = run(["package", "image-cls", f"run={exported}", "--json"], home).json()["bento_tag"]
    clean = run(["push", tag, "--target", str(home / "pushed")], home)
    assert clean.code == 0, clean.stderr
    points = [lambda _, t, f=f: t >= clean.seconds * f for f in (0.6, 0.8, 0.95)]
    report = kill_then_rerun(["push", tag, "--target", str(home / "pushed")], home, points)
    assert report["kills"] >= 1
    assert not [p for p in (home / "pushed").iterdir() if ".tmp-" in p.name]


def test_a_full_disk_is_a_user_error_naming_the_file(tmp_path):
    import errno

    target = tmp_path / "best.ckpt"
    target.write_bytes(b"good")
    unchanged = r"best\.ckpt: No space left on device \(the previous best\.ckpt is unchanged"
    with pytest.raises(UserError, match=unchanged), workspace.atomic_file(target) as temp:
        temp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_bytes() == b"good"
