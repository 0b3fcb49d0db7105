"""The candidates that train themselves (lightgbm, linear) through every stage's hooks on the recipe's smoke table
(a number with missing values, a category, a yes/no column): train, save and load safely, evaluate, export to ONNX
with parity, and predict torch-free from raw records (an unseen category and a missing number among them)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from aiaas_cli.config import compose
from aiaas_cli.recipe_api import Estimator
from aiaas_recipes.tabular import serving
from aiaas_recipes.tabular.recipe import classification, regression
from aiaas_recipes.tabular.smoke import mixed_table

RECIPES = {"cls": classification, "reg": regression}
# small enough groups that LightGBM makes categorical splits on a 300-row table (its defaults need 100 rows a group)
SMALL_GROUPS = ["model.min_data_per_group=5", "model.cat_smooth=1", "model.min_child_samples=5"]
MODELS = {"lightgbm": ["model=lightgbm", *SMALL_GROUPS], "linear": ["model=linear"]}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict:
    """One smoke table per task (300 rows), written once for every candidate."""
    folder = tmp_path_factory.mktemp("candidates")
    return {key: mixed_table(folder / f"{key}.csv", recipe.task, rows=300) for key, recipe in RECIPES.items()}


def trained(recipe, table, model: list[str], tmp_path):
    cfg = compose(recipe, [f"data.path={table}", "data.target=target", *model])
    out = tmp_path / "ds"
    out.mkdir()
    manifest = recipe.build_dataset(cfg, out)
    estimator = recipe.model(cfg, manifest, out)
    assert isinstance(estimator, Estimator)
    val = estimator.fit(out, manifest)
    assert recipe.metrics.monitor in val and ("val_acc" in val or "val_rmse" in val)
    path = tmp_path / f"best{recipe.checkpoint_suffix(cfg)}"
    estimator.save(path)
    return cfg, out, manifest, path


def served_answers(metadata: dict, session, records: list[dict]) -> list[dict]:
    """`predict`'s path: raw records through the torch-free adapter and ONNX Runtime."""
    adapter = serving.build_adapter(metadata)
    rows = [adapter.decode(record) for record in records]
    names = [o.name for o in session.get_outputs()]
    return adapter.postprocess(dict(zip(names, session.run(None, adapter.batch(rows)))), rows, k=5)


@pytest.mark.parametrize("key", list(RECIPES))
@pytest.mark.parametrize("name", list(MODELS))
def test_candidate_trains_evaluates_exports_with_parity_and_predicts(name, key, tables, tmp_path):
    recipe = RECIPES[key]
    cfg, out, manifest, path = trained(recipe, tables[key], MODELS[name], tmp_path)
    network, meta = recipe.load_model(path)
    assert path.suffix == ".skops" and meta["model"]["_target_"].endswith(type(network).__name__)
    if name == "lightgbm":  # LightGBM's own categorical splits ("==" on a set of codes), not ordinal thresholds
        assert "'decision_type': '=='" in str(network.model.booster_.dump_model())
    report = recipe.evaluate(network, out, manifest, "test")
    assert set(recipe.metrics.names) <= set(report) and report["baseline"]
    floor = {"cls": ("accuracy", 0.75), "reg": ("r2", 0.6)}[key]  # the target follows from the columns
    assert report[floor[0]] > floor[1], report

    feeds, targets = recipe.export_samples(out, manifest, "test", 100)
    assert np.isnan(feeds["numeric"]).any() and "categorical" in feeds
    spec = recipe.export_spec(network, meta)
    spec.convert(tmp_path / "model.onnx", int(cfg.export.opset))
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == spec.input_names == ["numeric", "categorical"]
    actual = dict(zip(spec.output_names, session.run(spec.output_names, feeds)))
    parity = recipe.compare_outputs(recipe.reference_outputs(network, feeds), actual, cfg.export)
    assert recipe.parity_problem(parity, cfg.export) is None, parity
    assert recipe.score_outputs(actual, targets) == pytest.approx(report[recipe.metrics.headline], abs=1e-6)

    records = [record for _, record in recipe.sample_inputs(out, manifest, 3)]
    records.append({**records[0], "colour": "purple", "size": None})  # unseen category, missing number
    answers = served_answers(spec.metadata, session, records)
    adapter = serving.build_adapter(spec.metadata)
    expected = recipe.reference_outputs(network, adapter.batch([adapter.decode(r) for r in records]))
    if key == "reg":
        assert [a["value"] for a in answers] == pytest.approx(expected["value"].reshape(-1).tolist(), rel=1e-4)
    else:
        assert [a["label"] for a in answers] == [manifest["classes"][i] for i in expected["probabilities"].argmax(1)]


def test_linear_picks_its_regularisation_on_val(tables, tmp_path):
    """The strength kept is the one with the lowest val loss among those tried (refitted on train only)."""
    cfg, out, manifest, path = trained(regression, tables["reg"], ["model=linear"], tmp_path)
    network, _ = regression.load_model(path)
    alpha = network.model[-1].alpha
    assert alpha in cfg.model.regularization
    losses = {}
    for strength in cfg.model.regularization:
        network.model = network.pipeline(strength)
        x, y = network.split(out, "train")
        network.model.fit(x, y)
        losses[strength] = network.val_metrics(*network.split(out, "val"))["val_loss"]
    assert losses[alpha] == min(losses.values())
