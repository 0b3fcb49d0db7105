"""What every classification recipe does alike: metrics, parity by top-1 agreement, tables and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe


class ClassificationRecipe(TorchRecipe):
    """A TorchRecipe whose LightningModule is `aiaas_recipes.common.module.Classifier` around ``net``."""

    metrics = Metrics(names=("accuracy", "macro_f1"), headline="accuracy", details=("per_class",))
    output_names = ("logits",)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from aiaas_cli.config import instantiate

        return instantiate(model_cfg, num_classes=len(meta["classes"]))

    def dataset_summary(self, manifest: dict) -> dict:
        return {"classes": manifest["classes"]}

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """The share of rows with the same top-1 class and probabilities within export.score_tolerance."""
        from aiaas_recipes.common.parity import top1

        return top1(expected["logits"], actual["logits"], float(export_cfg.score_tolerance))

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.common.classification import accuracy

        return accuracy(outputs["logits"], targets)

    def report_tables(self, report: dict) -> list[Any]:
        from aiaas_recipes.common.classification import per_class_table

        return [per_class_table(report)]

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.common.classification import plot_confusion

        path = out_dir / "confusion_matrix.png"
        plot_confusion(report, path)
        return [path]


class StatisticsLRModels:
    """The hooks of a recipe whose `statistics_lr` model (recipes/common/summary_lr.py) trains itself and is saved with
    skops beside Lightning networks. Mixed in before the recipe's base; ``statistics_lr`` is its class's import path,
    which is also the model config's ``_target_``."""

    statistics_lr = ""

    def _statistics_lr_class(self) -> type:
        from importlib import import_module

        module, name = self.statistics_lr.rsplit(".", 1)
        return getattr(import_module(module), name)

    def checkpoint_suffix(self, cfg: Any) -> str:
        return ".skops" if cfg.model.get("_target_") == self.statistics_lr else ".ckpt"

    def load_model(self, path: Path) -> tuple[Any, dict]:
        """A network's Lightning checkpoint, or the statistics model saved with skops (.skops)."""
        if Path(path).suffix != ".skops":
            return super().load_model(path)
        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.common.summary_lr import load

        estimator, meta = load(self._statistics_lr_class(), path)
        if meta.get("recipe") != self.name:
            raise ConfigError(f"model {path} is from recipe '{meta.get('recipe')}', not '{self.name}'")
        return estimator, meta

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        if isinstance(network, self._statistics_lr_class()):
            return network.outputs(inputs)
        return super().reference_outputs(network, inputs)
