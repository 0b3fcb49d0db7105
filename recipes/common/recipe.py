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
