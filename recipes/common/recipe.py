"""What every classification recipe does alike: rebuild the network from a checkpoint, plot, score outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import Recipe


class ClassificationRecipe(Recipe):
    """A Recipe whose LightningModule is `aiaas_recipes.common.module.Classifier` around ``net``."""

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        """The network from its config and the checkpoint's `aiaas` metadata (classes, sizes)."""
        from aiaas_cli.config import instantiate

        return instantiate(model_cfg, num_classes=len(meta["classes"]))

    def load_model(self, checkpoint: dict) -> Any:
        meta = checkpoint["aiaas"]
        net = self.build_network(meta["model"], meta)
        state = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        net.load_state_dict(state)
        return net.eval()

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.common.classification import plot_confusion

        path = out_dir / "confusion_matrix.png"
        plot_confusion(report, path)
        return [path]

    def score_outputs(self, outputs: Any, labels: Any) -> float:
        from aiaas_recipes.common.classification import accuracy

        return accuracy(outputs, labels)
