"""The image-cls recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_recipes.common.recipe import ClassificationRecipe
from aiaas_recipes.common.vision.recipe import ImageRecipe

MODELS = ("small_cnn", "resnet18", "mobilenet_v3_small", "efficientnet_b0", "timm")


class ImageClassification(ImageRecipe, ClassificationRecipe):
    name = "image-cls"
    description = "Image classification from class folders (built-in: digits)"
    config_name = "image-cls"
    serving_module = "aiaas_recipes.image_cls.serving"
    models = MODELS

    def builtin(self, name: str) -> Path:
        from aiaas_recipes.common.vision import digits

        return digits.materialize(name)

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.common.vision.folders import check_root
        from aiaas_recipes.image_cls.dataset import check_settings

        check_settings(cfg.data)
        if cfg.data.root:
            check_root(Path(str(cfg.data.root)).expanduser().resolve())
        self.check_weights(cfg)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import digest, files_digest
        from aiaas_recipes.common.vision.folders import scan, visible_files

        layout = scan(self.data_root(cfg))
        inputs = files_digest(layout.root, listing=lambda root, _: visible_files(root))  # its own hidden/junk rule
        settings = {"root": str(layout.root), "size": cfg.data.image_size, "split": dict(cfg.data.split), "v": 3}
        settings.update(self.model_settings(cfg))
        return digest({"input": inputs, "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.common.vision.folders import scan
        from aiaas_recipes.image_cls import dataset

        layout = scan(self.data_root(cfg))
        model_data = self.model_data(cfg)
        if model_data:
            from aiaas_cli import console

            console.info(f"preprocessing of timm model {cfg.model.name}: {model_data} (data.image_size is not used)")
        manifest = dataset.build(layout, out_dir, cfg.data, model_data)
        return {"source": str(layout.root), **manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.image_cls.datamodule import ImageDataModule

        return ImageDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if model_cfg.get("kind") == "timm":  # a checkpoint's rebuild: pretrained=false, no file (for_checkpoint)
            from aiaas_recipes.common.backbones.timm_models import classifier

            return classifier(model_cfg, len(meta["classes"])).net
        return super().build_network(model_cfg, meta)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_cli.config import instantiate
        from aiaas_recipes.common.module import Classifier, optimizers_from

        self.check_model_data(cfg, manifest)
        built = None
        if cfg.model.get("kind") == "timm":
            from aiaas_recipes.common.backbones.hub import is_offline
            from aiaas_recipes.common.backbones.timm_models import classifier

            built = classifier(cfg.model, len(manifest["classes"]), offline=is_offline(cfg))
        net = built.net if built else instantiate(cfg.model, num_classes=len(manifest["classes"]))
        optimizer, scheduler = optimizers_from(cfg)
        meta = self.image_meta(manifest, cfg.model)
        module = Classifier(net, optimizer, scheduler, cfg.loss.label_smoothing, meta)
        if built is None:
            return module
        from aiaas_recipes.common.backbones.timm_models import attach

        return attach(module, built, "net.")

    def check_model_data(self, cfg: Any, manifest: dict) -> None:
        """The dataset was preprocessed the way the model expects (a dataset built for another model is refused)."""
        from aiaas_cli.errors import ConfigError

        if (self.model_data(cfg) or None) != manifest.get("data_config"):
            raise ConfigError(
                "the dataset was preprocessed for another model's input size and normalisation",
                "run preprocess again with the same model=... settings as train (pipeline does this)",
            )

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.image_cls.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.common.smoke import colour_folders

        root = colour_folders(Path(workdir) / "colours")
        return [f"data.root={root}", "data.image_size=12", "data.batch_size=8", "model.channels=[4,8,8]"]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        files = (dataset_dir / "test_files.txt").read_text().splitlines()
        files = files[:: max(len(files) // limit, 1)][:limit]  # spread over the sorted list: several classes
        return [(name, (Path(manifest["source"]) / name).read_bytes()) for name in files]


recipe = ImageClassification()
