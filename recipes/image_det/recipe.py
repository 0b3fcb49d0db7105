"""The image-det recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Metrics, Parity
from aiaas_recipes.common.vision.recipe import ImageRecipe

MODELS = ("centernet_small", "centernet_resnet18", "centernet_timm")


class ImageDetection(ImageRecipe):
    name = "image-det"
    description = "Object detection from YOLO, COCO or Pascal VOC layouts (built-in: shapes)"
    config_name = "image-det"
    serving_module = "aiaas_recipes.image_det.serving"
    models = MODELS
    metrics = Metrics(
        names=("map", "map50", "precision", "recall"),
        headline="map50",
        monitor="val_map50",
        mode="max",
        details=("per_class",),
    )
    output_names = ("scores", "boxes")
    source_key = "path"  # a data.yaml, an annotations.json or a VOC folder

    def check_config(self, cfg: Any) -> None:
        data = cfg.data
        size = data.image_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 16 or size % 16:
            raise ConfigError(
                f"data.image_size={size} must be a multiple of 16 (at least 16)", "e.g. data.image_size=64"
            )
        if not (0 <= data.split.val < 1 and 0 <= data.split.test < 1 and data.split.val + data.split.test < 1):
            raise ConfigError(f"data.split.val={data.split.val} and data.split.test={data.split.test} must sum below 1")
        if data.path and not Path(str(data.path)).expanduser().exists():
            raise ConfigError(
                f"data.path={data.path} does not exist", "a data.yaml, an annotations.json or a VOC folder"
            )
        self.check_weights(cfg)

    def builtin(self, name: str) -> Path:
        from aiaas_recipes.image_det import shapes

        return shapes.materialize(name)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import all_files, digest, files_digest

        self.check_config(cfg)
        path = self.data_root(cfg)
        roots = [path if path.is_dir() else path.parent]
        if cfg.data.images:  # COCO images kept elsewhere change the dataset too
            roots.append(Path(str(cfg.data.images)).expanduser().resolve())
        inputs = [(str(root), files_digest(root, listing=all_files)) for root in roots]
        settings = {
            "path": str(path),
            "size": cfg.data.image_size,
            "split": dict(cfg.data.split),
            "classes": list(cfg.data.classes or []),
            "images": cfg.data.images,
            "v": 1,
        }
        return digest({"input": inputs, "settings": {**settings, **self.model_settings(cfg)}})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.image_det import dataset, readers

        self.check_config(cfg)
        classes = list(cfg.data.classes) if cfg.data.classes else None
        source = readers.read_source(self.data_root(cfg), classes, cfg.data.images)
        return self.normalised_as_model(cfg, dataset.build(source, out_dir, cfg.data))

    def dataset_summary(self, manifest: dict) -> dict:
        return {
            "classes": manifest["classes"],
            "layout": manifest["layout"],
            "image_size": manifest["image_size"],
            "problems": manifest.get("problems", {}),
        }

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.image_det.datamodule import BoxDataModule

        return BoxDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict, offline: bool = False) -> Any:
        return self._build(model_cfg, meta, offline)[0]

    def _build(self, model_cfg: Any, meta: dict, offline: bool) -> tuple[Any, Any]:
        """The network, and for a timm backbone what timm_models built (its source, its pretrained parameters)."""
        from aiaas_cli.config import instantiate

        sizes = {"num_classes": len(meta["classes"]), "image_size": int(meta["image_size"])}
        if model_cfg.get("kind") == "timm":
            from aiaas_recipes.image_det.backbones import centernet_timm

            return centernet_timm(model_cfg=model_cfg, offline=offline, **sizes)
        return instantiate(model_cfg, **sizes), None

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.common.backbones.hub import is_offline
        from aiaas_recipes.common.backbones.timm_models import attach
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.image_det.module import Detector

        meta = self.image_meta(manifest, cfg.model)
        optimizer, scheduler = optimizers_from(cfg)
        net, built = self._build(cfg.model, meta, is_offline(cfg))
        return attach(Detector(net, optimizer, scheduler, meta), built, "net.backbone.body.")

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.image_det.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        from rich.table import Table

        table = Table(title="Average precision per class (COCO)")
        for column in ("class", "AP .50:.95", "AP .50", "AR@100", "true boxes"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for name, row in report.get("per_class", {}).items():
            table.add_row(name, f"{row['ap']:.3f}", f"{row['ap50']:.3f}", f"{row['ar100']:.3f}", str(row["boxes"]))
        table.caption = (
            f"mAP {report['map']:.4f}   mAP@.5 {report['map50']:.4f}   at score >= {report['score_threshold']}: "
            f"precision {report['precision']:.3f}, recall {report['recall']:.3f}"
        )
        return [table]

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.image_det.plots import write_grid, write_pr_curve

        grid, curve = out_dir / "predictions.png", out_dir / "pr_curve.png"
        return [path for path, written in ((grid, write_grid(report, grid)), (curve, write_pr_curve(report, curve)))
                if written]  # fmt: skip

    def export_metadata(self, meta: dict) -> dict:
        from aiaas_recipes.image_det.export import post_processing

        return post_processing(meta.get("model", {}))

    def samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[Any, Any]:
        from aiaas_recipes.image_det.export import samples

        return samples(dataset_dir, manifest, split, limit)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.image_det.export import compare

        return compare(expected, actual, export_cfg)

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.image_det.evaluation import score_outputs

        return score_outputs(outputs, targets, int(outputs["scores"].shape[1]))

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.image_det.shapes import write_yolo

        path = write_yolo(Path(workdir) / "shapes", splits={"train": 16, "val": 4, "test": 4})
        return [
            f"data.path={path}",
            "data.image_size=32",
            "data.batch_size=8",
            "model.channels=[4,8,8]",
            "model.head=8",
        ]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        folder = Path(dataset_dir)
        names = (folder / "test_files.txt").read_text().splitlines()[:limit]
        paths = (folder / "test_paths.txt").read_text().splitlines()[:limit]
        return [(name, Path(path).read_bytes()) for name, path in zip(names, paths)]


recipe = ImageDetection()
