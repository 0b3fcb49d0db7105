"""Resume: `aiaas train RECIPE resume=<run_id>|last` continues a run from its last checkpoint, in the same MLflow run.

Guarantee tested here: with a fixed seed, trainer.deterministic=true, num_workers=0 and one process, a run killed
with SIGKILL mid-epoch and resumed from its last step checkpoint ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from processes import AIAAS, env_for

from aiaas_cli import owner, tags

# tabular-cls on the built-in wine table: 124 training rows, batches of 32 -> 4 steps per epoch.
STEPS_PER_EPOCH = 4
TRAIN = ["train", "tabular-cls", "model=mlp", "trainer.threads=1", "trainer.deterministic=true",
         "trainer.early_stopping.enabled=false", "trainer.checkpoint_every_n_steps=1"]  # fmt: skip
PACE = ["+trainer.callbacks.pace._target_=pace.Pace", "+trainer.callbacks.pace.seconds=0.3"]


def _client(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


def _start(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([AIAAS, *args], env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def _last_step(home: Path, other_than: str = "") -> tuple[Path | None, int]:
    """A run's last checkpoint and its step (-1 while there is none, or it is being replaced)."""
    for path in (home / "runs").glob("*/checkpoints/last.ckpt"):
        if path.parent.parent.name == other_than:
            continue
        try:
            return path, int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
        except Exception:
            return path, -1
    return None, -1


def _wait_for_step(home: Path, proc: subprocess.Popen, at_least: int, other_than: str = "") -> Path:
    started, timeout = time.monotonic(), 300
    while time.monotonic() - started < timeout:
        path, step = _last_step(home, other_than)
        if step >= at_least:
            return path
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of step {at_least} within {timeout} s")


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_ends_with_the_weights_of_an_uninterrupted_run(cli, fresh_home):
    epochs = ["trainer.max_epochs=3", "scheduler=none"]  # a config group too: a retried command line names it again
    whole = cli.json(*TRAIN, *epochs)
    proc = _start(fresh_home, *TRAIN, *epochs, *PACE, "--json")
    try:
        # past the first epoch and off its boundary, so the loader position inside an epoch matters
        last = _wait_for_step(fresh_home, proc, STEPS_PER_EPOCH + 2, other_than=whole["run_id"])
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    run_id = last.parent.parent.name
    killed_at = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    assert killed_at % STEPS_PER_EPOCH != 0 and killed_at < 3 * STEPS_PER_EPOCH, killed_at
    listed = {r["run_id"]: r["status"] for r in cli.json("runs")["runs"]}
    assert listed[run_id] == "KILLED"  # left RUNNING by SIGKILL, its process gone

    resumed = cli.json(*TRAIN, *epochs, "resume=last")  # the same command line takes the killed run over
    assert resumed["run_id"] == run_id
    a, b = _weights(Path(whole["last_checkpoint"])), _weights(Path(resumed["last_checkpoint"]))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6, rtol=0), key
    client = _client(fresh_home)
    assert client.get_run(run_id).info.status == "FINISHED"
    assert client.get_run(run_id).data.tags[tags.OWNER] == owner.stamp()
    for key in ("train_loss_step", "val_loss", "train_loss_epoch"):
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)), (key, sorted(steps))  # no step recorded twice
        assert sorted(steps) == sorted(m.step for m in client.get_metric_history(whole["run_id"], key)), key


@pytest.mark.slow
def test_sigterm_stops_cleanly_then_the_run_resumes_and_extends(cli, fresh_home):
    proc = _start(fresh_home, *TRAIN, "trainer.max_epochs=2", *PACE[:1], "+trainer.callbacks.pace.seconds=1", "--json")
    _wait_for_step(fresh_home, proc, 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err
    run_id = json.loads(out)["run_id"]
    assert f"resume with: aiaas train tabular-cls resume={run_id}" in json.loads(out)["error"]
    assert _client(fresh_home).get_run(run_id).info.status == "KILLED"
    stopped_at = torch.load(_last_step(fresh_home)[0], map_location="cpu", weights_only=True)["global_step"]
    assert stopped_at >= 1

    done = cli.json("train", "tabular-cls", f"resume={run_id}")
    assert done["run_id"] == run_id and done["epochs"] == 2
    again = cli("train", "tabular-cls", f"resume={run_id}", expect=2)  # nothing left to train: say how to go on
    assert "has trained 2 epoch(s)" in again.stderr and "trainer.max_epochs=12" in again.stderr
    longer = cli.json("train", "tabular-cls", f"resume={run_id}", "trainer.max_epochs=3")
    assert longer["run_id"] == run_id and longer["epochs"] == 3
    assert torch.load(longer["last_checkpoint"], weights_only=True)["global_step"] == 3 * STEPS_PER_EPOCH
    steps = [m.step for m in _client(fresh_home).get_metric_history(run_id, "train_loss_step")]
    assert len(steps) == len(set(steps))

    changed = cli("train", "tabular-cls", f"resume={run_id}", "scheduler=none", "trainer.max_epochs=4", expect=2)
    assert "cannot change `scheduler=none` when resuming" in changed.stderr
    assert "scheduler torch.optim.lr_scheduler.CosineAnnealingLR, not scheduler none" in changed.stderr

    client = _client(fresh_home)  # a run that a live process holds is not taken over
    client.update_run(run_id, status="RUNNING")
    client.set_tag(run_id, tags.OWNER, owner.stamp())
    held = cli("train", "tabular-cls", f"resume={run_id}", "trainer.max_epochs=4", expect=2)
    assert "is still running" in held.stderr


def _loader(seed: int = 0):
    from torch.utils.data import DataLoader

    from aiaas_cli.training.loader_state import resumable
    from aiaas_recipes.common.data.rows import EpochSampler

    sampler = EpochSampler(12, seed)
    return resumable(DataLoader(list(range(12)), batch_size=3, sampler=sampler)), sampler


def test_loader_resumes_mid_epoch_at_the_next_batch_with_the_rng_of_the_save():
    loader, sampler = _loader()
    sampler.set_epoch(1)
    batches = iter(loader)
    next(batches)
    state = loader.state_dict()
    expected = [b.tolist() for b in batches]
    torch.manual_seed(7)
    expected_draw = torch.rand(3)
    torch.manual_seed(7)
    state_with_rng = {**state, "rng": loader.state_dict()["rng"]}

    again, sampler = _loader()
    again.load_state_dict(state_with_rng)
    torch.manual_seed(99)  # whatever ran in between
    resumed = iter(again)  # Lightning creates the iterator before it sets the epoch
    sampler.set_epoch(1)
    assert [b.tolist() for b in resumed] == expected
    assert torch.equal(torch.rand(3), expected_draw)


def test_loader_saved_at_the_end_of_an_epoch_starts_the_next_one_whole():
    loader, sampler = _loader()
    sampler.set_epoch(0)
    assert len(list(loader)) == 4
    state = loader.state_dict()
    again, sampler = _loader()
    again.load_state_dict(state)
    sampler.set_epoch(1)
    assert len(list(again)) == 4


def test_resume_usage_errors_are_one_line(cli, fresh_home):
    assert "resume= needs a run id" in cli("train", "tabular-cls", "resume=", expect=2).stderr
    assert "no tabular-cls run has a checkpoint" in cli("train", "tabular-cls", "resume=last", expect=2).stderr
    missing = cli("train", "tabular-cls", "resume=0123456789abcdef", expect=2)
    assert "does not exist" in missing.stderr and "Traceback" not in missing.output
    assert os.listdir(fresh_home / "runs") == [] if (fresh_home / "runs").exists() else True
