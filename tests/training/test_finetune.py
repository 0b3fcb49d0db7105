"""Fine-tuning (aiaas_cli/training/finetune.py): model.init_from=run:<id> or a checkpoint file, finetune.freeze_epochs,
finetune.backbone_lr, where a run started from (tags, `aiaas runs`, the registry), offline=true.

On image-cls with tiny generated colour folders: run A learns three colours; run B starts from A on two colours (a
different label set, so A's head does not fit and is re-initialised)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from aiaas_cli import tags
from aiaas_recipes.common.smoke import colour_folders

DATA = ["data.image_size=12", "data.batch_size=8"]
QUICK = [*DATA, "model.channels=[4,8,8]", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
         "trainer.early_stopping.enabled=false", "export.register=false"]  # fmt: skip
BACKBONE, HEAD = "net.features.0.weight", "net.head.3.weight"  # SmallCNN's first conv and its classifier


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("finetune")
    two = colour_folders(root / "two")
    shutil.rmtree(two / "blue")
    return {"three": colour_folders(root / "three"), "two": two}


@pytest.fixture(scope="module")
def run_a(cli, folders) -> dict:
    return cli.json("train", "image-cls", f"data.root={folders['three']}", "trainer.max_epochs=1", *QUICK)


@pytest.fixture(scope="module")
def run_b(cli, folders, run_a, tmp_path_factory) -> dict:
    """B from A, on two colours: the backbone frozen for epoch 1, at its own learning rate."""
    probe = tmp_path_factory.mktemp("probe") / "probe.pt"
    out = cli.json("train", "image-cls", f"data.root={folders['two']}", f"model.init_from=run:{run_a['run_id']}",
                   "trainer.max_epochs=2", "finetune.freeze_epochs=1", "finetune.backbone_lr=0.0001", "optim.lr=0.01",
                   "+trainer.callbacks.probe._target_=weights_probe.WeightsProbe",
                   f"+trainer.callbacks.probe.out={probe}", *QUICK)  # fmt: skip
    return {**out, "probe": torch.load(probe, weights_only=True)}


def _state(checkpoint: str) -> dict:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_init_from_a_run_loads_what_fits_and_reinitialises_the_head(run_a, run_b):
    counts = run_b["init_from"]
    assert counts["loaded"] > 0 and counts["reinitialised"] == 2 and counts["new"] == 0  # the head's weight and bias
    start, a = run_b["probe"]["start"], _state(run_a["checkpoint"])
    assert torch.equal(start[BACKBONE], a[BACKBONE])  # B starts where A ended
    assert start[HEAD].shape[0] == 2 and a[HEAD].shape[0] == 3
    assert HEAD not in run_b["probe"]["pretrained"] and BACKBONE in run_b["probe"]["pretrained"]


def test_freeze_epochs_keeps_the_pretrained_weights_for_the_first_epoch(run_b):
    start, (first, second) = run_b["probe"]["start"], run_b["probe"]["epochs"]
    pretrained = run_b["probe"]["pretrained"]
    assert all(torch.equal(first[name], start[name]) for name in pretrained)  # frozen: no step, no weight decay
    assert not torch.equal(first[HEAD], start[HEAD])  # the new head learned meanwhile
    assert not torch.equal(second[BACKBONE], first[BACKBONE])  # unfrozen in epoch 2


def test_backbone_lr_gives_the_pretrained_weights_their_own_group(run_b):
    groups = run_b["probe"]["groups"]
    assert [g["lr"] for g in groups] == [0.01, 0.0001]
    assert groups[1]["size"] == len(run_b["probe"]["pretrained"]) and groups[0]["size"] == 2  # the head


def test_the_run_records_and_shows_where_it_started(cli, run_a, run_b, session_home):
    from mlflow.tracking import MlflowClient
    from rich.console import Console

    from aiaas_cli.cli.run_list import table

    client = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}")
    recorded = client.get_run(run_b["run_id"]).data
    assert recorded.tags[tags.SOURCE_PREFIX + "kind"] == "run"
    assert recorded.tags[tags.SOURCE_PREFIX + "name"] == run_a["run_id"]
    assert recorded.params["init_from.loaded"] == str(run_b["init_from"]["loaded"])
    found = cli.json("runs")["runs"]
    rows = {row["run_id"]: row for row in found}
    assert rows[run_b["run_id"]]["source"] == {"kind": "run", "name": run_a["run_id"]}
    assert rows[run_a["run_id"]]["source"] is None
    assert f"from run:{run_a['run_id'][:8]}" in cli("runs").stdout  # a line under B's id, in 80 columns
    wide = Console(width=200, record=True, color_system=None)
    wide.print(table(found, wide=True))
    assert f"run:{run_a['run_id']}" in wide.export_text()  # --wide: a "from" column with the whole id


def test_a_registered_version_says_what_it_was_fine_tuned_from(run_a, run_b, session_home):
    """The registry half of export (aiaas_cli/tracking/registry.py) on B's run, without exporting: a version is made
    directly, then described the way write_model describes it."""
    from mlflow.tracking import MlflowClient

    from aiaas_cli.tracking.registry import describe_source

    client = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}")
    client.create_registered_model("finetuned-colours")
    version = client.create_model_version("finetuned-colours", "file:///nowhere", run_id=run_b["run_id"]).version
    describe_source(run_b["run_id"], "finetuned-colours", str(version))
    entry = client.get_model_version("finetuned-colours", str(version))
    assert entry.tags[tags.SOURCE_PREFIX + "name"] == run_a["run_id"]
    assert f"Fine-tuned from run {run_a['run_id']}" in entry.description


def test_init_from_a_checkpoint_file(cli, folders, run_a, session_home):
    from mlflow.tracking import MlflowClient

    out = cli.json("train", "image-cls", f"data.root={folders['three']}", f"model.init_from={run_a['checkpoint']}",
                   "trainer.max_epochs=1", *QUICK)  # fmt: skip
    assert out["init_from"]["reinitialised"] == 0 and out["init_from"]["new"] == 0  # the same label set: all of it
    found = MlflowClient(f"sqlite:///{session_home / 'mlflow.db'}").get_run(out["run_id"]).data.tags
    assert found[tags.SOURCE_PREFIX + "kind"] == "checkpoint" and len(found[tags.SOURCE_PREFIX + "sha256"]) == 64


def _bad_checkpoints(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.ckpt" for name in ("garbage", "audio", "unrelated")}
    paths["garbage"].write_bytes(b"not a checkpoint at all")
    torch.save({"state_dict": {"net.x": torch.zeros(2)}, "aiaas": {"recipe": "audio-cls"}}, paths["audio"])
    unrelated = {"state_dict": {"net.other.weight": torch.zeros(2)}, "aiaas": {"recipe": "image-cls"}}
    torch.save(unrelated, paths["unrelated"])
    return paths


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [
        ("run:0123456789abcdef0123456789abcdef", 2, "run '0123456789abcdef0123456789abcdef' does not exist"),
        ("missing.ckpt", 2, "no such checkpoint file"),
        ("garbage", 1, "cannot load checkpoint"),
        ("audio", 2, "is a checkpoint of recipe 'audio-cls', not 'image-cls'"),
        ("unrelated", 2, "no tensor of"),
    ],
)
def test_init_from_refuses_in_one_line(cli, folders, tmp_path, source, code, message):
    path = _bad_checkpoints(tmp_path).get(source, source)
    result = cli("train", "image-cls", f"data.root={folders['three']}", f"model.init_from={path}", *QUICK, expect=code)
    assert message in result.stderr and "Traceback" not in result.output


def test_offline_without_cached_torchvision_weights_names_the_path(cli, folders, tmp_path, monkeypatch):
    """offline=true: the cache only (the online download is tests/recipes/common/test_pretrained_weights.py's)."""
    import huggingface_hub.constants

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    before = {flag: os.environ.get(flag) for flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    result = cli("train", "image-cls", f"data.root={folders['three']}", "model=resnet18", "model.pretrained=true",
                 "offline=true", *DATA, expect=1)  # fmt: skip
    [line] = [line for line in result.stderr.splitlines() if "not cached" in line]
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-") in line and "offline mode is on" in line
    # the switches were on while the model was built, and are as they were after
    assert {flag: os.environ.get(flag) for flag in before} == before
    assert huggingface_hub.constants.HF_HUB_OFFLINE is False
