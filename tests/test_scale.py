"""Scaling out on CPU: two torchrun "nodes" on 127.0.0.1 (gloo) train one run, and devices=2 learns like one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import free_port
from processes import AIAAS, env_for
from torch.utils.data import DistributedSampler

from aiaas_cli import recipes

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
TRAIN = ["model=mlp", "trainer.threads=1", "trainer.max_epochs=2", "trainer.early_stopping.enabled=false"]


def _client(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


def _val_loss_all_reduced(checkpoint: Path, dataset_dir: Path, world_size: int) -> float:
    """The validation loss as DDP computes it: each rank's mean over its DistributedSampler shard, averaged."""
    from aiaas_recipes.tabular.dataset import load_split

    network, _ = recipes.load("tabular-cls").load_model(checkpoint)
    numeric, categorical, y = (torch.from_numpy(np.asarray(a)) for a in load_split(dataset_dir, "val"))
    with torch.no_grad():
        logits = network(numeric, categorical)[0]  # the exportable network: (logits, probabilities)
        losses = F.cross_entropy(logits, y.long(), reduction="none")
    per_rank = [float(losses[list(DistributedSampler(range(len(y)), world_size, rank, shuffle=False))].mean())
                for rank in range(world_size)]  # fmt: skip
    return sum(per_rank) / world_size


@pytest.mark.slow
def test_two_torchrun_nodes_train_one_run_with_one_set_of_checkpoints(tmp_path):
    home = tmp_path / "home"
    pre = subprocess.run([AIAAS, "preprocess", "tabular-cls", "--json"], env=env_for(home), capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert pre.returncode == 0, pre.stderr[-2000:]
    run_id = json.loads(pre.stdout)["run_id"]
    port = free_port()
    nodes = [
        subprocess.Popen([TORCHRUN, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                          "--master-addr", "127.0.0.1", "--master-port", str(port), AIAAS, "train", "tabular-cls",
                          f"run={run_id}", "trainer.accelerator=cpu", "trainer.devices=1", "trainer.num_nodes=2",
                          "trainer.strategy=ddp", *TRAIN, "--json"],
                         env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]  # fmt: skip
    outs = [node.communicate(timeout=600) for node in nodes]
    for node, (_, err) in zip(nodes, outs):
        assert node.returncode == 0, err[-3000:]
    result = json.loads(outs[0][0])  # node 0 (global rank zero) reports; node 1 prints nothing on stdout
    assert outs[1][0].strip() == ""
    assert result["run_id"] == run_id
    client = _client(home)
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert [r.info.run_id for r in client.search_runs(experiments)] == [run_id]  # one MLflow run
    assert sorted(p.name for p in (home / "runs").iterdir()) == [run_id]
    assert sorted(p.name for p in (home / "runs" / run_id / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    logged = client.get_metric_history(run_id, "val_loss")
    assert len(logged) == 2  # once per epoch, by rank zero only
    last = max(logged, key=lambda m: m.step).value
    expected = _val_loss_all_reduced(Path(result["last_checkpoint"]), Path(result["dataset_dir"]), world_size=2)
    assert last == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_two_cpu_devices_reach_the_single_process_metric(cli, fresh_home):
    """Tolerance: 2 validation rows of wine's 27 (0.075 accuracy). With devices=2 each step sees 2 x 32 rows, so an
    epoch has half the optimiser steps; after 15 epochs both have converged on this easy table, and what remains is
    which one or two borderline rows fall on which side (devices=2 scores 28 rows: DistributedSampler pads 27 to an
    even count). Measured: val_acc 0.926 with devices=1, 0.929 with devices=2."""
    settings = ["model=mlp", "trainer.threads=1", "trainer.max_epochs=15", "trainer.early_stopping.enabled=false"]
    one = cli.json("train", "tabular-cls", *settings)
    two = subprocess.run([AIAAS, "train", "tabular-cls", *settings, "trainer.accelerator=cpu", "trainer.devices=2",
                          "trainer.strategy=ddp", "--json"], env=env_for(fresh_home), capture_output=True, text=True,
                         timeout=900)  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    client = _client(fresh_home)
    acc_one = client.get_run(one["run_id"]).data.metrics["val_acc"]
    acc_two = client.get_run(json.loads(two.stdout)["run_id"]).data.metrics["val_acc"]
    print(f"\nval_acc devices=1 {acc_one:.4f}  devices=2 {acc_two:.4f}")
    assert abs(acc_one - acc_two) <= 2 / 27 + 1e-6
