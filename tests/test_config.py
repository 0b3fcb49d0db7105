"""Hydra composition, type checks and sweeps."""

from __future__ import annotations

import pytest

from aiaas_cli import config, recipes
from aiaas_cli.errors import ConfigError


@pytest.fixture(scope="module")
def recipe():
    return recipes.load("image-cls")


def test_defaults_compose(recipe):
    cfg = config.compose(recipe, [])
    assert cfg.recipe == "image-cls"
    assert cfg.model._target_.endswith("SmallCNN")
    assert cfg.tracking.experiment == "image-cls"


def test_group_choice_and_its_keys(recipe):
    cfg = config.compose(recipe, ["model=mobilenet_v3_small", "model.pretrained=true"])
    assert cfg.model.name == "mobilenet_v3_small" and cfg.model.pretrained is True


def test_float_accepts_int_but_int_rejects_float(recipe):
    assert config.compose(recipe, ["optim.lr=1"]).optim.lr == 1
    with pytest.raises(ConfigError, match="must be an integer"):
        config.compose(recipe, ["trainer.max_epochs=1.5"])


def test_bool_is_checked(recipe):
    with pytest.raises(ConfigError, match="must be true/false"):
        config.compose(recipe, ["trainer.deterministic=3"])


def test_new_keys_need_plus(recipe):
    with pytest.raises(ConfigError, match="unknown config key 'trainer.fancy'"):
        config.compose(recipe, ["trainer.fancy=1"])
    assert config.compose(recipe, ["+trainer.fancy=1"]).trainer.fancy == 1


def test_delete_key(recipe):
    cfg = config.compose(recipe, ["~loss"])
    assert "loss" not in cfg


def test_sweep_expands_every_combination():
    jobs = config.sweep(["optim.lr=0.1,0.01", "model=small_cnn,resnet18", "seed=1"])
    assert len(jobs) == 4
    assert ["optim.lr=0.1", "model=small_cnn", "seed=1"] in jobs


def test_leaf_keys_flatten_nested():
    flat = config._flatten({"a": {"b": 1, "c": {"d": [1, 2]}}})
    assert flat["a.b"] == 1 and flat["a.c.d"] == [1, 2] and "a.c" in flat
