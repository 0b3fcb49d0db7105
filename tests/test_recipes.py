"""The registry: built-ins and third-party recipes come through the `aiaas.recipes` entry points, checked."""

from __future__ import annotations

import pytest
from conftest import install_plugin, uninstall_plugin

from aiaas_cli import recipes
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.recipes import check


def test_builtin_loads():
    assert recipes.load("image-cls").config_name == "image-cls"


def test_unknown_recipe_suggests():
    with pytest.raises(ConfigError) as caught:
        recipes.load("imagecls")
    assert "did you mean image-cls" in caught.value.one_line()


def test_plugin_recipe_is_listed_and_runs(points_plugin, cli):
    listed = {r["name"]: r for r in cli.json("recipes")["recipes"]}
    assert listed["points"]["description"].startswith("2-D points into clusters")
    out = cli.json("preprocess", "points", "data.n=60")
    assert out["split_sizes"] == {"train": 42, "val": 9, "test": 9}
    assert out["classes"] == ["cluster0", "cluster1", "cluster2"]


def test_plugin_cannot_shadow_a_builtin(tmp_path):
    install_plugin(tmp_path, "image-cls = aiaas_points.recipe:recipe")
    try:
        assert recipes.available()["image-cls"] == "aiaas_recipes.image_cls.recipe:recipe"
        assert type(recipes.load("image-cls")).__name__ == "ImageClassification"
    finally:
        uninstall_plugin(tmp_path)


def test_a_missing_hook_fails_at_registration_with_its_name():
    class Half(Recipe):
        name, config_name, serving_module = "half", "half", "aiaas_recipes.image_cls.serving"

        def fingerprint(self, cfg):
            return "x"

    missing = check(Half())
    assert "build_dataset" in missing and "metrics" in missing and "smoke_overrides" in missing
    assert "fingerprint" not in missing


def test_a_serving_module_without_its_hooks_is_named(tmp_path, monkeypatch):
    (tmp_path / "bare_serving.py").write_text("def build_adapter(metadata):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    image = recipes.load("image-cls")
    monkeypatch.setattr(image, "serving_module", "bare_serving")
    missing = check(image)
    assert "bare_serving.SERVICE" in missing and "bare_serving.to_row" in missing
    assert "bare_serving.build_adapter" not in missing
