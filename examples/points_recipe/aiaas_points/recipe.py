"""The points recipe: what the aiaas registry sees. Light at import time (no torch): heavy parts load on use.

The classification base supplies metrics (accuracy, macro-F1), parity by top-1 agreement, checkpoint
loading and plots; this file says what is particular to the task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.recipe import ClassificationRecipe

SPLITS = {"train": 0.7, "val": 0.15, "test": 0.15}


class Points(ClassificationRecipe):
    name = "points"
    description = "2-D points into clusters (the example third-party recipe)"
    config_name = "points"
    serving_module = "aiaas_points.serving"
    input_names = ("x",)

    @property
    def config_dir(self) -> Path:
        return Path(__file__).parent / "conf"

    def fingerprint(self, cfg: Any) -> str:
        return f"n{cfg.data.n}-k{cfg.data.clusters}-s{cfg.seed}"

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        """Gaussian clusters around points on a circle, split at random."""
        rng = np.random.default_rng(cfg.seed)
        k, n = int(cfg.data.clusters), int(cfg.data.n)
        centres = np.stack([np.cos(np.arange(k) * 2 * np.pi / k), np.sin(np.arange(k) * 2 * np.pi / k)], 1) * 3
        y = rng.integers(0, k, n)
        x = (centres[y] + rng.normal(0, 0.7, (n, 2))).astype(np.float32)
        cuts = np.cumsum([int(n * share) for share in SPLITS.values()])[:-1]
        splits = {}
        for split, idx in zip(SPLITS, np.split(rng.permutation(n), cuts)):
            np.save(out_dir / f"{split}_x.npy", x[idx])
            np.save(out_dir / f"{split}_y.npy", y[idx].astype(np.int64))
            splits[split] = len(idx)
        return {"classes": [f"cluster{i}" for i in range(k)], "splits": splits}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_points.model import PointsData

        return PointsData(dataset_dir, int(cfg.data.batch_size), int(cfg.seed))

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_recipes.common.module import Classifier, optimizers_from

        meta = {"recipe": self.name, "classes": manifest["classes"], "model": OmegaConf.to_container(cfg.model)}
        net = self.build_network(cfg.model, meta)
        return Classifier(net, *optimizers_from(cfg), float(cfg.loss.label_smoothing), meta)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        import torch

        from aiaas_points.model import load
        from aiaas_recipes.common.classification import classification_report

        x, y = load(dataset_dir, split)
        with torch.inference_mode():
            predicted = network(torch.from_numpy(x)).argmax(-1).numpy()
        return classification_report(y, predicted, manifest["classes"])

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        import torch

        return ExportSpec(
            example_inputs=(torch.zeros(2, 2),),
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
            metadata={"labels": list(meta["classes"])},
        )

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_points.model import load

        x, y = load(dataset_dir, split)
        return {"x": x[:limit]}, y[:limit]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        x = np.load(dataset_dir / "test_x.npy")[:limit]
        return [(f"test:{i}", [float(a), float(b)]) for i, (a, b) in enumerate(x)]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        return ["data.n=120", "trainer.max_epochs=1"]


recipe = Points()
