"""model=tfidf: TF-IDF of word and character n-grams + logistic regression (scikit-learn), exported with skl2onnx.

An `Estimator`: the vectorisers are fitted on the train split once, then one logistic regression per C of the
model config; the C with the best validation accuracy is kept. Saved with skops (no pickled code is run on load).
The served graph takes the text itself (input "text"), so the text-cls adapter is `tfidf_serving.RawTextAdapter`.

Tokenisation parity with skl2onnx's graph (ONNX Runtime's Tokenizer and TfIdfVectorizer), measured by the export's
parity gate: the text is normalised before both (`tfidf_serving.normalise`: lower case, one space per whitespace
run), so the graph needs no StringNormalizer (which wants an installed locale); word tokens use a regex that Python
and RE2 read alike (runs of two or more characters that are not a space or ASCII punctuation; sklearn's default
``\\b\\w\\w+\\b`` becomes ``[a-zA-Z0-9_]+`` in skl2onnx, which drops accented words and keeps one-letter ones);
character n-grams use analyzer="char" (skl2onnx has no "char_wb"); raw term counts (skl2onnx 1.20 computes
sublinear_tf as log(1 + tf), scikit-learn as 1 + log(tf): features differed on any repeated n-gram).
``stop_words_`` (the terms min_df and max_features pruned) is dropped: skl2onnx would turn each into a stop word
of the whole text, and it is only for introspection.

Two more skl2onnx habits are undone here (they parted 2.3% of the built-in tweets at score_tolerance 0.01): the
graph's Tokenizer pads a batch's shorter texts with "#", so a text ending in "." got the char n-gram ".#" of the
hashtags' vocabulary (the pad is now `tfidf_serving.PAD`, a noncharacter `normalise` removes); and a word bigram
kept by max_features whose word was cut at a tie became one token that never matches (`whole_word_ngrams`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.text_cls.dataset import read_texts
from aiaas_recipes.text_cls.tfidf_serving import INPUT_NAME, PAD, normalise

WORD_TOKEN = r"[^ !-/:-@\[-`{-~]{2,}"
OUTPUT_NAME = "logits"  # log-probabilities: the text adapter's softmax gives the probabilities back
TINY = 1e-30  # probabilities are clipped here before the log (float32 underflow would give -inf)
# skops trusts scikit-learn's own classes by default; these are the others a fitted pipeline holds
DEFAULTS = {"word_ngrams": (1, 2), "char_ngrams": (2, 5), "max_features": 50_000, "min_df": 2, "max_iter": 1000,
            "solver": "saga", "tol": 1e-3}  # fmt: skip
TRUSTED = ("numpy.float64", "scipy.sparse._csr.csr_matrix", "builtins.slice")


def clone_with(linear: Any, **params: Any) -> Any:
    """A copy of a logistic regression with other settings that keeps its fitted weights (for warm_start)."""
    import copy

    twin = copy.deepcopy(linear)
    return twin.set_params(**params)


def texts_of(dataset_dir: Path, split: str) -> list[str]:
    return [normalise(text) for text in read_texts(dataset_dir, split)]


class TfidfLinear:
    """Trains itself (the train stage calls ``fit`` and ``save`` instead of Lightning)."""

    def __init__(self, meta: dict, seed: int = 0, C: Any = (1.0, 4.0, 16.0), **settings: Any):
        self.meta = {**meta, "text_input": True}
        self.seed, self.grid = int(seed), [float(c) for c in C]
        s = {**DEFAULTS, **settings}
        self.settings = {"word_ngrams": tuple(s["word_ngrams"]), "char_ngrams": tuple(s["char_ngrams"]),
                         **{name: int(s[name]) for name in ("max_features", "min_df", "max_iter")},
                         "solver": str(s["solver"]), "tol": float(s["tol"])}  # fmt: skip
        self.model: Any = None

    def _features(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        s = self.settings
        common = {"min_df": s["min_df"], "max_features": s["max_features"], "lowercase": False}
        return make_union(
            TfidfVectorizer(ngram_range=s["word_ngrams"], token_pattern=WORD_TOKEN, **common),
            TfidfVectorizer(analyzer="char", ngram_range=s["char_ngrams"], **common),
        )

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Vectorisers on train, a logistic regression per C; the best validation accuracy is kept."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss
        from sklearn.pipeline import make_pipeline

        y = np.load(Path(dataset_dir) / "train_y.npy")
        features, train = self._features(), texts_of(dataset_dir, "train")
        x = whole_word_ngrams(features, train, features.fit_transform(train))
        for _, vectoriser in features.transformer_list:
            if hasattr(vectoriser, "stop_words_"):
                del vectoriser.stop_words_  # see the module docstring
            # plain ints, not numpy's: skops writes each numpy scalar as a file of its own (100k of them: a minute)
            vectoriser.vocabulary_ = {term: int(index) for term, index in vectoriser.vocabulary_.items()}
        val_y = np.load(Path(dataset_dir) / "val_y.npy")
        val_x = features.transform(texts_of(dataset_dir, "val")) if len(val_y) else None
        tried, best = [], None
        # ascending C, each fit starting from the last one's weights (warm start): the later fits take few steps
        s = self.settings
        linear = LogisticRegression(solver=s["solver"], tol=s["tol"], max_iter=s["max_iter"], random_state=self.seed,
                                    warm_start=True)  # fmt: skip
        for c in sorted(self.grid):
            linear = clone_with(linear, C=c).fit(x, y)
            accuracy = float(np.mean(linear.predict(val_x) == val_y)) if val_x is not None else 0.0
            tried.append({"C": c, "val_acc": round(accuracy, 6)})
            if best is None or accuracy > best[0]:
                best = (accuracy, linear)
        accuracy, linear = best
        self.model = make_pipeline(features, linear)
        self.meta.update(chosen={"C": float(linear.C)}, tried=tried)
        if val_x is None:
            return {}
        labels = list(range(len(self.meta["classes"])))
        return {"val_loss": float(log_loss(val_y, linear.predict_proba(val_x), labels=labels)), "val_acc": accuracy}

    def save(self, path: Path) -> None:
        import skops.io

        skops.io.dump({"aiaas": self.meta, "model": self.model}, Path(path))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return self.model.predict_proba([normalise(t) for t in texts]).astype(np.float32)

    def outputs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's answers under the ONNX output name, for the graph's own (normalised) text feed."""
        texts = [str(t) for t in np.asarray(feeds[INPUT_NAME]).ravel()]
        return {OUTPUT_NAME: np.log(np.maximum(self.probabilities(texts), TINY))}

    def convert(self, path: Path, opset: int) -> None:
        import onnx

        onnx.save(to_onnx(self.model, opset), str(path))


