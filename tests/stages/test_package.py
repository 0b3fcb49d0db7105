"""aiaas package: a torch-free Bento from an exported run, and its error cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


def test_package_builds_a_torch_free_bento(bento, exported_run):
    assert bento["run_id"] == exported_run
    assert bento["bento_tag"].startswith("aiaas-image-cls:")
    root = Path(bento["bento_path"])
    info = yaml.safe_load((root / "bento.yaml").read_text())
    assert info["labels"]["run_id"] == exported_run
    assert float(info["labels"]["test_accuracy"]) >= 0.9
    assert [m["tag"] for m in info["models"]] == [bento["model_tag"]]
    assert info["args"]["limits"] == {"max_pixels": 1_000_000, "max_request_pixels": 2_000_000}
    assert info["args"]["serving_module"] == "aiaas_recipes.image_cls.serving"
    requirements = (root / "env" / "python" / "requirements.txt").read_text().lower()
    assert "onnxruntime" in requirements and "torch" not in requirements and "aiaas" not in requirements
    shipped = {p.relative_to(root / "src").as_posix() for p in (root / "src").rglob("*.py")}
    assert {"aiaas_cli/serving/service.py", "aiaas_recipes/image_cls/service.py"} <= shipped
    assert "aiaas_recipes/common/vision/transforms.py" in shipped
    assert "aiaas_recipes/image_cls/model.py" not in shipped


def test_bento_code_imports_without_torch(bento):
    src = str(Path(bento["bento_path"]) / "src")
    code = (
        "import sys; sys.modules['torch'] = None; sys.path.insert(0, sys.argv[1]); "
        "import aiaas_cli.serving.runtime, aiaas_cli.serving.limits, aiaas_recipes.image_cls.serving; "
        "assert aiaas_cli.serving.runtime.__file__.startswith(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, src], check=True)


def test_package_without_onnx_model_fails_in_one_line(cli):
    run_id = cli.json("preprocess", "image-cls")["run_id"]
    result = cli("package", "image-cls", f"run={run_id}", expect=1)
    assert "has no ONNX model" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_package_unknown_run_is_a_usage_error(cli):
    result = cli("package", "image-cls", "run=0123456789abcdef0123456789abcdef", expect=2)
    assert "does not exist" in result.stderr


def test_containerize_without_a_builder_still_builds(cli, exported_run, monkeypatch):
    from aiaas_cli.stages import package

    monkeypatch.setattr(package, "available_builder", lambda: None)
    result = cli.json("package", "image-cls", f"run={exported_run}", "--containerize")
    assert result["image"] is None and result["bento_tag"].startswith("aiaas-image-cls:")


def test_the_service_is_the_one_the_serving_module_needs(monkeypatch):
    import types

    from aiaas_cli.errors import UserError
    from aiaas_cli.stages import package

    assert package.service_for("aiaas_recipes.image_cls.serving") == "aiaas_recipes.image_cls.service:ImageService"
    audio = types.ModuleType("fake_audio_serving")
    monkeypatch.setitem(sys.modules, "fake_audio_serving", audio)
    with pytest.raises(UserError, match="names no SERVICE"):
        package.service_for("fake_audio_serving")
    audio.SERVICE = "fake_audio_serving:AudioService"
    assert package.service_for("fake_audio_serving") == "fake_audio_serving:AudioService"


def test_bento_requirements_follow_the_shipped_imports():
    from aiaas_cli.stages.package import requirements

    image = {r.split("==")[0] for r in requirements("aiaas_recipes.image_cls.serving")}
    text = {r.split("==")[0] for r in requirements("aiaas_recipes.text_cls.serving")}
    assert {"onnxruntime", "numpy", "pillow"} <= image
    assert "tokenizers" in text and "tokenizers" not in image
    assert not (image | text) & {"torch", "aiaas", "pytorch-lightning", "mlflow"}
