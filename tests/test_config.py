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
    with pytest.raises(ConfigError, match="unknown config key 'data.fancy'"):
        config.compose(recipe, ["data.fancy=1"])
    assert config.compose(recipe, ["+data.fancy=1"]).data.fancy == 1


def test_schema_types_keys_whose_default_is_null(recipe):
    with pytest.raises(ConfigError, match="trainer.gradient_clip_val"):
        config.compose(recipe, ["trainer.gradient_clip_val=abc"])
    assert config.compose(recipe, ["trainer.gradient_clip_val=0.5"]).trainer.gradient_clip_val == 0.5
    with pytest.raises(ConfigError, match="serve.threads"):
        config.compose(recipe, ["serve.threads=many"])


def test_a_model_of_another_task_is_refused_with_the_choices(recipe):
    with pytest.raises(ConfigError, match="model=text_bilstm is not a image-cls model") as caught:
        config.compose(recipe, ["model=text_bilstm"])
    assert "small_cnn" in caught.value.one_line()


def test_the_trainer_comes_from_its_target(recipe):
    cfg = config.compose(recipe, ["+trainer.callbacks.lr._target_=pytorch_lightning.callbacks.LearningRateMonitor"])
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer"
    assert cfg.trainer.callbacks.lr._target_.endswith("LearningRateMonitor")


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
