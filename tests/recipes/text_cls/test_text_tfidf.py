"""model=tfidf on the smoke texts: fit (C chosen on val), save with skops, load, evaluate, export with skl2onnx
(parity, and the TF-IDF features themselves equal on texts that tokenise awkwardly), predict torch-free."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from aiaas_cli.config import compose
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Estimator
from aiaas_cli.serving.runtime import Predictor
from aiaas_cli.stages.export import embed_metadata
from aiaas_recipes.text_cls import tfidf
from aiaas_recipes.text_cls.recipe import recipe
from aiaas_recipes.text_cls.tfidf_serving import normalise

AWKWARD = [
    "Café crème, déjà vu!  Naïve   résumé",  # accented words (sklearn's default pattern and skl2onnx's differ here)
    "I   can't\n\nbelieve\tit... a b c d",  # runs of whitespace, newlines, one-letter words, an apostrophe
    "GOAL!!! 3-2 at 90+4' #football @team 😀 ☕",  # digits, hashtags, mentions, emoji
    "x",  # one character
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    work = tmp_path_factory.mktemp("tfidf")
    overrides = [o for o in recipe.smoke_overrides(work) if o.startswith("data.")]
    cfg = compose(recipe, [*overrides, "model=tfidf", "model.C=[0.5,8.0]", "model.char_ngrams=[2,4]"])
    out = work / "ds"
    out.mkdir()
    return cfg, out, recipe.build_dataset(cfg, out)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    cfg, out, manifest = data
    estimator = recipe.model(cfg, manifest, out)
    assert isinstance(estimator, Estimator)
    val = estimator.fit(out, manifest)
    path = tmp_path_factory.mktemp("tfidf-model") / f"best{recipe.checkpoint_suffix(cfg)}"
    estimator.save(path)
    model, meta = recipe.load_model(path)
    return model, meta, val, path


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    model, meta, _, _ = trained
    path = tmp_path_factory.mktemp("tfidf-onnx") / "model.onnx"
    spec = recipe.export_spec(model, meta)
    spec.convert(path, 18)
    info = {**spec.metadata, "recipe": recipe.name, "serving_module": recipe.serving_module,
            "input_names": spec.input_names, "output_names": spec.output_names}  # fmt: skip
    embed_metadata(path, info)
    return path


def test_fit_chooses_c_on_validation_and_saves_with_skops(trained):
    model, meta, val, path = trained
    assert path.suffix == ".skops" and meta["recipe"] == "text-cls" and meta["text_input"]
    assert [t["C"] for t in meta["tried"]] == [0.5, 8.0] and set(val) == {"val_loss", "val_acc"}
    assert meta["chosen"]["C"] in (0.5, 8.0) and max(t["val_acc"] for t in meta["tried"]) == pytest.approx(
        val["val_acc"]
    )


def test_evaluates_beside_the_printed_baseline(trained, data):
    model, _, _, _ = trained
    _, out, manifest = data
    report = recipe.evaluate(model, out, manifest, "test")
    assert set(recipe.metrics.names) <= set(report) and report["baseline"]["name"] == "TF-IDF + logistic regression"
    assert report["accuracy"] >= report["baseline"]["accuracy"] - 0.34  # the keyword texts: both near 1


def test_export_parity_on_the_test_split_and_awkward_texts(trained, data, exported):
    model, _, _, _ = trained
    cfg, out, manifest = data
    feeds, _ = recipe.export_samples(out, manifest, "test", 50)
    session = ort.InferenceSession(str(exported))
    assert [i.name for i in session.get_inputs()] == ["text"] and [o.name for o in session.get_outputs()] == ["logits"]
    for texts in (feeds["text"], np.asarray([normalise(t) for t in AWKWARD], dtype=object).reshape(-1, 1)):
        (logits,) = session.run(None, {"text": texts})
        parity = recipe.compare_outputs(
            recipe.reference_outputs(model, {"text": texts}), {"logits": logits}, cfg.export
        )
        assert parity.agreement == 1.0, parity.worst


def test_tfidf_features_match_skl2onnx_token_for_token(trained):
    """The vectorisers alone through skl2onnx: the same TF-IDF vector as scikit-learn on every awkward text."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    model, _, _, _ = trained
    features = model.model.steps[0][1]
    graph = convert_sklearn(features, initial_types=[("text", StringTensorType([None, 1]))], target_opset=18)
    texts = [normalise(t) for t in AWKWARD] + ["the match was great", "new phone and laptop"]
    (got,) = ort.InferenceSession(graph.SerializeToString()).run(None, {"text": np.asarray(texts, object)[:, None]})
    np.testing.assert_allclose(got, features.transform(texts).toarray(), atol=1e-5)


