"""model=auto in config composition: who may ask for it, its own keys, and candidates' keys on the command line."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from aiaas_cli import config, recipes
from aiaas_cli.config import candidate_config
from aiaas_cli.errors import ConfigError


@pytest.fixture(scope="module")
def tabular():
    return recipes.load("tabular-cls")


def test_a_candidate_gets_exactly_the_config_its_model_choice_gives(tabular):
    shared = ["data.batch_size=16", "optim.lr=0.003", "model.widths=[8]"]
    auto = config.compose(tabular, ["model=auto", *shared])
    assert auto.model.kind == "auto" and list(auto.model.overrides) == ["model.widths=[8]"]
    for name in ("mlp", "hist_gb"):
        alone = shared if name == "mlp" else shared[:2]  # widths is the MLP's; hist_gb has no such key
        expected = OmegaConf.to_container(config.compose(tabular, [f"model={name}", *alone]))
        assert OmegaConf.to_container(candidate_config(tabular, auto, name)) == expected


def test_auto_keys_and_their_checks(tabular):
    cfg = config.compose(tabular, ["model=auto", "model.candidates=[mlp]", "model.time_limit=30"])
    assert list(cfg.model.candidates) == ["mlp"] and cfg.model.time_limit == 30
    with pytest.raises(ConfigError, match="model.time_limit=-1 must be a number of seconds above 0"):
        config.compose(tabular, ["model=auto", "model.time_limit=-1"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.candidates=[mlp,nope]"], "model.candidates: nope is not a tabular-cls model"),
        (["model.candidates=[auto]"], "model.candidates: auto is not a tabular-cls model"),
        (["model.candidates=[]"], "model.candidates: an empty list"),
        (["model.widthz=[8]"], "unknown config key 'model.widthz' (no candidate of model=auto has it)"),
        (["model.widths=eight"], "model.widths must be list"),
        (["model.candidates=[hist_gb]", "model.widths=[8]"], "unknown config key 'model.widths'"),
    ],
)
def test_mistakes_are_one_config_error(tabular, overrides, message):
    with pytest.raises(ConfigError) as caught:
        config.compose(tabular, ["model=auto", *overrides])
    assert message in caught.value.one_line()


def test_a_mistyped_candidate_key_gets_a_suggestion(tabular):
    with pytest.raises(ConfigError) as caught:
        config.compose(tabular, ["model=auto", "model.widthz=[8]"])
    assert "did you mean model.widths" in caught.value.one_line()


def test_a_recipe_without_candidates_refuses_auto():
    with pytest.raises(ConfigError) as caught:
        config.compose(recipes.load("image-cls"), ["model=auto"])
    assert "model=auto: image-cls has no candidate models to choose among" in caught.value.one_line()
    assert "small_cnn" in caught.value.one_line()
