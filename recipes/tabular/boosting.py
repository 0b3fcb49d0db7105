"""model=hist_gb: scikit-learn's HistGradientBoosting as an `Estimator`, saved with skops, exported with skl2onnx.

It reads the same arrays as the MLP: raw numbers with NaN (the trees route missing values themselves) and
categorical indices, used as ordinal codes (skl2onnx cannot export native categorical splits).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import UserError
from aiaas_recipes.tabular.dataset import load_split
from aiaas_recipes.tabular.encode import CATEGORICAL, NUMERIC

# skops refuses to load any other type that its defaults do not trust: no pickled code is ever run
TRUSTED = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)
FEATURES = "features"  # skl2onnx's single input, fed from the two model inputs inside the graph
SMALL = 20_000  # rows: below this, one OpenMP thread is faster (measured 3x on the 442-row diabetes table)


def threads_for(rows: int):
    """A context that limits OpenMP to one thread for small tables (the thread start-up costs more)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if rows < SMALL else None, user_api="openmp")


def features(numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    return np.concatenate([numeric, categorical.astype(np.float32)], axis=1).astype(np.float32)


def feeds_features(feeds: dict[str, np.ndarray]) -> np.ndarray:
    parts = [feeds[name].astype(np.float32) for name in (NUMERIC, CATEGORICAL) if name in feeds]
    return np.concatenate(parts, axis=1)


class HistGradientBoosting:
    """Trains itself (the train stage calls ``fit`` and ``save`` instead of Lightning)."""

    def __init__(self, task: str, meta: dict, seed: int = 0, **params: Any):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        params.pop("_target_", None)
        self.task, self.meta = task, meta
        kind = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
        self.model = kind(random_state=seed, **params)

    @property
    def regression(self) -> bool:
        return self.task != "classification"

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; validation metrics named as the MLP logs them."""
        numeric, categorical, y = load_split(dataset_dir, "train")
        with threads_for(len(y)):
            self.model.fit(features(numeric, categorical), y)
            numeric, categorical, y = load_split(dataset_dir, "val")
            return self.val_metrics(features(numeric, categorical), y) if len(y) else {}

    def val_metrics(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        if self.regression:
            mse = float(np.mean((self.model.predict(x) - y) ** 2))
            std = float(self.meta["target_stats"]["std"])
            return {"val_loss": mse / std**2, "val_rmse": mse**0.5}
        from sklearn.metrics import log_loss

        # every class has training rows (the split is stratified), so the columns are all the classes
        probabilities = self.model.predict_proba(x)
        labels = list(range(len(self.meta["classes"])))
        accuracy = float(np.mean(probabilities.argmax(1) == y))
        return {"val_loss": float(log_loss(y, probabilities, labels=labels)), "val_acc": accuracy}

    def save(self, path: Path) -> None:
        import skops.io

        skops.io.dump({"aiaas": self.meta, "model": self.model}, Path(path))

    def outputs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's answers under the ONNX output names."""
        x = feeds_features(feeds)
        with threads_for(len(x)):
            if self.regression:
                return {"value": self.model.predict(x).astype(np.float32).reshape(-1, 1)}
            return {"label": self.model.predict(x), "probabilities": self.model.predict_proba(x).astype(np.float32)}

    def output_names(self) -> list[str]:
        return ["value"] if self.regression else ["label", "probabilities"]

    def convert(self, path: Path, opset: int) -> None:
        """Write model.onnx: skl2onnx's tree ensemble behind the "numeric"/"categorical" inputs."""
        import onnx

        onnx.save(to_onnx(self.model, self.meta["inputs"], self.regression, opset), str(path))


def load(path: Path) -> tuple[HistGradientBoosting, dict]:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=Path(path))
        unexpected = sorted(set(untrusted) - set(TRUSTED))
        if unexpected:
            raise UserError(f"{path} holds types aiaas does not load: {', '.join(unexpected)}")
        saved = skops.io.load(Path(path), trusted=list(TRUSTED))
    except UserError:
        raise
    except Exception as exc:  # skops raises many types for a file that is not one of ours
        raise UserError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None
    meta = saved["aiaas"]
    estimator = HistGradientBoosting.__new__(HistGradientBoosting)
    estimator.task, estimator.meta, estimator.model = meta["task"], meta, saved["model"]
    return estimator, meta


@contextmanager
def _patched_tree_converter():
    """Two fixes to skl2onnx 1.20's HistGradientBoosting trees, applied while converting:
    - it stores a Python bool in an int list, which protobuf 6+ refuses ("Expected an int, got a boolean");
    - it rounds the float64 split thresholds to the nearest float32, which flips `x <= threshold` for an
      input just above a threshold that rounded up; skl2onnx's own `adjust_threshold_for_sklearn` rounds
      them down instead (as it does for other tree models), so ONNX splits exactly as scikit-learn does.
    """
    from skl2onnx.operator_converters import random_forest

    original = random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting

    def add_tree(attr_pairs, *args, **kwargs):
        args = list(args)
        if len(args) > 6:  # the positional adjust_threshold_for_sklearn of skl2onnx's calls
            args[6] = True
        else:
            kwargs["adjust_threshold_for_sklearn"] = True
        kwargs["dtype"] = np.float32
        original(attr_pairs, *args, **kwargs)
        flags = attr_pairs["nodes_missing_value_tracks_true"]
        flags[:] = [int(flag) for flag in flags]

    random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = add_tree
    try:
        yield
    finally:
        random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = original


def to_onnx(model: Any, inputs: dict[str, int], regression: bool, opset: int) -> Any:
    """The converted model with inputs "numeric" (float) and "categorical" (int64, cast to float inside)."""
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    width = inputs[NUMERIC] + inputs[CATEGORICAL]
    options = {} if regression else {id(model): {"zipmap": False}}
    with _patched_tree_converter():
        converted = convert_sklearn(
            model,
            initial_types=[(FEATURES, FloatTensorType([None, width]))],
            options=options,
            target_opset={"": int(opset), "ai.onnx.ml": 3},
        )
    graph = converted.graph
    del graph.input[:]
    concat = []
    if inputs[NUMERIC]:
        graph.input.append(helper.make_tensor_value_info(NUMERIC, TensorProto.FLOAT, ["batch", inputs[NUMERIC]]))
        concat.append(NUMERIC)
    if inputs[CATEGORICAL]:
        shape = ["batch", inputs[CATEGORICAL]]
        graph.input.append(helper.make_tensor_value_info(CATEGORICAL, TensorProto.INT64, shape))
        concat.append(f"{CATEGORICAL}_float")
    nodes = [helper.make_node("Concat", concat, [FEATURES], axis=1)]
    if inputs[CATEGORICAL]:
        nodes.insert(0, helper.make_node("Cast", [CATEGORICAL], [concat[-1]], to=TensorProto.FLOAT))
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    if regression:
        _rename_output(graph, graph.output[0].name, "value")
    _dedupe_opsets(converted)
    return converted


def _dedupe_opsets(model: Any) -> None:
    """skl2onnx lists the default domain twice; ONNX Runtime's tools (int8 quantization) refuse that."""
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        versions[opset.domain] = max(versions.get(opset.domain, 0), opset.version)
    del model.opset_import[:]
    for domain, version in versions.items():
        model.opset_import.add(domain=domain, version=version)


def _rename_output(graph: Any, old: str, new: str) -> None:
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
    for output in graph.output:
        if output.name == old:
            output.name = new