# Texts where skl2onnx's graph and scikit-learn parted on the built-in tweets: char n-grams of a text's end and the
# Tokenizer's padding ('.#', '(#': the vocabulary has them from hashtags), and a word bigram kept by max_features
# whose second word was cut ("aviv tonight" without "tonight").
PARTED = ["tel aviv tonight.", "tel aviv again!", "a tel talk #fun", "tel tel tel", "lovely day.#sunny",
          "sad day (#rain)", 'what a "great" day.', "#mood: ok.", "not ok (sigh", "ok ok", "ok.#.#.#.#",
          "(#(#(#"]  # fmt: skip


def test_a_batch_of_texts_of_any_length_keeps_parity(tmp_path):
    """Short texts batched with a long one (padded by the graph), a bigram with a cut word, emoji and symbols."""
    for split in ("train", "val"):
        (tmp_path / f"{split}_texts.jsonl").write_text("".join(json.dumps(t) + "\n" for t in PARTED))
        np.save(tmp_path / f"{split}_y.npy", np.arange(len(PARTED)) % 2)
    model = tfidf.TfidfLinear({"classes": ["a", "b"]}, C=[1.0], max_features=13, min_df=1, char_ngrams=[2, 3])
    model.fit(tmp_path, {})
    words, chars = (vectoriser.vocabulary_ for _, vectoriser in model.model.steps[0][1].transformer_list)
    assert {".#", "(#"} <= set(chars) and "tel aviv" in words  # the n-grams that parted before
    texts = ["tel aviv tonight.", "ok.", "day (", 'sad "day"', *AWKWARD, "Tel Aviv 😀 ☕ — déjà vu… longer, ok ok."]
    feed = np.asarray([normalise(t) for t in texts], dtype=object).reshape(-1, 1)
    (logits,) = ort.InferenceSession(tfidf.to_onnx(model.model, 18).SerializeToString()).run(None, {"text": feed})
    want = model.outputs({"text": feed})["logits"]
    np.testing.assert_allclose(np.exp(logits), np.exp(want), atol=1e-5)
    assert all(word in words for term in words for word in term.split(" "))  # "aviv tonight" went with "tonight"
    assert normalise("ok\uffff.") == "ok ." and tfidf.PAD == "\uffff"  # the pad value never reaches the graph


def test_served_adapter_normalises_and_answers_labels(trained, exported):
    model, meta, _, _ = trained
    predictor = Predictor(exported)
    answers = [predictor.predict([text], k=2)[0] for text in ("  The MATCH\nwas great  ", "the match was great")]
    assert answers[0] == answers[1] and len(answers[0]["predictions"]) == 2 and answers[0]["truncated"] is False
    assert answers[0]["predictions"][0]["label"] in meta["classes"]


def test_serving_a_tfidf_model_imports_no_torch_or_sklearn(exported):
    code = (
        "import sys; from aiaas_cli.serving.runtime import Predictor;"
        f"Predictor({str(exported)!r}).predict(['good food'], k=1);"
        "print([m for m in ('torch', 'sklearn', 'skl2onnx', 'skops') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().replace("'", '"')) == []


def test_a_model_from_another_recipe_is_refused(trained, tmp_path):
    import skops.io

    model, meta, _, _ = trained
    skops.io.dump({"aiaas": {**meta, "recipe": "tabular-cls"}, "model": model.model}, tmp_path / "other.skops")
    with pytest.raises(ConfigError, match="from recipe 'tabular-cls'"):
        recipe.load_model(tmp_path / "other.skops")
    assert tfidf.TfidfLinear  # the module's own class is what load rebuilds
