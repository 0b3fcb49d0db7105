"""Training: checkpoints that load safely, runs that continue, and multi-device DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aiaas_cli import artifacts, recipes
from aiaas_cli.errors import ConfigError

AIAAS = str(Path(sys.executable).with_name("aiaas"))
QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=4", "trainer.limit_val_batches=2"]


def test_best_and_last_checkpoints_load_with_weights_only(trained_run):
    best = torch.load(trained_run["checkpoint"], map_location="cpu", weights_only=True)
    assert best["aiaas"]["recipe"] == "image-cls"
    assert best["aiaas"]["classes"] == [str(i) for i in range(10)]
    assert Path(trained_run["last_checkpoint"]).name == "last.ckpt"
    assert trained_run["samples_per_sec"] > 0


def test_rebuilt_network_matches_training_accuracy(trained_run):
    recipe = recipes.load("image-cls")
    network, meta = recipe.load_model(Path(trained_run["checkpoint"]))
    assert meta["recipe"] == "image-cls"
    dataset = artifacts.dataset_of(trained_run["run_id"])
    report = recipe.evaluate(network, dataset.dir, dataset.manifest, "test")
    assert report["accuracy"] == pytest.approx(trained_run["metrics"]["accuracy"])


def test_checkpoint_of_another_recipe_is_refused(trained_run, tmp_path):
    checkpoint = torch.load(trained_run["checkpoint"], map_location="cpu", weights_only=True)
    checkpoint["aiaas"]["recipe"] = "text-cls"
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    with pytest.raises(ConfigError, match="from recipe 'text-cls', not 'image-cls'"):
        recipes.load("image-cls").load_model(foreign)


def test_corrupt_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="cannot load checkpoint"):
        recipes.load("image-cls").load_model(bad)


def test_train_continues_a_preprocess_run(cli):
    pre = cli.json("preprocess", "image-cls")
    out = cli.json("train", "image-cls", f"run={pre['run_id']}", *QUICK)
    assert out["run_id"] == pre["run_id"]
    assert out["dataset_dir"] == pre["dataset_dir"]
    evaluated = cli.json("evaluate", "image-cls", f"run={pre['run_id']}")
    assert set(evaluated["metrics"]) >= {"accuracy", "macro_f1", "per_class"}
    assert Path(evaluated["metrics_file"]).exists()
    assert (Path(evaluated["metrics_file"]).parent / "confusion_matrix.png").stat().st_size > 1000


def test_evaluate_table_is_shown(cli, trained_run):
    out = cli("evaluate", "image-cls", f"run={trained_run['run_id']}").stdout
    assert "Evaluation (test split)" in out and "macro-F1" in out


def test_evaluate_without_checkpoint(cli):
    pre = cli.json("preprocess", "image-cls")
    result = cli("evaluate", "image-cls", f"run={pre['run_id']}", expect=1)
    assert f"run '{pre['run_id']}' has no checkpoint" in result.stderr


def test_unsupported_precision_is_a_config_error(cli):
    result = cli("train", "image-cls", "trainer.precision=banana", *QUICK, expect=2)
    assert "invalid trainer settings" in result.stderr and "Traceback" not in result.output


def test_pretrained_without_cached_weights(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    result = cli("train", "image-cls", "model=resnet18", "model.pretrained=true", "offline=true", *QUICK, expect=1)
    assert "are not cached at" in result.stderr and "model.pretrained=false" in result.stderr


def test_multirun_sweeps_in_separate_runs(cli):
    out = cli.json("train", "image-cls", "-m", "optim.lr=0.01,0.001", *QUICK)
    assert [r["overrides"][0] for r in out["runs"]] == ["optim.lr=0.01", "optim.lr=0.001"]
    assert len({r["run_id"] for r in out["runs"]}) == 2


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path):
    """trainer.strategy=ddp launches a second process (gloo); only rank zero reports."""
    env = {**os.environ, "AIAAS_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [AIAAS, "train", "image-cls", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp",
         *QUICK, "--json"],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)  # exactly one JSON object: the worker printed nothing
    assert Path(out["checkpoint"]).exists()
    runs = [p for p in (tmp_path / "home" / "runs").iterdir()]
    assert [p.name for p in runs] == [out["run_id"]]


@pytest.mark.slow
def test_disk_full_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path):
    """Standing guarantee: the second epoch's checkpoint cannot be written (a file-size limit, as a full disk):
    one line, exit 1, and the first epoch's checkpoints are intact."""
    from processes import run

    from aiaas_recipes.common.smoke import colour_folders

    root = colour_folders(tmp_path / "colours")
    limit = "+trainer.callbacks.full"  # the default CNN's checkpoint is 3.5 MB; the MLflow store about 1 MB
    args = ["train", "image-cls", f"data.root={root}", "data.image_size=12", "trainer.max_epochs=3",
            "trainer.early_stopping.enabled=false", f"{limit}._target_=faults.FileSizeLimitAfterEpoch",
            f"{limit}.epoch=2", f"{limit}.limit=2000000"]  # fmt: skip
    done = run(args, tmp_path / "home")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(errors) == 1 and "File too large" in errors[0] and "is unchanged" in errors[0], done.stderr[-3000:]
    print(f"\n{errors[0]}")
    checkpoints = next((tmp_path / "home" / "runs").glob("*/checkpoints"))
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]
    epochs = {p.name: torch.load(p, map_location="cpu", weights_only=True)["epoch"] for p in checkpoints.iterdir()}
    assert epochs == {"best.ckpt": 0, "last.ckpt": 0}  # Lightning counts epochs from 0
