"""The registry: built-ins, and third-party recipes through the `aiaas.recipes` entry-point group."""

from __future__ import annotations

import sys
import textwrap

import pytest

from aiaas_cli import recipes
from aiaas_cli.errors import ConfigError

PLUGIN = """
from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import Recipe


class Toy(Recipe):
    name = "toy"
    description = "A plugin recipe made by a test"
    config_name = "toy"

    @property
    def config_dir(self):
        return Path(__file__).parent / "toy_conf"

    def fingerprint(self, cfg):
        return f"toy-{cfg.data.n}"

    def build_dataset(self, cfg, out_dir):
        np.save(out_dir / "train_x.npy", np.arange(cfg.data.n))
        return {"classes": ["a", "b"], "counts": {"train": {"a": cfg.data.n, "b": 0}}}


recipe = Toy()
"""

CONFIG = """
recipe: toy
run: null
strict: false
data:
  n: 3
tracking:
  uri: null
  experiment: toy
"""


@pytest.fixture()
def plugin(tmp_path, monkeypatch):
    """Install a tiny recipe the way a third-party package would: a module plus entry-point metadata."""
    (tmp_path / "toy_plugin.py").write_text(PLUGIN)
    (tmp_path / "toy_conf").mkdir()
    (tmp_path / "toy_conf" / "toy.yaml").write_text(CONFIG)
    dist = tmp_path / "toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
        [aiaas.recipes]
        toy = toy_plugin:recipe
        image-cls = toy_plugin:recipe
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("toy_plugin", None)


def test_builtin_loads():
    assert recipes.load("image-cls").config_name == "image-cls"


def test_unknown_recipe_suggests():
    with pytest.raises(ConfigError) as caught:
        recipes.load("imagecls")
    assert "did you mean image-cls" in caught.value.one_line()


def test_plugin_recipe_is_listed_and_runs(plugin, cli):
    listed = {r["name"]: r for r in cli.json("recipes")["recipes"]}
    assert listed["toy"]["description"] == "A plugin recipe made by a test"
    out = cli.json("preprocess", "toy", "data.n=5")
    assert out["split_sizes"] == {"train": 5}
    assert out["dataset_dir"].endswith("toy-toy-5")


def test_plugin_cannot_shadow_a_builtin(plugin):
    assert recipes.available()["image-cls"] == "aiaas_recipes.image_cls.recipe:recipe"
    assert type(recipes.load("image-cls")).__name__ == "ImageClassification"
