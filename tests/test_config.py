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


@pytest.mark.parametrize("name", ["image-cls", "text-cls"])
def test_litdata_asked_through_data_format_points_to_data_storage(name):
    # text-cls has a data.format key (its raw files' format), image-cls has none: both get the same pointer
    with pytest.raises(ConfigError, match="data.format is the raw input's file format") as caught:
        config.compose(recipes.load(name), ["data.format=litdata"])
    assert "data.storage=litdata" in caught.value.hint


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


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1 must be at least 1"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 must be at least 1"),
        ("optim.lr=-5", "optim.lr=-5 must be above 0"),
        ("optim.lr=0", "optim.lr=0 must be above 0"),
        ("data.batch_size=-1", "data.batch_size=-1 must be at least 1"),
        ("data.image_size=0", "data.image_size=0 is not a positive number of pixels"),
        ("export.min_agreement=1.5", "export.min_agreement=1.5 must be at most 1"),
        ("serve.port=70000", "serve.port=70000 must be at most 65535"),
        ("trainer.early_stopping.patience=-2", "trainer.early_stopping.patience=-2 must be at least 0"),
        ("model.dropout=2", "model.dropout=2 must be at most 1"),
    ],
)
def test_values_out_of_range_are_refused_when_composing(recipe, override, message):
    """Issue 13 #8: ranges are checked in the composed config, before any run exists."""
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config.compose(recipe, [override])


def test_range_hint_names_the_default(recipe):
    with pytest.raises(ConfigError) as caught:
        config.compose(recipe, ["trainer.max_epochs=-1"])
    assert caught.value.hint == "e.g. trainer.max_epochs=12"


def test_every_recipe_default_config_is_in_range():
    for name in recipes.load_all():
        config.compose(recipes.load(name), [])


def test_bounds_accept_null_and_in_range_values(recipe):
    cfg = config.compose(recipe, ["trainer.threads=null", "optim.lr=1e-4", "trainer.max_epochs=1"])
    assert cfg.trainer.max_epochs == 1
