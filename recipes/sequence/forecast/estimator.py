"""A statistical forecaster as the train stage sees it (an `Estimator`, no Lightning).

Fitted per target on the training part of the series (`statistical.py`), scored on every origin of the validation
part (rolling origin, as `evaluate` scores it), saved as plain JSON (the parameters and the window map; no pickle),
and exported as one ONNX graph: the window map on the scaled context the serving adapter already feeds the network.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.sequence.forecast import statistical, windows
from aiaas_recipes.sequence.forecast.scores import mase

TARGET = "aiaas_recipes.sequence.forecast.estimator.StatisticalForecaster"


def is_statistical(model_cfg: Any) -> bool:
    """Whether a `model` config names a statistical forecaster (conf/model/{ets,theta,arima,...}.yaml)."""
    return str(model_cfg.get("_target_", "")) == TARGET


class StatisticalForecaster:
    """One statistical method fitted to each target; forecasts are ``weights @ window + bias`` per target."""

    def __init__(self, method: str, meta: dict | None = None, **options: Any):
        if method not in statistical.METHODS:
            raise ConfigError(f"model.method={method} is not one of {', '.join(statistical.METHODS)}")
        self.method, self.options, self.meta = method, options, dict(meta or {})
        self.params: list[dict] = []
        self.weights = np.zeros((0, 0, 0))  # (targets, horizon, context_length)
        self.bias = np.zeros((0, 0))  # (targets, horizon)
        self.fit_seconds = 0.0

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(targets, horizon, context_length)."""
        return len(self.meta["targets"]), int(self.meta["horizon"]), int(self.meta["context_length"])

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Fit each target on the training part; the validation windows' scores (val_loss: scaled MAE, as the
        network's)."""
        from aiaas_cli import console

        started = time.perf_counter()
        series = np.load(Path(dataset_dir) / "series.npy")
        train = series[: int(manifest["boundaries"]["val_start"])].astype(np.float64)
        targets, horizon, context = self.sizes
        season = int(manifest["season"])
        maps = []
        for k, name in enumerate(manifest["targets"]):
            try:
                params = statistical.fit(self.method, train[:, k], season, context, self.options)
                maps.append(statistical.operator(self.method, params, context, horizon, season))
            except Exception as exc:  # statsforecast raises many types for a series it cannot fit (too short...)
                raise UserError(f"{name}: {self.method} cannot be fitted: {str(exc).strip().splitlines()[0][:200]}",
                                "try another model= (seasonal_naive, drift, ets, ...)") from None  # fmt: skip
            self.params.append(params)
            console.step(f"{name}: {statistical.describe(self.method, params)}")
        self.weights = np.stack([weights for weights, _ in maps])
        self.bias = np.stack([bias for _, bias in maps])
        self.fit_seconds = round(time.perf_counter() - started, 3)
        return self.validation_scores(series, np.load(Path(dataset_dir) / "val_origins.npy"), manifest)

    def validation_scores(self, series: np.ndarray, origins: np.ndarray, manifest: dict) -> dict[str, float]:
        if not len(origins):
            return {}
        _, horizon, context = self.sizes
        actual = windows.cut(series, origins, context, horizon)[1][..., : len(manifest["targets"])]
        predicted = self.forecast(series, origins)
        scale = np.asarray(manifest["scale"][: len(manifest["targets"])])
        loss = float(np.abs((predicted - actual) / scale).mean())
        return {"val_loss": loss, "val_mase": mase(predicted, actual, manifest["mase_scale"])}

    def forecast(self, series: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(windows, horizon, targets) in the series' units, from the context before each origin."""
        targets, _, context = self.sizes
        past, _ = windows.cut(series, origins, context, 1)
        history = np.asarray(past[..., :targets], np.float64)
        return np.einsum("nlt,thl->nht", history, self.weights) + self.bias.T[None]

    def forecast_scaled(self, context: np.ndarray) -> np.ndarray:
        """The map on scaled context windows (N, context_length, features), as the exported graph computes it."""
        targets = self.sizes[0]
        scale = np.asarray(self.meta["scale"][:targets], np.float64)
        history = np.asarray(context[..., :targets], np.float64)
        return (np.einsum("nlt,thl->nht", history, self.weights) + (self.bias / scale[:, None]).T[None]).astype(
            np.float32
        )

    def reference(self, context: np.ndarray) -> np.ndarray:
        """statsforecast's own forecasts for scaled context windows (N, context_length, features), on their scale.
        Every method shifts with its window, so a scaled window is forecast as the window ``context * scale``."""
        targets, horizon, _ = self.sizes
        scale = np.asarray(self.meta["scale"][:targets], np.float64)
        season = int(self.meta["season"])
        out = np.empty((len(context), horizon, targets), np.float64)
        for k, params in enumerate(self.params):
            for i, window in enumerate(np.asarray(context[..., k], np.float64) * scale[k]):
                out[i, :, k] = statistical.window_forecast(self.method, params, window, horizon, season) / scale[k]
        return out

    def write_onnx(self, path: Path, opset: int) -> None:
        """The window map as an ONNX graph on the scaled context (`linear_graph.py`)."""
        from aiaas_recipes.sequence.forecast.linear_graph import write

        scale = np.asarray(self.meta["scale"][: self.sizes[0]], np.float64)
        features = len(self.meta["targets"]) + len(self.meta["covariates"])
        write(path, self.weights, self.bias / scale[:, None], features, opset, doc=self.title())

    def title(self) -> str:
        return "; ".join(statistical.describe(self.method, params) for params in self.params)

    def save(self, path: Path) -> None:
        body = {"aiaas": self.meta, "method": self.method, "options": self.options, "params": self.params}
        body.update(weights=self.weights.tolist(), bias=self.bias.tolist(), fit_seconds=self.fit_seconds)
        Path(path).write_text(json.dumps(body))

    @classmethod
    def load(cls, path: Path) -> StatisticalForecaster:
        try:
            body = json.loads(Path(path).read_text())
            model = cls(body["method"], body["aiaas"], **body["options"])
            model.params, model.fit_seconds = body["params"], float(body.get("fit_seconds", 0.0))
            model.weights, model.bias = np.asarray(body["weights"]), np.asarray(body["bias"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"cannot load statistical model {path}: {exc}") from None
        return model
