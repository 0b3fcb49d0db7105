"""A statistical forecaster as the train stage sees it (an `Estimator`, no Lightning).

Fitted per target on the training part of the series (`statistical.py`), scored on every origin of the validation
part (rolling origin, as `evaluate` scores it; a short val part pooled with backtest windows at the end of train),
saved as plain JSON (the parameters and the window map; no pickle),
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

TARGET = "aiaas_recipes.sequence.forecast.estimator.StatisticalForecaster"
BACKTEST_BELOW = 100  # a val part with fewer origins than this is short: backtest windows at the end of train join it


def is_statistical(model_cfg: Any) -> bool:
    """Whether a `model` config names a statistical forecaster (conf/model/{ets,theta,arima,...}.yaml)."""
    return str(model_cfg.get("_target_", "")) == TARGET


class StatisticalForecaster:
    """One statistical method fitted to each target; forecasts are ``weights @ window + bias`` per target."""

    def __init__(self, method: str, meta: dict | None = None, **options: Any):
        if method not in statistical.METHODS:
            raise ConfigError(f"model.method={method} is not one of {', '.join(statistical.METHODS)}")
        combinable = set(statistical.METHODS) - {"combo"}
        unknown = set(statistical.members(options)) - combinable if method == "combo" else set()
        if unknown:
            raise ConfigError(f"model.members has {', '.join(sorted(unknown))}: not a statistical method to combine")
        self.method, self.options, self.meta = method, options, dict(meta or {})
        self.params: list[dict] = []
        self.weights = np.zeros((0, 0, 0))  # (targets, horizon, context_length)
        self.bias = np.zeros((0, 0))  # (targets, horizon)
        self.validation: dict = {}  # the train-only fit's params, weights and bias: what the val split is scored on
        self.backtest: dict = {"windows": 0, "mae": []}  # extra honest windows at the end of train (short series)
        self.fit_seconds = 0.0

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(targets, horizon, context_length)."""
        return len(self.meta["targets"]), int(self.meta["horizon"]), int(self.meta["context_length"])

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Fit each target on the training part and score that fit on the validation windows (val_loss: scaled MAE,
        as the network's): an honest ranking. Then the same model form is fitted again on train+val (AutoGluon's
        refit_full): the map kept for test, export and serving. The train-only map stays, for the val split."""
        from aiaas_cli import console

        started = time.perf_counter()
        series = np.load(Path(dataset_dir) / "series.npy")
        val_origins = np.load(Path(dataset_dir) / "val_origins.npy")
        val_start, test_start = (int(manifest["boundaries"][key]) for key in ("val_start", "test_start"))
        ranked, served, backtests = [], [], []
        for k, name in enumerate(manifest["targets"]):
            target = series[:, k].astype(np.float64)
            if len(val_origins) < BACKTEST_BELOW:
                backtests.append(self._backtested(target, val_start))
            params = self._fitted(name, statistical.fit, self.method, target[:val_start], *self._shape())
            ranked.append((params, *self._map(params)))
            kept = params
            if test_start > val_start and self.options.get("refit", True):  # a validation part to learn from too
                kept = self._fitted(name, statistical.refit, self.method, params, target[:test_start], self.options)
            served.append((kept, *self._map(kept)))
            fitted_on = test_start if kept is not params else val_start
            console.step(f"{name}: {statistical.describe(self.method, kept)} (fitted on {fitted_on} steps)")
        self.validation, kept_maps = _stacked(ranked), _stacked(served)
        self.params, self.weights, self.bias = kept_maps["params"], kept_maps["weights"], kept_maps["bias"]
        refitted = self.options.get("refit", True) and test_start > val_start
        self.meta["fit_steps"] = {"val": val_start, "test": test_start if refitted else val_start}  # steps fitted on
        if backtests and min(len(errors) for errors in backtests):
            self.backtest = {"windows": len(backtests[0]), "mae": [float(np.mean(e)) for e in backtests]}
        self.fit_seconds = round(time.perf_counter() - started, 3)
        return self.validation_scores(series, val_origins, manifest)

    def _shape(self) -> tuple[int, int, dict]:
        return int(self.meta["season"]), self.sizes[2], self.options

    def _map(self, params: dict) -> tuple[np.ndarray, np.ndarray]:
        _, horizon, context = self.sizes
        return statistical.operator(self.method, params, context, horizon, int(self.meta["season"]))

    def _fitted(self, name: str, fit: Any, *args: Any) -> dict:
        try:
            return fit(*args)
        except Exception as exc:  # statsforecast raises many types for a series it cannot fit (too short...)
            raise UserError(f"{name}: {self.method} cannot be fitted: {str(exc).strip().splitlines()[0][:200]}",
                            "try another model= (seasonal_naive, drift, ets, ...)") from None  # fmt: skip

    def _backtested(self, target: np.ndarray, val_start: int) -> list[float]:
        """Mean absolute errors of the windows at the last ``backtest`` horizons of train: fold j is fitted afresh
        (its form chosen again) on the steps before its ``horizon`` origins, so no window is scored by a fit that
        saw it. Each origin re-reads the served window's length of history (less near the start)."""
        _, horizon, context = self.sizes
        season, errors = int(self.meta["season"]), []
        for fold in range(1, int(self.options.get("backtest", 3)) + 1):
            cut = val_start - fold * horizon
            if cut < max(3 * horizon, 2 * season + 2):  # too little left to fit a seasonal model on
                break
            try:
                params = statistical.fit(self.method, target[:cut], season, context, self.options)
            except Exception:  # statsforecast cannot fit the shorter part: the folds before it are kept
                break
            for origin in range(cut, cut + horizon):
                window = target[max(0, origin - context) : origin]
                forecast = statistical.window_forecast(self.method, params, window, horizon, season)
                errors.append(float(np.abs(forecast - target[origin : origin + horizon]).mean()))
        return errors

    def validation_scores(self, series: np.ndarray, origins: np.ndarray, manifest: dict) -> dict[str, float]:
        if not len(origins):
            return {}
        _, horizon, context = self.sizes
        actual = windows.cut(series, origins, context, horizon)[1][..., : len(manifest["targets"])]
        predicted = self.forecaster("val")(series, origins)
        scale = np.asarray(manifest["scale"][: len(manifest["targets"])])
        loss = float(np.abs((predicted - actual) / scale).mean())
        val_mae = np.abs(predicted - actual).mean(axis=(0, 1))
        return {"val_loss": loss, "val_mase": self.pooled_mase(val_mae, len(origins), manifest["mase_scale"])}

    def pooled_mase(self, val_mae: Any, windows_scored: int, mase_scale: Any) -> float:
        """MASE over the val windows and the backtest windows together (each window weighs the same): the val
        part's own where there is no backtest."""
        count = self.backtest["windows"]
        pooled = np.asarray(val_mae, np.float64) * windows_scored + np.asarray(self.backtest["mae"] or 0.0) * count
        return float((pooled / (windows_scored + count) / np.asarray(mase_scale, np.float64)).mean())

    def with_backtest(self, report: dict, manifest: dict) -> dict:
        """The val split's report with its MASE pooled with the backtest windows' (what the candidates are ranked
        on); the val part's own MASE stays as ``mase_val_part``, comparable with a network's."""
        if not self.backtest["windows"]:
            return report
        val_mae = [report["per_target"][name]["mae"] for name in manifest["targets"]]
        pooled = self.pooled_mase(val_mae, int(report["windows"]), manifest["mase_scale"])
        return {**report, "mase": pooled, "mase_val_part": report["mase"], "backtest_windows": self.backtest["windows"]}

    def forecaster(self, split: str) -> Any:
        """``forecast(series, origins)`` for ``split``: the val split's from the train-only fit (the one ranked),
        every other split's from the refit on train+val (the one served)."""
        if split == "val" and self.validation:
            return lambda series, origins: self.forecast(series, origins, self.validation["weights"],
                                                         self.validation["bias"])  # fmt: skip
        return self.forecast

    def forecast(self, series: np.ndarray, origins: np.ndarray, weights: Any = None, bias: Any = None) -> np.ndarray:
        """(windows, horizon, targets) in the series' units, from the context before each origin."""
        weights, bias = (self.weights, self.bias) if weights is None else (weights, bias)
        targets, _, context = self.sizes
        past, _ = windows.cut(series, origins, context, 1)
        history = np.asarray(past[..., :targets], np.float64)
        return np.einsum("nlt,thl->nht", history, weights) + bias.T[None]

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
        write(path, self.weights, self.bias / scale[:, None], features, opset, doc=self.title(), name="history")

    def title(self) -> str:
        return "; ".join(statistical.describe(self.method, params) for params in self.params)

    def save(self, path: Path) -> None:
        body = {"aiaas": self.meta, "method": self.method, "options": self.options, "params": self.params}
        body.update(weights=self.weights.tolist(), bias=self.bias.tolist(), fit_seconds=self.fit_seconds)
        body["validation"] = {key: _listed(value) for key, value in self.validation.items()}
        body["backtest"] = self.backtest
        Path(path).write_text(json.dumps(body))

    @classmethod
    def load(cls, path: Path) -> StatisticalForecaster:
        try:
            body = json.loads(Path(path).read_text())
            model = cls(body["method"], body["aiaas"], **body["options"])
            model.params, model.fit_seconds = body["params"], float(body.get("fit_seconds", 0.0))
            model.weights, model.bias = np.asarray(body["weights"]), np.asarray(body["bias"])
            found = body.get("validation") or {}  # absent in a model saved before the refit
            model.validation = {k: v if k == "params" else np.asarray(v) for k, v in found.items()}
            model.backtest = body.get("backtest") or model.backtest
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"cannot load statistical model {path}: {exc}") from None
        return model


def _stacked(fits: list[tuple]) -> dict:
    """Per-target (params, weights, bias) as {"params": [...], "weights": (targets, h, l), "bias": (targets, h)}."""
    return {"params": [f[0] for f in fits], "weights": np.stack([f[1] for f in fits]),
            "bias": np.stack([f[2] for f in fits])}  # fmt: skip


def _listed(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value
