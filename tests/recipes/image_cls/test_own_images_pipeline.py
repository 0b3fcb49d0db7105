"""A user's own folder (mixed formats and sizes, some broken files) through every stage, then predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagefiles import write_broken, write_dataset

QUICK = ["trainer.max_epochs=2", "trainer.early_stopping.enabled=false", "data.image_size=24"]


@pytest.mark.slow
def test_pipeline_and_predict_on_own_images(cli, tmp_path):
    root = write_dataset(tmp_path / "photos", {"bird": 12, "cat": 12, "dog": 12})
    broken = write_broken(root / "cat")
    out = cli.json("pipeline", "image-cls", f"data.root={root}", *QUICK)
    assert out["metrics"]["per_class"].keys() == {"bird", "cat", "dog"}
    assert Path(out["onnx_path"]).exists() and out["parity"]["top1_agreement"] == 1.0
    assert out["bento_tag"].startswith("aiaas-image-cls:") and out["uri"]
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    assert len(manifest["skipped"]) == len(broken)

    lines = cli("predict", "image-cls", str(root), "--model", f"run={out['run_id']}").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 36 + len(broken)
    failed = {Path(r["input"]).name for r in rows if "error" in r}
    assert failed == {p.name for p in broken}
    assert all(r["label"] in {"bird", "cat", "dog"} for r in rows if "error" not in r)
