"""The forecast recipe: the next values of a series from its recent history. Light at import time.

Built-in data: the Mauna Loa weekly CO2 record shipped inside statsmodels (see `series.py` for the credit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

LOSS_NAMES = ("mae", "mse", "huber")  # training.LOSSES, named here so that checking them imports no torch

_FINGERPRINT_VERSION = 2  # bump when the dataset dir's layout or content changes
META_KEYS = ("targets", "covariates", "context_length", "horizon", "scale", "season", "frequency", "mase_scale")


HISTORY = "history"  # a statistical model's input: its longer window


def _history_length(manifest: dict) -> int:
    """Steps a statistical model reads (a dataset built before they read more: context_length)."""
    return int(manifest.get("history_length") or manifest["context_length"])


def _statistical(model_cfg: Any) -> bool:
    from aiaas_recipes.sequence.forecast.estimator import is_statistical

    return is_statistical(model_cfg)


class Forecast(TorchRecipe):
    name = "forecast"
    description = "Forecast the next values of a series from CSV/TSV/Parquet (built-in: Mauna Loa CO2, statsmodels)"
    config_name = "forecast"
    serving_module = "aiaas_recipes.sequence.forecast.serving"
    models = ("forecast_lstm", "ets", "theta", "arima", "seasonal_naive", "drift", "combo")
    auto_candidates = ("seasonal_naive", "drift", "ets", "theta", "arima", "combo", "forecast_lstm")  # cheapest first
    metrics = Metrics(
        names=("mae", "rmse", "smape", "mase"),
        headline="mase",
        higher_is_better=False,
        bounded=False,
        details=("baselines", "per_target", "mae_by_step"),
    )
    input_names = ("context",)
    output_names = ("forecast",)

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.common.choices import check_cell, check_choice

        check_choice("loss.kind", cfg.loss.kind, LOSS_NAMES)
        check_cell(cfg.model)
        if _statistical(cfg.model):
            from aiaas_recipes.sequence.forecast.statistical import METHODS

            check_choice("model.method", cfg.model.method, METHODS)

    def fingerprint(self, cfg: Any) -> str:
        from importlib import metadata

        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest, input_table
        from aiaas_recipes.sequence.forecast.dataset import check_settings

        check_settings(cfg)
        settings = data_settings(cfg.data, ("batch_size",))  # a training setting: the same dataset serves them all
        builtin = f"builtin:{cfg.data.builtin}:statsmodels {metadata.version('statsmodels')}"
        blob = {"settings": settings, "horizon": cfg.horizon, "context": cfg.context_length, "v": _FINGERPRINT_VERSION}
        return digest({**blob, "input": files_digest(input_table(cfg.data), none=builtin)})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.sequence.forecast import dataset

        return dataset.build(cfg, out_dir)

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("targets", "covariates", "frequency", "season", "horizon", "context_length", "history_length", "steps",
                "time_range",
                "test_from", "gaps")  # fmt: skip
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.sequence.forecast.training import WindowData

        return WindowData(dataset_dir, manifest, cfg.data.batch_size, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from aiaas_cli.config import instantiate

        targets = len(meta["targets"])
        sizes = {"features": targets + len(meta["covariates"]), "targets": targets}
        sizes.update(horizon=int(meta["horizon"]), context_length=int(meta["context_length"]))
        return instantiate(model_cfg, _partial_=True)(**sizes)

    def checkpoint_suffix(self, cfg: Any) -> str:
        return ".json" if _statistical(cfg.model) else ".ckpt"

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        if _statistical(cfg.model):  # fitted per series by statsforecast: trains itself (an Estimator)
            from aiaas_recipes.sequence.forecast.estimator import StatisticalForecaster

            options = OmegaConf.to_container(cfg.model, resolve=True)
            meta = {"recipe": self.name, "model": dict(options), **{key: manifest[key] for key in META_KEYS}}
            meta["context_length"] = _history_length(manifest)  # the window it re-reads: longer than the network's
            options = {k: v for k, v in options.items() if k not in ("_target_", "init_from")}
            return StatisticalForecaster(meta=meta, **options)

        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.sequence.forecast.training import Forecaster

        meta = {"recipe": self.name, "model": OmegaConf.to_container(cfg.model, resolve=True)}
        meta.update({key: manifest[key] for key in META_KEYS})
        optimizer, scheduler = optimizers_from(cfg)
        net = self.build_network(cfg.model, meta)
        return Forecaster(net, optimizer, scheduler, str(cfg.loss.kind), meta)

    def load_model(self, path: Path) -> tuple[Any, dict]:
        if Path(path).suffix == ".json":  # a statistical forecaster: its parameters, as plain JSON
            from aiaas_recipes.sequence.forecast.estimator import StatisticalForecaster

            model = StatisticalForecaster.load(path)
            if model.meta.get("recipe") != self.name:
                raise ConfigError(f"model {path} is from recipe '{model.meta.get('recipe')}', not '{self.name}'")
            return model, model.meta
        return super().load_model(path)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        """Rolling-origin scores on ``split`` (every origin of the val part; every data.eval_stride-th of test)."""
        from aiaas_recipes.sequence.forecast.evaluation import evaluate_split, network_forecast

        if hasattr(network, "forecaster"):  # a statistical forecaster: val from its train-only fit, test its refit
            report = evaluate_split(network.forecaster(split), dataset_dir, manifest, split)
            return network.with_backtest(report, manifest) if split == "val" else report
        return evaluate_split(lambda s, o: network_forecast(network, s, o, manifest), dataset_dir, manifest, split)

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.sequence.forecast import plots

        paths = [out_dir / "forecast_vs_actual.png", out_dir / "error_by_step.png"]
        plots.forecast_vs_actual(report, paths[0])
        plots.error_by_step(report, paths[1])
        return paths

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        if hasattr(network, "write_onnx"):  # a statistical forecaster: its window map as a linear graph
            metadata = {**{key: meta[key] for key in META_KEYS}, "model": f"{network.method}: {network.title()}"}
            metadata.update(input=HISTORY, fit_steps=meta.get("fit_steps"))  # its window, fed as "history"
            return ExportSpec((), [HISTORY], ["forecast"], {HISTORY: {0: "batch"}, "forecast": {0: "batch"}},
                              metadata, convert=network.write_onnx)  # fmt: skip
        import torch

        features = len(meta["targets"]) + len(meta["covariates"])
        example = torch.randn(2, int(meta["context_length"]), features, generator=torch.Generator().manual_seed(0))
        return ExportSpec(
            example_inputs=(example,),
            input_names=["context"],
            output_names=["forecast"],
            dynamic_axes={"context": {0: "batch"}, "forecast": {0: "batch"}},  # the context length is fixed
            metadata={**{key: meta[key] for key in META_KEYS}, "model": meta.get("model", {}).get("_target_")},
        )

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        """Scaled windows ("context" for a network, the longer "history" for a statistical model: each graph takes
        its own feed) and, as targets, their scaled futures with the MASE scale on the same scale."""
        from aiaas_recipes.sequence.forecast import windows

        series, origins = windows.load(dataset_dir, split)
        x, y, _ = windows.scaled(series, origins[:limit], manifest)
        longer, _, _ = windows.scaled(
            series, origins[:limit], {**manifest, "context_length": _history_length(manifest)}
        )
        scale = np.asarray(manifest["mase_scale"]) / np.asarray(manifest["scale"][: len(manifest["targets"])])
        return {"context": x, HISTORY: longer}, {"future": y, "mase_scale": scale}

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        """The trained model's forecasts of the scaled windows; for a statistical one, statsforecast's recursions
        run again on each window (not the fitted map), so parity checks the map too."""
        if hasattr(network, "reference"):
            return {"forecast": network.reference(inputs[HISTORY]).astype(np.float32)}
        return super().reference_outputs(network, inputs)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """The share of windows whose scaled forecasts are all within export.tolerance (relative to max(1, |v|))."""
        from aiaas_recipes.common.parity import within

        return within(expected["forecast"], actual["forecast"], float(export_cfg.tolerance), "forecast")

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.sequence.forecast.scores import mase

        return mase(outputs["forecast"], targets["future"], targets["mase_scale"])

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.sequence.forecast import windows

        series, origins = windows.load(dataset_dir, "test")
        times = np.load(Path(dataset_dir) / "times.npy")
        past, _ = windows.cut(series, origins[-limit:], _history_length(manifest), 1)  # enough for either model
        targets = len(manifest["targets"])
        samples = []
        for origin, window in zip(origins[-limit:], past):
            history = window[:, 0].tolist() if targets == 1 else window[:, :targets].tolist()
            payload = {"history": history}
            if manifest["covariates"]:
                payload["covariates"] = window[:, targets:].tolist()
            samples.append((f"history before {str(times[origin])[:10]}", payload))
        return samples

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.sequence.forecast.smoke import seasonal_table

        path = seasonal_table(Path(workdir) / "series.csv")
        return [f"data.path={path}", "horizon=4", "context_length=16", "model.hidden=8", "data.batch_size=16"]
