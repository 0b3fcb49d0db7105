"""Both models on a tiny table: train briefly, save, load safely, evaluate, export to ONNX and match it."""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest
from tablefiles import clean_columns, write_csv

from aiaas_cli.config import compose
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import Estimator
from aiaas_recipes.tabular.estimator import load as load_estimator
from aiaas_recipes.tabular.recipe import classification, regression

QUICK = ["trainer.max_epochs=3", "data.batch_size=16"]


def table(tmp_path, n: int = 150):
    """The clean 3-class table with missing numbers, so imputation is exercised end to end."""
    columns = clean_columns(n=n)
    columns["x2"] = [v if i % 9 else "NA" for i, v in enumerate(columns["x2"])]
    columns["amount"] = [round(float(x) * 10 + 50, 3) for x in clean_columns(n=n, seed=1)["x1"]]
    return write_csv(tmp_path / "table.csv", columns)


def prepared(recipe, tmp_path, *overrides):
    target, drop = ("label", "amount") if recipe is classification else ("amount", "label")
    data = [f"data.path={table(tmp_path)}", f"data.target={target}", f"+data.column_types.{drop}=drop"]
    cfg = compose(recipe, [*data, *QUICK, *overrides])
    out = tmp_path / "ds"
    out.mkdir()
    return cfg, out, recipe.build_dataset(cfg, out)


def train_mlp(recipe, cfg, out, manifest, tmp_path):
    import pytorch_lightning as pl

    module = recipe.model(cfg, manifest, out)
    trainer = pl.Trainer(
        max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, datamodule=recipe.datamodule(cfg, out, manifest))
    path = tmp_path / "best.ckpt"
    trainer.save_checkpoint(path)
    return path


def onnx_outputs(recipe, network, meta, feeds, path) -> dict:
    import torch

    spec = recipe.export_spec(network, meta)
    if spec.convert:
        spec.convert(path, 18)
    else:
        shapes = tuple({0: torch.export.Dim("batch")} for _ in spec.input_names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network, spec.example_inputs, str(path), input_names=spec.input_names,
                output_names=spec.output_names, opset_version=18, dynamo=True, dynamic_shapes=shapes, verbose=False,
            )  # fmt: skip
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == spec.input_names == spec.metadata["inputs"]
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


@pytest.mark.parametrize("recipe", [classification, regression], ids=["cls", "reg"])
def test_mlp_trains_evaluates_and_exports_with_parity(recipe, tmp_path):
    cfg, out, manifest = prepared(recipe, tmp_path, "model=mlp")
    network, meta = recipe.load_model(train_mlp(recipe, cfg, out, manifest, tmp_path))
    assert meta["recipe"] == recipe.name and meta["model"]["_target_"].endswith("TabularMLP")
    report = recipe.evaluate(network, out, manifest, "test")
    assert set(recipe.metrics.names) <= set(report) and set(recipe.metrics.names) <= set(report["baseline"])
    assert report["compare"]["columns"] == ["model", "baseline"]
    assert [p.name for p in recipe.write_plots(report, tmp_path)] in (["confusion_matrix.png"], ["residuals.png"])
    assert recipe.report_tables(report)
    feeds, targets = recipe.export_samples(out, manifest, "test", 100)
    assert np.isnan(feeds["numeric"]).any()  # the graph itself imputes
    actual = onnx_outputs(recipe, network, meta, feeds, tmp_path / "model.onnx")
    parity = recipe.compare_outputs(recipe.reference_outputs(network, feeds), actual, cfg.export)
    assert recipe.parity_problem(parity, cfg.export) is None, parity
    headline = recipe.score_outputs(actual, targets)
    assert headline == pytest.approx(report[recipe.metrics.headline], abs=1e-6)


@pytest.mark.parametrize("recipe", [classification, regression], ids=["cls", "reg"])
def test_hist_gb_trains_itself_saves_with_skops_and_converts(recipe, tmp_path):
    cfg, out, manifest = prepared(recipe, tmp_path, "model=hist_gb", "model.max_iter=30")
    estimator = recipe.model(cfg, manifest, out)
    assert isinstance(estimator, Estimator)
    val = estimator.fit(out, manifest)
    assert recipe.metrics.monitor in val and ("val_acc" in val or "val_rmse" in val)
    path = tmp_path / f"model{recipe.checkpoint_suffix(cfg)}"
    estimator.save(path)
    network, meta = recipe.load_model(path)
    assert path.suffix == ".skops" and meta["task"] == recipe.task
    feeds, _ = recipe.export_samples(out, manifest, "test", 100)
    actual = onnx_outputs(recipe, network, meta, feeds, tmp_path / "model.onnx")
    parity = recipe.compare_outputs(recipe.reference_outputs(network, feeds), actual, cfg.export)
    assert recipe.parity_problem(parity, cfg.export) is None, parity


class Gadget:
    """A type skops does not trust: a saved model holding it must not load."""

    def __init__(self):
        self.payload = "anything"


def test_untrusted_and_foreign_models_are_refused(tmp_path):
    import skops.io

    skops.io.dump(
        {"aiaas": {"recipe": "tabular-cls", "task": "classification"}, "model": Gadget()}, tmp_path / "x.skops"
    )
    with pytest.raises(UserError, match="does not load"):
        load_estimator(tmp_path / "x.skops")
    cfg, out, manifest = prepared(regression, tmp_path, "model=hist_gb", "model.max_iter=5")
    estimator = regression.model(cfg, manifest, out)
    estimator.fit(out, manifest)
    estimator.save(tmp_path / "reg.skops")
    with pytest.raises(ConfigError, match="from recipe 'tabular-reg'"):
        classification.load_model(tmp_path / "reg.skops")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot load"):
        classification.load_model(tmp_path / "junk.ckpt")
