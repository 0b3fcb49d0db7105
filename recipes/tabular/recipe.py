"""The tabular-cls and tabular-reg recipes: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity, Recipe

_FINGERPRINT_VERSION = 1  # bump when the dataset dir's layout or content changes
BOOSTING = "aiaas_recipes.tabular.boosting.HistGradientBoosting"
TRAINING_ONLY = ("batch_size",)  # data settings that do not change the dataset dir


def is_boosting(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == BOOSTING


class TabularRecipe(Recipe):
    """Shared by classification and regression; ``task`` says which."""

    task = ""
    serving_module = "aiaas_recipes.tabular.serving"
    models = ("mlp", "hist_gb")
    auto_candidates = ("hist_gb", "mlp")  # model=auto: cheapest first

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.common.data.fingerprint import input_table

        input_table(cfg.data)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest, input_table

        builtin = f"builtin:{cfg.data.builtin}:sklearn {metadata.version('scikit-learn')}"
        inputs = files_digest(input_table(cfg.data), none=builtin)
        settings = data_settings(cfg.data, TRAINING_ONLY)
        return digest({"task": self.task, "settings": settings, "input": inputs, "v": _FINGERPRINT_VERSION})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.tabular import dataset

        return dataset.build(self.task, cfg.data, out_dir)

    def dataset_summary(self, manifest: dict) -> dict:
        from aiaas_recipes.tabular.overview import summary

        return summary(manifest)

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.tabular.training import TableDataModule

        return TableDataModule(dataset_dir, cfg.data, cfg.seed)

    def meta(self, cfg: Any, manifest: dict, dataset_dir: Path) -> dict:
        """What a checkpoint carries so later stages need no config: the fitted schema, classes, sizes."""
        from omegaconf import OmegaConf

        from aiaas_recipes.tabular.dataset import read_schema

        meta = {
            "recipe": self.name,
            "task": self.task,
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            "schema": read_schema(dataset_dir),
            "inputs": manifest["inputs"],
            "target": manifest["target"],
        }
        key = "classes" if self.task == "classification" else "target_stats"
        return {**meta, key: manifest[key]}

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_cli.config import instantiate

        meta = self.meta(cfg, manifest, dataset_dir)
        # _partial_: the sizes and the metadata are passed as plain Python values, not turned into config nodes
        factory = instantiate(cfg.model, _partial_=True)
        if is_boosting(cfg.model):
            return factory(task=self.task, meta=meta, seed=int(cfg.seed))
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.tabular.training import TabularModule

        return TabularModule(factory(**self.network_sizes(meta)), *optimizers_from(cfg), meta)

    def network_sizes(self, meta: dict) -> dict[str, Any]:
        """The MLP's arguments that come from the data: fitted numeric statistics, category counts, outputs."""
        from aiaas_recipes.tabular.encode import RESERVED

        features = [f for c in meta["schema"]["columns"] if c["kind"] != "categorical" for f in c["features"]]
        sizes = {
            "numeric": {key: [f[key] for f in features] for key in ("fill", "mean", "std", "indicator")},
            "cardinalities": [
                RESERVED + len(c["vocabulary"]) for c in meta["schema"]["columns"] if c["kind"] == "categorical"
            ],
        }
        if self.task == "classification":
            return {**sizes, "outputs": len(meta["classes"])}
        stats = meta["target_stats"]
        return {**sizes, "outputs": 1, "target_mean": stats["mean"], "target_std": stats["std"]}

    def checkpoint_suffix(self, cfg: Any) -> str:
        return ".skops" if is_boosting(cfg.model) else ".ckpt"

    def load_model(self, path: Path) -> tuple[Any, dict]:
        from aiaas_cli.errors import ConfigError

        if Path(path).suffix == ".skops":
            from aiaas_recipes.tabular import boosting

            network, meta = boosting.load(path)
        else:
            network, meta = self._load_checkpoint(Path(path))
        if meta.get("recipe") != self.name:
            raise ConfigError(f"model {path} is from recipe '{meta.get('recipe')}', not '{self.name}'")
        return network, meta

    def _load_checkpoint(self, path: Path) -> tuple[Any, dict]:
        from aiaas_cli.config import instantiate
        from aiaas_cli.errors import UserError
        from aiaas_recipes.common.torch_recipe import read_checkpoint
        from aiaas_recipes.tabular.model import Exportable

        checkpoint = read_checkpoint(path)
        if not isinstance(checkpoint, dict) or "aiaas" not in checkpoint:
            raise UserError(f"cannot load checkpoint {path}: it is not an aiaas checkpoint")
        meta = checkpoint["aiaas"]
        net = instantiate(meta["model"], _partial_=True)(**self.network_sizes(meta))
        state = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        net.load_state_dict(state)
        return Exportable(net).eval(), meta

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.tabular.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        from aiaas_recipes.tabular import render

        return render.tables(report)

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.tabular import render

        return render.plots(report, out_dir)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.tabular import export

        return export.export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.tabular import export

        return export.samples(dataset_dir, split, limit)

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        from aiaas_recipes.tabular import export

        return export.reference_outputs(network, inputs)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.tabular import export

        return export.compare(expected, actual, export_cfg, self.task == "regression")

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        import numpy as np

        if self.task == "classification":
            return float(np.mean(np.asarray(outputs["probabilities"]).argmax(-1) == np.asarray(targets)))
        from sklearn.metrics import r2_score

        return float(r2_score(np.asarray(targets), np.asarray(outputs["value"]).reshape(-1)))

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.tabular.dataset import read_records

        return [(row["where"], row["record"]) for row in read_records(dataset_dir)[:limit]]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.tabular.smoke import mixed_table

        path = mixed_table(Path(workdir) / "table.csv", self.task)
        return [f"data.path={path}", "data.target=target", "model.widths=[8]", "data.batch_size=16"]


class TabularClassification(TabularRecipe):
    name = "tabular-cls"
    description = "Classification of table rows, CSV/TSV/Parquet (built-in: wine, breast_cancer, digits)"
    config_name = "tabular-cls"
    task = "classification"
    metrics = Metrics(
        names=("accuracy", "macro_f1", "roc_auc", "log_loss"), headline="accuracy", details=("per_class",)
    )


class TabularRegression(TabularRecipe):
    name = "tabular-reg"
    description = "Regression on table rows, CSV/TSV/Parquet (built-in: diabetes)"
    config_name = "tabular-reg"
    task = "regression"
    metrics = Metrics(names=("rmse", "mae", "r2"), headline="r2", details=("residual_quantiles",))


classification = TabularClassification()
regression = TabularRegression()
