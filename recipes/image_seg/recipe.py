"""The image-seg recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.recipe_api import Metrics, Parity
from aiaas_recipes.common.vision.recipe import ImageRecipe

MODELS = ("unet_small", "lraspp_mobilenet_v3", "fpn_timm")


class ImageSegmentation(ImageRecipe):
    name = "image-seg"
    description = "Semantic segmentation from images/ + masks/ folders (built-in: shapes)"
    config_name = "image-seg"
    serving_module = "aiaas_recipes.image_seg.serving"
    models = MODELS
    metrics = Metrics(
        names=("miou", "pixel_accuracy", "dice"),
        headline="miou",
        monitor="val_miou",
        mode="max",
        details=("per_class",),
    )
    output_names = ("logits",)

    def builtin(self, name: str) -> Path:
        from aiaas_recipes.image_seg import shapes

        return shapes.materialize(name)

    def _check(self, cfg: Any) -> None:
        from aiaas_recipes.image_seg.dataset import check_settings

        check_settings(cfg.data, len(cfg.model.get("channels", [0])) - 1)
        self.check_weights(cfg)

    def fingerprint(self, cfg: Any) -> str:
        self._check(cfg)
        from aiaas_recipes.common.data.fingerprint import digest, files_digest

        root = self.data_root(cfg)
        inputs = [files_digest(root)]
        if root.suffix.lower() == ".json":  # COCO: the annotations and the image folder
            from aiaas_recipes.image_seg.coco import image_folder

            inputs.append(files_digest(image_folder(root, cfg.data.get("images"))))
        settings = {"size": cfg.data.image_size, "split": dict(cfg.data.split), "classes": list(cfg.data.classes or [])}
        return digest(
            {
                "root": str(root),
                "inputs": inputs,
                "settings": {**settings, **self.model_settings(cfg)},
                "images": cfg.data.get("images"),
                "v": 2,
            }
        )

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.image_seg import dataset

        self._check(cfg)
        return self.normalised_as_model(cfg, dataset.build(self.data_root(cfg), out_dir, cfg.data))

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.image_seg.datamodule import MaskDataModule

        return MaskDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict, offline: bool = False) -> Any:
        return self._build(model_cfg, meta, offline)[0]

    def _build(self, model_cfg: Any, meta: dict, offline: bool) -> tuple[Any, Any]:
        """The network, and for a timm encoder what timm_models built (its source, its pretrained parameters)."""
        from aiaas_cli.config import instantiate

        if model_cfg.get("kind") == "timm":
            from aiaas_recipes.image_seg.model import timm_segmenter

            return timm_segmenter(len(meta["classes"]), model_cfg, offline)
        return instantiate(model_cfg, num_classes=len(meta["classes"])), None

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.common.backbones.hub import is_offline
        from aiaas_recipes.common.backbones.timm_models import attach
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.image_seg.module import Segmenter

        self._check(cfg)
        meta = self.image_meta(manifest, cfg.model)
        optimizer, scheduler = optimizers_from(cfg)
        net, built = self._build(cfg.model, meta, is_offline(cfg))
        return attach(Segmenter(net, optimizer, scheduler, meta), built, "net.body.")

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.image_seg.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        from rich.table import Table

        table = Table(title="Evaluation per class (pixels)")
        for column in ("class", "IoU", "Dice", "pixels"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for name, row in report.get("per_class", {}).items():
            table.add_row(name, f"{row['iou']:.3f}", f"{row['dice']:.3f}", str(row["pixels"]))
        table.caption = f"mIoU {report['miou']:.4f}   pixel accuracy {report['pixel_accuracy']:.4f}"
        return [table]

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.image_seg.plots import write_confusion, write_overlays

        paths = [out_dir / "confusion_matrix.png"]
        write_confusion(report, paths[0])
        if write_overlays(report, out_dir / "predictions.png"):
            paths.append(out_dir / "predictions.png")
        return paths

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """The share of pixels whose class is the same (export.min_agreement: 0.999 in conf/image-seg.yaml)."""
        from aiaas_recipes.common.parity import pixels

        return pixels(expected["logits"], actual["logits"])

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.image_seg.evaluation import score_logits

        logits = np.asarray(outputs["logits"])
        return score_logits(logits, targets, [str(i) for i in range(logits.shape[1])])

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.image_seg.shapes import write_folder

        root = write_folder(Path(workdir) / "shapes", count=24)
        return [f"data.root={root}", "data.image_size=16", "data.batch_size=8", "model.channels=[4,8]"]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        files = (Path(dataset_dir) / "test_files.txt").read_text().splitlines()[:limit]
        return [(name, (Path(manifest["source"]) / name).read_bytes()) for name in files]


recipe = ImageSegmentation()
