"""model=summary_lr: logistic regression on per-sequence summary statistics, as an `Estimator`.

Saved with skops. Exported as one ONNX graph with the served model's inputs ("sequence", "lengths"): the summary step
(the torch module of `summary`, exported by torch's tracer) feeds scikit-learn's scaler and logistic regression
(converted by skl2onnx); its output "logits" is the decision function, whose softmax (the serving adapter's) is
scikit-learn's predict_proba, so the request and the answer are the networks'.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import UserError
from aiaas_recipes.sequence.classify.summary import summary_statistics
from aiaas_recipes.sequence.classify.training import load_split

TARGET = "aiaas_recipes.sequence.classify.summary_lr.SummaryLR"
FEATURES = "features"  # the summary step's output, the classifier's input, inside the graph
SCORES = "probabilities"  # skl2onnx's name for its output, which holds the raw scores here (raw_scores)
ML_OPSET = 3
INDICES = ((1, "summary_lr_one"), (2, "summary_lr_two"))  # initializers of the two-class head (Slice bounds)


class SummaryLR:
    """Trains itself (the train stage calls ``fit`` and ``save`` instead of Lightning)."""

    def __init__(self, meta: dict, seed: int = 0, C: float = 1.0, max_iter: int = 1000):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.meta = meta
        self.model = make_pipeline(
            StandardScaler(), LogisticRegression(C=float(C), max_iter=int(max_iter), random_state=seed)
        )

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; validation loss and accuracy named as the networks log them."""
        values, lengths, labels = load_split(dataset_dir, "train")
        if len(np.unique(labels)) < 2:
            raise UserError("model=summary_lr needs training sequences of at least two classes")
        self.model.fit(summary_statistics(values, lengths), labels)
        values, lengths, labels = load_split(dataset_dir, "val")
        if not len(labels):
            return {}
        from sklearn.metrics import log_loss

        probabilities = self.probabilities(values, lengths)
        classes = list(range(len(self.meta["classes"])))
        loss = float(log_loss(labels, probabilities, labels=classes))
        return {"val_loss": loss, "val_acc": float(np.mean(probabilities.argmax(1) == labels))}

    def probabilities(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(N, classes): every class of the dataset, zero for one that had no training sequence."""
        found = self.model.predict_proba(summary_statistics(values, lengths))
        full = np.zeros((len(found), len(self.meta["classes"])))
        full[:, self.model.classes_] = found
        return full

    def predict(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.probabilities(values, lengths).argmax(1)

    def outputs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's answers under the ONNX output name: "logits" whose softmax is the class probabilities (the
        decision function; [0, s] for two classes), -inf for a class that had no training sequence."""
        scores = self.model.decision_function(summary_statistics(feeds["sequence"], feeds["lengths"]))
        if scores.ndim == 1:
            scores = np.stack([np.zeros_like(scores), scores], axis=1)
        logits = np.full((len(scores), len(self.meta["classes"])), -np.inf)
        logits[:, self.model.classes_] = scores
        return {"logits": logits.astype(np.float32)}

    def save(self, path: Path) -> None:
        import skops.io

        skops.io.dump({"aiaas": self.meta, "model": self.model}, Path(path))

    def convert(self, path: Path, opset: int) -> None:
        """Write model.onnx: the summary step, then the scaler and logistic regression, then log."""
        import onnx
        from onnx import compose, helper, numpy_helper

        if len(self.model.classes_) != len(self.meta["classes"]):
            raise UserError("model=summary_lr saw only some classes in training: it cannot be exported",
                            "give every class training sequences")  # fmt: skip
        summary, classifier = _summary_graph(len(self.meta["features"]), opset), self._classifier_graph(opset)
        ir = min(summary.ir_version, classifier.ir_version)
        summary.ir_version = classifier.ir_version = ir
        merged = compose.merge_models(summary, classifier, io_map=[(FEATURES, FEATURES)], outputs=[SCORES])
        graph, classes = merged.graph, len(self.meta["classes"])
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
        onnx.checker.check_model(merged)
        onnx.save(merged, str(path))

    def _classifier_graph(self, opset: int) -> Any:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        width = 8 * len(self.meta["features"]) + 1
        options = {id(self.model.steps[-1][1]): {"zipmap": False, "raw_scores": True}}  # decision function
        return convert_sklearn(self.model, initial_types=[(FEATURES, FloatTensorType([None, width]))],
                               options=options, target_opset={"": opset, "ai.onnx.ml": ML_OPSET})  # fmt: skip


def _summary_graph(features: int, opset: int) -> Any:
    """The summary step as ONNX, float32, batch and time axes symbolic."""
    import onnx
    import torch

    from aiaas_recipes.sequence.classify.summary import SummaryStatistics

    example = (torch.randn(2, 5, features), torch.tensor([5, 2]))
    buffer = io.BytesIO()
    torch.onnx.export(SummaryStatistics(), example, buffer, input_names=["sequence", "lengths"],
                      output_names=[FEATURES], opset_version=opset, dynamo=False,
                      dynamic_axes={"sequence": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                                    FEATURES: {0: "batch"}})  # fmt: skip
    return onnx.load_from_string(buffer.getvalue())


def is_summary_lr(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == TARGET


def load(path: Path) -> tuple[SummaryLR, dict]:
    """A saved summary_lr, read with skops trusting scikit-learn's default types only (no pickled code)."""
    from aiaas_recipes.common.skops_file import read

    saved = read(path)
    estimator = SummaryLR.__new__(SummaryLR)
    estimator.meta, estimator.model = saved["aiaas"], saved["model"]
    return estimator, estimator.meta
