"""Checkpoint loading shared by the torch recipes: only plain tensors and values, refused with aiaas' own line."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from aiaas_cli import recipes
from aiaas_cli.errors import UserError


class RunsCode:
    """Unpickling this runs a shell command: what a hostile checkpoint carries."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def hostile(tmp_path):
    marker = tmp_path / "pwned"
    checkpoint = tmp_path / "hostile.ckpt"
    torch.save({"state_dict": {}, "aiaas": {"recipe": "image-cls"}, "payload": RunsCode(marker)}, checkpoint)
    raw = tmp_path / "raw.ckpt"
    raw.write_bytes(pickle.dumps(RunsCode(marker), protocol=4))
    return checkpoint, raw, marker


def _recipe(name: str):
    if name == "tabular-cls":  # its torch model's checkpoints go through the same reader
        from aiaas_recipes.tabular.recipe import classification

        return classification
    return recipes.load(name)


@pytest.mark.parametrize("recipe_name", ["image-cls", "text-cls", "tabular-cls"])
def test_a_hostile_checkpoint_is_refused_with_our_own_line(hostile, recipe_name):
    """Issue 13 #10: not torch's advice to pass weights_only=False."""
    checkpoint, raw, marker = hostile
    for path, why in ((checkpoint, "it refers to posix.system"), (raw, "a pickle, or a damaged file")):
        with pytest.raises(UserError) as caught:
            _recipe(recipe_name).load_model(path)
        line = caught.value.one_line()
        assert f"{path}: it is not a plain checkpoint ({why}" in line and "will not load it" in line
        assert "weights_only" not in line and "\n" not in line
    assert not marker.exists()


def test_the_cli_says_it_in_one_line(cli, fresh_home, hostile, tmp_path):
    from mlflow.tracking import MlflowClient

    from aiaas_recipes.common.smoke import colour_folders

    checkpoint, _, marker = hostile
    root = colour_folders(tmp_path / "colours")
    run_id = cli.json("preprocess", "image-cls", f"data.root={root}", "data.image_size=12")["run_id"]
    MlflowClient(f"sqlite:///{fresh_home / 'mlflow.db'}").set_tag(run_id, "aiaas.checkpoint", str(checkpoint))
    result = cli("evaluate", "image-cls", f"run={run_id}", expect=1)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a plain checkpoint" in lines[0] and "weights_only" not in result.output
    assert not marker.exists()
