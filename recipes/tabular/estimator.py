"""What the tabular models that train themselves share (hist_gb, lightgbm, linear): an `Estimator` that reads the
split arrays, reports validation metrics as the MLP logs them, saves itself with skops, answers under the ONNX
output names, and writes model.onnx behind the "numeric"/"categorical" inputs the served model takes.

A subclass says how to build and fit its scikit-learn-style model (``build``, ``train``), which types skops may
load for it (``TRUSTED``), whether it wants missing-value indicator columns (``INDICATORS``) and how it converts
(``to_onnx``: a graph with one float input, FEATURES).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import UserError
from aiaas_recipes.tabular.dataset import load_split
from aiaas_recipes.tabular.encode import CATEGORICAL, NUMERIC

FEATURES = "features"  # the converted model's single input, fed from the two model inputs inside the graph
SMALL = 20_000  # rows: below this, one OpenMP thread is faster (measured 3x on the 442-row diabetes table)
OPSETS = {"": 15, "ai.onnx.ml": 3}  # onnxmltools' LightGBM converter works up to opset 15; one cap for all


def threads_for(rows: int):
    """A context that limits OpenMP to one thread for small tables (the thread start-up costs more)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if rows < SMALL else None, user_api="openmp")


def features(numeric: np.ndarray, categorical: np.ndarray, indicators: list[int] | None = None) -> np.ndarray:
    """One float32 matrix: the raw numbers, a 0/1 column per numeric feature in ``indicators`` (missing or not),
    then the category codes."""
    parts = [numeric.astype(np.float32)]
    if indicators:
        parts.append(np.isnan(numeric[:, indicators]).astype(np.float32))
    parts.append(categorical.astype(np.float32))
    return np.concatenate(parts, axis=1)


def indicator_columns(meta: dict) -> list[int]:
    """The numeric features that had missing values in training (the schema flags them)."""
    numeric = [f for c in meta["schema"]["columns"] if c["kind"] != "categorical" for f in c["features"]]
    return [i for i, f in enumerate(numeric) if f["indicator"]]


class TableEstimator:
    """Trains itself (the train stage calls ``fit`` and ``save`` instead of Lightning)."""

    TRUSTED: tuple[str, ...] = ()  # the types skops may load for this model beyond its defaults
    INDICATORS = False  # trees route NaN themselves; a linear model needs "was missing" as a column

    def __init__(self, task: str, meta: dict, seed: int = 0, **params: Any):
        params.pop("_target_", None)
        self.task, self.meta = task, meta
        self.model = self.build(params, int(seed))

    def build(self, params: dict[str, Any], seed: int) -> Any:
        raise NotImplementedError

    def train(self, x: np.ndarray, y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> None:
        """Fit ``self.model`` on the train rows (the val rows may pick a setting or stop early)."""
        self.model.fit(x, y)

    @property
    def regression(self) -> bool:
        return self.task != "classification"

    @property
    def indicators(self) -> list[int]:
        return indicator_columns(self.meta) if self.INDICATORS else []

    def split(self, dataset_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
        numeric, categorical, y = load_split(dataset_dir, name)
        return features(numeric, categorical, self.indicators), np.asarray(y)

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Train on the train split; validation metrics named as the MLP logs them."""
        x, y = self.split(dataset_dir, "train")
        val_x, val_y = self.split(dataset_dir, "val")
        with threads_for(len(y)):
            self.train(x, y, val_x, val_y)
            return self.val_metrics(val_x, val_y) if len(val_y) else {}

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
        width = self.meta["inputs"]
        numeric = feeds.get(NUMERIC, np.zeros((len(next(iter(feeds.values()))), 0), np.float32))
        categorical = feeds.get(CATEGORICAL, np.zeros((len(numeric), width[CATEGORICAL]), np.int64))
        x = features(numeric, categorical, self.indicators)
        with threads_for(len(x)):
            if self.regression:
                return {"value": np.asarray(self.model.predict(x), np.float32).reshape(-1, 1)}
            probabilities = np.asarray(self.model.predict_proba(x), np.float32)
            return {"label": probabilities.argmax(1).astype(np.int64), "probabilities": probabilities}

    def output_names(self) -> list[str]:
        return ["value"] if self.regression else ["label", "probabilities"]

    def to_onnx(self, width: int, opsets: dict[str, int]) -> Any:
        """The converted model: input FEATURES (float, ``width`` columns), outputs label + probabilities or one
        value output."""
        raise NotImplementedError

    def convert(self, path: Path, opset: int) -> None:
        """Write model.onnx: the converted model behind the "numeric"/"categorical" inputs."""
        import onnx

        from aiaas_recipes.tabular.estimator_onnx import wire_inputs

        inputs = self.meta["inputs"]
        width = inputs[NUMERIC] + len(self.indicators) + inputs[CATEGORICAL]
        converted = self.to_onnx(width, {**OPSETS, "": min(int(opset), OPSETS[""])})
        onnx.save(wire_inputs(converted, inputs, self.indicators, self.output_names()), str(path))


def estimator_classes() -> dict[str, type[TableEstimator]]:
    """Every estimator by its config `_target_` (imports are light: the libraries load on use)."""
    from aiaas_recipes.tabular.boosting import HistGradientBoosting
    from aiaas_recipes.tabular.lgbm import LightGBM
    from aiaas_recipes.tabular.linear import Linear

    return {f"{kind.__module__}.{kind.__name__}": kind for kind in (HistGradientBoosting, LightGBM, Linear)}


def load(path: Path) -> tuple[TableEstimator, dict]:
    """A saved estimator, read with skops trusting only the types our estimators are made of (no pickled code)."""
    from aiaas_recipes.common.skops_file import read

    kinds = estimator_classes()
    saved = read(path, {name for kind in kinds.values() for name in kind.TRUSTED})
    try:
        meta = saved["aiaas"]
        kind = kinds[meta["model"]["_target_"]]
    except (KeyError, TypeError) as exc:  # a skops file that is not one of ours
        raise UserError(f"cannot load model {path}: {exc}") from None
    estimator = kind.__new__(kind)
    estimator.task, estimator.meta, estimator.model = meta["task"], meta, saved["model"]
    return estimator, meta
