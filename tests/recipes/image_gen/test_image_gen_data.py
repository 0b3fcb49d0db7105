"""Folders to datasets (class folders, grey images as one channel, a flat folder as unconditional) and evaluation
of an untrained network on both: every metric present, the baseline beside it, the grids written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from aiaas_recipes.image_gen import dataset, nets
from aiaas_recipes.image_gen.evaluation import evaluate_split
from aiaas_recipes.image_gen.recipe import recipe

DATA = OmegaConf.create({"image_size": 8, "preprocess_workers": 1, "split": {"val": 0.2, "test": 0.2, "seed": 0}})
SAMPLING = {"steps": 2, "guidance": 2.0, "max_n": 4, "max_steps": 10, "eval_per_class": 3}


def _write(folder: Path, count: int, grey: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(0, 255, (8, 8) if grey else (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")


def _evaluate(out: Path, manifest: dict, kind: str) -> dict:
    model = OmegaConf.create({"kind": kind, "channels": [4, 8], "emb_dim": 16, "latent_dim": 4, "timesteps": 20})
    meta = {**recipe.meta(OmegaConf.create({"model": model, "sampling": SAMPLING}), manifest)}
    net = nets.build(model, meta).eval()
    net.aiaas_meta = meta
    return evaluate_split(net, out, manifest, "test")


@pytest.mark.parametrize("kind", ["diffusion", "gan"])
def test_grey_class_folders_are_one_channel_and_evaluate_beside_the_baseline(tmp_path, kind):
    for name in ("a", "b"):
        _write(tmp_path / "data" / name, 10, grey=True, seed=ord(name))
    (tmp_path / "data" / "a" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build(dataset.layout_of(tmp_path / "data"), out, DATA)
    assert manifest["classes"] == ["a", "b"] and manifest["channels"] == 1
    assert [s["file"] for s in manifest["skipped"]] == ["a/broken.png"]
    assert np.load(out / "train_x.npy").shape[1:] == (8, 8, 1)
    report = _evaluate(out, manifest, kind)
    assert set(recipe.metrics.names) <= report.keys() and report["samples"] == 6
    assert 0 <= report["class_accuracy"] <= 1 and report["baseline"]["fid"] >= 0
    assert [p.name for p in recipe.write_plots(report, tmp_path)] == ["samples_grid.png", "baseline_grid.png"]


def test_a_flat_folder_is_one_unconditional_set(tmp_path):
    _write(tmp_path / "flat", 12, grey=False, seed=1)
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build(dataset.layout_of(tmp_path / "flat"), out, DATA)
    assert manifest["classes"] == [] and manifest["channels"] == 3
    assert set(np.load(out / "train_y.npy").tolist()) == {0}  # the null label
    report = _evaluate(out, manifest, "vae")
    assert np.isnan(report["class_accuracy"]) and report["fid"] >= 0 and report["judge_accuracy"] is None
