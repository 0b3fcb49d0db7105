"""The package works from a built wheel, not only from the editable checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return next(out.glob("aiaas-*.whl")), built.stderr


def test_building_the_wheel_prints_no_setuptools_warning(wheel):
    _, stderr = wheel
    # a license table, config folders that are not packages: each once printed a screenful of banners
    assert "Warning" not in stderr, stderr


def test_wheel_ships_configs_and_recipes_under_aiaas_names(wheel):
    names = zipfile.ZipFile(wheel[0]).namelist()
    assert "aiaas_conf/image-cls.yaml" in names
    assert "aiaas_conf/model/resnet18.yaml" in names
    assert "aiaas_recipes/image_cls/recipe.py" in names
    text = {"aiaas_conf/text-cls.yaml", "aiaas_recipes/text_cls/serving.py", "aiaas_recipes/common/scores.py"}
    assert text <= set(names)
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"recipes", "conf", "tests"}, tops  # no generic top-level names in site-packages


@pytest.mark.slow
def test_installed_wheel_runs(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Reuse this environment's dependencies (torch, ...) without their editable aiaas: a path
    # listed in a .pth file is added to sys.path, but the .pth files inside it are not run.
    site = subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.decode().strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel[0])], check=True)
    run_env = {**os.environ, "AIAAS_HOME": str(tmp_path / "home")}
    where = subprocess.check_output(
        [python, "-c", "import aiaas_cli, aiaas_conf; print(aiaas_cli.__file__)"], cwd=tmp_path
    )
    assert str(env_dir) in where.decode()
    aiaas = str(env_dir / "bin" / "aiaas")
    listed = json.loads(subprocess.check_output([aiaas, "recipes", "--json"], cwd=tmp_path, env=run_env))
    assert "image-cls" in [r["name"] for r in listed["recipes"]]
    cfg = json.loads(
        subprocess.check_output([aiaas, "train", "image-cls", "--cfg", "--json"], cwd=tmp_path, env=run_env)
    )
    assert cfg["model"]["_target_"] == "aiaas_recipes.image_cls.model.SmallCNN"
    # every stage from a folder that is not the repo: the configs and the Bento's code come from the wheel
    run_env["BENTOML_HOME"] = str(tmp_path / "bentoml")
    args = ["pipeline", "image-cls", "trainer.max_epochs=3", "trainer.early_stopping.enabled=false", "--json"]
    done = json.loads(subprocess.check_output([aiaas, *args], cwd=tmp_path, env=run_env))
    assert done["metrics"]["accuracy"] > 0.5 and done["bento_tag"]