def whole_word_ngrams(features: Any, texts: list[str], x: Any) -> Any:
    """The features with the word vectoriser refitted on the n-grams whose words are all in its vocabulary.

    skl2onnx splits a word n-gram into the vocabulary's words; one with a word that max_features pruned (a tie at
    the cut: "tel aviv" kept, "aviv" not) becomes a single token "tel aviv" that the graph never meets.
    Returns ``x`` (the union's train features) with the word columns recomputed."""
    from scipy import sparse

    words = features.transformer_list[0][1]
    vocabulary = words.vocabulary_
    if words.ngram_range[0] != 1:  # no unigrams: skl2onnx splits with the token pattern instead
        return x
    kept = sorted(term for term in vocabulary if all(word in vocabulary for word in term.split(" ")))
    if len(kept) == len(vocabulary):
        return x
    chars = x[:, len(vocabulary) :]  # the union's columns: words first, then characters
    return sparse.hstack([words.set_params(vocabulary=kept).fit_transform(texts), chars], format="csr")


def to_onnx(model: Any, opset: int) -> Any:
    """skl2onnx's graph with one output, "logits" = log of the class probabilities (clipped at TINY)."""
    import warnings

    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    linear = model.steps[-1][1]
    with warnings.catch_warnings():  # "char analyzer may not work": the parity gate and the tests check that it does
        warnings.simplefilter("ignore", UserWarning)
        converted = convert_sklearn(
            model,
            initial_types=[(INPUT_NAME, StringTensorType([None, 1]))],
            options={id(linear): {"zipmap": False}},
            target_opset={"": int(opset), "ai.onnx.ml": 3},
        )
    graph = converted.graph
    for node in graph.node:  # the padding of a batch's shorter texts: see tfidf_serving.PAD
        for attribute in node.attribute:
            if node.op_type == "Tokenizer" and attribute.name == "pad_value":
                attribute.s = PAD.encode()
    probabilities = graph.output[1].name
    graph.initializer.append(numpy_helper.from_array(np.asarray(TINY, dtype=np.float32), "tiny"))
    graph.node.extend([
        helper.make_node("Max", [probabilities, "tiny"], ["clipped"]),
        helper.make_node("Log", ["clipped"], [OUTPUT_NAME]),
    ])  # fmt: skip
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", len(linear.classes_)]))
    versions: dict[str, int] = {}  # skl2onnx may list a domain twice; ONNX Runtime's tools refuse that
    for entry in converted.opset_import:
        versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    del converted.opset_import[:]
    for domain, version in versions.items():
        converted.opset_import.add(domain=domain, version=version)
    return converted


def load(path: Path) -> tuple[TfidfLinear, dict]:
    from aiaas_recipes.common.skops_file import read

    saved = read(path, TRUSTED)
    model = TfidfLinear.__new__(TfidfLinear)
    model.meta, model.model = saved["aiaas"], saved["model"]
    return model, model.meta


def export_samples(dataset_dir: Path, split: str, limit: int, seed: int = 0) -> np.ndarray:
    """The "text" feed of the rows text_cls.export.samples picks (the same seeded subset), normalised."""
    texts = read_texts(dataset_dir, split)
    pick = np.sort(np.random.default_rng(seed).permutation(len(texts))[:limit])
    return np.asarray([normalise(texts[i]) for i in pick], dtype=object).reshape(-1, 1)


def evaluate_split(model: TfidfLinear, dataset_dir: Path, manifest: dict, split: str) -> dict:
    """The text-cls report (per class, the TF-IDF baseline beside it, misclassified texts) for this model."""
    from aiaas_recipes.common.classification import classification_report
    from aiaas_recipes.common.report import add_baseline
    from aiaas_recipes.text_cls import evaluation

    classes, labels = manifest["classes"], np.load(Path(dataset_dir) / f"{split}_y.npy")
    texts = read_texts(dataset_dir, split)
    preds = model.probabilities(texts).argmax(-1) if texts else np.zeros(0, np.int64)
    report = classification_report(labels, preds, classes)
    baseline = classification_report(labels, evaluation.baseline_predictions(dataset_dir, split), classes)
    title = f"Model vs {evaluation.BASELINE} (same split)"
    add_baseline(report, baseline, evaluation.BASELINE, title, evaluation.HEADLINE, whole=True)
    report["misclassified"] = evaluation.misclassified(texts, labels, preds, classes)
    return report
