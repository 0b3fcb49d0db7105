"""model=popular / als / item_knn on the smoke data: fit (settings chosen on val), save, load, evaluate, export to
ONNX with parity, and predict through the torch-free adapter, as the train/evaluate/export/predict stages do."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from aiaas_cli.config import compose
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Estimator
from aiaas_cli.serving.runtime import Predictor
from aiaas_cli.stages.export import embed_metadata
from aiaas_recipes.recommend import fitted
from aiaas_recipes.recommend.recipe import recipe

DATA = ["data.generated.users=60", "data.generated.items=40", "data.generated.interactions_per_user=8",
        "data.generated.genres=4", "max_k=20"]  # fmt: skip
MODELS = {
    "popular": ["model=popular"],
    "als": ["model=als", "model.factors=[4,8]", "model.alpha=[5.0]", "model.iterations=5"],
    "item_knn": ["model=item_knn", "model.neighbours=[5,100]"],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("recommend-ds")
    cfg = compose(recipe, DATA)
    return out, recipe.build_dataset(cfg, out)


@pytest.fixture(scope="module", params=list(MODELS))
def trained(request, data, tmp_path_factory):
    """(name, cfg, loaded model, meta, validation metrics) of one fitted model, saved and read back."""
    out, manifest = data
    cfg = compose(recipe, [*DATA, *MODELS[request.param]])
    estimator = recipe.model(cfg, manifest, out)
    assert isinstance(estimator, Estimator)
    val = estimator.fit(out, manifest)
    path = tmp_path_factory.mktemp(request.param) / f"best{recipe.checkpoint_suffix(cfg)}"
    estimator.save(path)
    model, meta = recipe.load_model(path)
    return request.param, cfg, model, meta, val


def test_fit_chooses_its_setting_on_validation_and_saves_npz(trained):
    name, cfg, model, meta, val = trained
    assert meta["fitted"] == name and meta["recipe"] == "recommend" and recipe.checkpoint_suffix(cfg) == ".npz"
    assert set(val) == {"val_ndcg", "val_recall"} and 0 < val["val_ndcg"] <= 1
    assert len(meta["tried"]) == {"popular": 1, "als": 2, "item_knn": 2}[name]  # every setting of the grid
    assert max(t["val_ndcg"] for t in meta["tried"]) == pytest.approx(val["val_ndcg"], abs=1e-6)
    assert not any(isinstance(v, np.ndarray) and v.dtype == object for v in model.arrays.values())


def test_evaluates_against_the_printed_baselines(trained, data):
    name, _, model, _, _ = trained
    out, manifest = data
    report = recipe.evaluate(model, out, manifest, "test")
    assert set(recipe.metrics.names) <= set(report)
    if name == "popular":  # the most-popular baseline made servable: the same figures
        assert report["ndcg"] == pytest.approx(report["baselines"]["most-popular"]["ndcg"], abs=1e-9)
    if name == "item_knn" and model.chosen["neighbours"] == 100:  # the printed item-kNN, through implicit
        assert report["ndcg"] == pytest.approx(report["baselines"]["item-knn"]["ndcg"], abs=0.02)


def served(model, meta, tmp_path):
    path = tmp_path / "model.onnx"
    spec = recipe.export_spec(model, meta)
    spec.convert(path, 18)
    info = {**spec.metadata, "recipe": "recommend", "serving_module": recipe.serving_module,
            "input_names": spec.input_names, "output_names": spec.output_names}  # fmt: skip
    embed_metadata(path, info)
    return Predictor(path)


def test_exports_with_parity_and_predicts(trained, data, tmp_path):
    name, cfg, model, meta, _ = trained
    out, manifest = data
    predictor = served(model, meta, tmp_path)
    feeds, _ = recipe.export_samples(out, manifest, "test", 40)
    assert "" in set(feeds["user"]) and len(set(feeds["item"])) > 1  # an unknown user and an item query among them
    feeds["exclude_seen"][::3] = False  # seen items kept for some users
    actual = predictor.model.run(feeds)
    parity = recipe.compare_outputs(recipe.reference_outputs(model, feeds), actual, cfg.export)
    assert parity.agreement == 1.0 and parity.samples == len(feeds["user"]), parity.worst
    user = meta["user_ids"][0]
    seen = set(meta["item_ids"][i] for i in model.arrays["history_items"][: model.arrays["history_indptr"][1]])
    answer, unknown = predictor.predict([user, "nobody"], k=5)
    assert len(answer["items"]) == 5 and not seen & {a["item"] for a in answer["items"]}
    assert unknown["fallback"] == "popular" and answer["fallback"] is None
    popularity = model.arrays["popularity"]
    fifth = np.sort(popularity)[-5]  # items tied with the fifth most popular may take its place
    assert {a["item"] for a in unknown["items"]} <= {meta["item_ids"][i] for i in np.flatnonzero(popularity >= fifth)}


def test_a_file_that_is_not_a_fitted_model_is_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(UserError, match="cannot load"):
        fitted.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", meta=np.asarray(json.dumps({"fitted": "gadget"})))
    with pytest.raises(UserError, match="not a recommend model"):
        fitted.load(tmp_path / "other.npz")


def test_serving_a_fitted_model_imports_no_torch(trained, tmp_path):
    _, _, model, meta, _ = trained
    path = served(model, meta, tmp_path).model.path
    code = (
        "import sys; from aiaas_cli.serving.runtime import Predictor;"
        f"p = Predictor({str(path)!r}); p.predict([{meta['user_ids'][0]!r}], k=3);"
        "print([m for m in ('torch', 'sklearn', 'implicit', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().replace("'", '"')) == []


def test_als_is_validated_on_a_train_fit_then_refitted_on_train_and_val(trained, data):
    name, cfg, model, meta, val = trained
    if name != "als":
        pytest.skip("only ALS keeps a train-only fit beside the refit (the others score from what they are given)")
    from aiaas_recipes.recommend import dataset
    from aiaas_recipes.recommend.evaluation import evaluate_split

    out, manifest = data
    shape = model.shape
    train = dataset.matrix(out, ("train",), shape)
    assert meta["validated_interactions"] == train.nnz
    validated, refit = model.arrays["validated_item_factors"], model.arrays["item_factors"]
    assert validated.shape == refit.shape and not np.allclose(validated, refit)  # val's rows moved the items
    # the validation split is scored with the train-only fit: the figure the candidates were ranked by
    assert evaluate_split(model, out, manifest, "val")["ndcg"] == pytest.approx(val["val_ndcg"], abs=1e-6)
    # from there on (and when served) the refit: the same setting fitted on train + val
    again = fitted.ALS(dict(meta), seed=int(cfg.seed))
    expected = again.candidate(meta["chosen"], dataset.matrix(out, ("train", "val"), shape))[1]
    np.testing.assert_allclose(refit, expected, rtol=1e-4, atol=1e-5)
