"""A logistic regression on per-example statistics, as an `Estimator` the recipe serves like its networks.

What seq-cls's model=summary_lr and audio-cls's model=pooled_lr share: a StandardScaler + LogisticRegression saved with
skops, exported as ONE ONNX graph with the served model's own inputs: the statistics step (a torch module the recipe
writes, exported by torch's tracer, see ``traced_graph``) feeds scikit-learn's scaler and logistic regression
(converted by skl2onnx). Its output "logits" is the decision function, whose softmax (the serving adapter's) is
scikit-learn's predict_proba, so the request and the answer are the networks'.

A recipe subclasses `StatisticsLR`, naming ``input_names`` and writing ``statistics`` (numpy, float64) and
``statistics_graph`` (the same step as ONNX, output ``FEATURES``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import UserError

FEATURES = "statistics"  # the statistics step's output, the classifier's input, inside the graph (not an input name)
SCORES = "probabilities"  # skl2onnx's name for its output, which holds the raw scores here (raw_scores)
ML_OPSET = 3
INDICES = ((1, "summary_lr_one"), (2, "summary_lr_two"))  # initializers of the two-class head (Slice bounds)


def make_model(C: float = 1.0, max_iter: int = 1000, seed: int | None = 0) -> Any:
    """The scaler and logistic regression (also what a recipe's printed baseline fits)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=float(C), max_iter=int(max_iter), random_state=seed))


class StatisticsLR:
    """Trains itself (the train stage calls ``fit`` and ``save`` instead of Lightning); ``meta["classes"]`` names
    every class of the dataset."""

    name = "summary_lr"  # the model= option, in messages
    input_names: tuple[str, ...] = ()  # the ONNX inputs, in the order ``statistics`` takes them
    examples = "examples"  # what one input is called in messages ("sequences", "clips")

    def __init__(self, meta: dict, seed: int = 0, C: float = 1.0, max_iter: int = 1000):
        self.meta = meta
        self.model = make_model(C, max_iter, seed)

    def statistics(self, *inputs: np.ndarray) -> np.ndarray:
        """(N, width) float64 features of a batch of inputs."""
        raise NotImplementedError

    def statistics_graph(self, opset: int) -> Any:
        """The statistics step as an ONNX model: inputs ``input_names``, output ``FEATURES``, float32."""
        raise NotImplementedError

    def fit_arrays(self, train: tuple, val: tuple) -> dict[str, float]:
        """Train on ``train`` = (*inputs, labels); validation loss and accuracy on ``val``, named as the networks
        log them."""
        *inputs, labels = train
        if len(np.unique(labels)) < 2:
            raise UserError(f"model={self.name} needs training {self.examples} of at least two classes")
        self.model.fit(self.statistics(*inputs), labels)
        *inputs, labels = val
        if not len(labels):
            return {}
        from sklearn.metrics import log_loss

        probabilities = self.probabilities(*inputs)
        classes = list(range(len(self.meta["classes"])))
        loss = float(log_loss(labels, probabilities, labels=classes))
        return {"val_loss": loss, "val_acc": float(np.mean(probabilities.argmax(1) == labels))}

    def probabilities(self, *inputs: np.ndarray) -> np.ndarray:
        """(N, classes): every class of the dataset, zero for one that had no training example."""
        found = self.model.predict_proba(self.statistics(*inputs))
        full = np.zeros((len(found), len(self.meta["classes"])))
        full[:, self.model.classes_] = found
        return full

    def predict(self, *inputs: np.ndarray) -> np.ndarray:
        return self.probabilities(*inputs).argmax(1)

    def outputs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's answers under the ONNX output name: "logits" whose softmax is the class probabilities (the
        decision function; [0, s] for two classes), -inf for a class that had no training example."""
        scores = self.model.decision_function(self.statistics(*(feeds[name] for name in self.input_names)))
        if scores.ndim == 1:
            scores = np.stack([np.zeros_like(scores), scores], axis=1)
        logits = np.full((len(scores), len(self.meta["classes"])), -np.inf)
        logits[:, self.model.classes_] = scores
        return {"logits": logits.astype(np.float32)}

    def save(self, path: Path) -> None:
        import skops.io

        skops.io.dump({"aiaas": self.meta, "model": self.model}, Path(path))

    def convert(self, path: Path, opset: int) -> None:
        """Write model.onnx: the statistics step, then the scaler and logistic regression, then "logits"."""
        import onnx
        from onnx import compose

        if len(self.model.classes_) != len(self.meta["classes"]):
            raise UserError(f"model={self.name} saw only some classes in training: it cannot be exported",
                            f"give every class training {self.examples}")  # fmt: skip
        statistics, classifier = self.statistics_graph(opset), self._classifier_graph(opset)
        ir = min(statistics.ir_version, classifier.ir_version)
        statistics.ir_version = classifier.ir_version = ir
        merged = compose.merge_models(statistics, classifier, io_map=[(FEATURES, FEATURES)], outputs=[SCORES])
        _logits_head(merged.graph, len(self.meta["classes"]))
        onnx.checker.check_model(merged)
        onnx.save(merged, str(path))

    def _classifier_graph(self, opset: int) -> Any:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        width = int(self.model.n_features_in_)
        options = {id(self.model.steps[-1][1]): {"zipmap": False, "raw_scores": True}}  # decision function
        return convert_sklearn(self.model, initial_types=[(FEATURES, FloatTensorType([None, width]))],
                               options=options, target_opset={"": opset, "ai.onnx.ml": ML_OPSET})  # fmt: skip


def _logits_head(graph: Any, classes: int) -> None:
    """Replace the graph's outputs by "logits" (batch, classes) computed from skl2onnx's raw scores."""
    import onnx
    from onnx import helper, numpy_helper

    if classes == 2:  # skl2onnx's raw scores are [-s, s]; the softmax of [0, s] is scikit-learn's [1 - p, p]
        graph.initializer.extend([numpy_helper.from_array(np.array([i], np.int64), n) for i, n in INDICES])
        graph.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), "summary_lr_half"))
        graph.node.extend([
            helper.make_node("Slice", [SCORES, "summary_lr_one", "summary_lr_two", "summary_lr_one"], ["positive"]),
            helper.make_node("Add", [SCORES, "positive"], ["doubled"]),
            helper.make_node("Mul", ["doubled", "summary_lr_half"], ["logits"]),
        ])  # fmt: skip
    else:  # the multinomial decision function: its softmax is predict_proba
        graph.node.append(helper.make_node("Identity", [SCORES], ["logits"]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", classes]))


def traced_graph(module: Any, example: tuple, input_names: list[str], dynamic_axes: dict, opset: int) -> Any:
    """A torch statistics module as ONNX (torch's tracer), its output named ``FEATURES``."""
    import onnx
    import torch

    buffer, axes = io.BytesIO(), {**dynamic_axes, FEATURES: {0: "batch"}}
    torch.onnx.export(module, example, buffer, input_names=input_names, output_names=[FEATURES],
                      opset_version=opset, dynamo=False, dynamic_axes=axes)  # fmt: skip
    return onnx.load_from_string(buffer.getvalue())


def load(cls: type[StatisticsLR], path: Path) -> tuple[StatisticsLR, dict]:
    """A saved ``cls``, read with skops trusting scikit-learn's default types only (no pickled code)."""
    from aiaas_recipes.common.skops_file import read

    saved = read(path)
    estimator = cls.__new__(cls)
    estimator.meta, estimator.model = saved["aiaas"], saved["model"]
    return estimator, estimator.meta
