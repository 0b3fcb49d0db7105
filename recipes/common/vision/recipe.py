"""What the image recipes (image-cls, image-seg, image-det) do alike: square normalised images in, the metadata
every checkpoint carries, the export spec and held-out samples, and where the data comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.torch_recipe import TorchRecipe


class ImageRecipe(TorchRecipe):
    """A TorchRecipe whose network takes (N, 3, size, size) images normalised with the training set's statistics."""

    input_names = ("image",)
    source_key = "root"  # the data setting that names the user's data (data.root); unset: the built-in dataset

    def builtin(self, name: str) -> Path:
        """Write the built-in dataset ``name`` once; return the path ``source_key`` would have named."""
        raise NotImplementedError

    def data_root(self, cfg: Any) -> Path:
        """The user's data, or the built-in dataset's."""
        given = cfg.data[self.source_key]
        if given:
            return Path(str(given)).expanduser().resolve()
        return self.builtin(cfg.data.builtin)

    def model_data(self, cfg: Any) -> dict | None:
        """A pretrained model's own preprocessing (a timm model: its data config): size, interpolation, crop and
        mean/std; None for the networks trained from scratch."""
        if cfg.model.get("kind") != "timm":
            return None
        from aiaas_recipes.common.backbones.timm_models import data_config

        return data_config(cfg.model)

    def model_settings(self, cfg: Any) -> dict:
        """What the dataset's fingerprint adds for a pretrained model's preprocessing ({} for the others)."""
        model_data = self.model_data(cfg)
        return {"model_data": model_data} if model_data else {}

    def normalised_as_model(self, cfg: Any, manifest: dict) -> dict:
        """``manifest`` with a timm backbone's own mean/std (and its data config recorded), for recipes whose image
        size stays the data's (detection, segmentation): images are normalised as the backbone was trained."""
        model_data = self.model_data(cfg)
        if model_data:
            manifest.update(mean=model_data["mean"], std=model_data["std"], data_config=model_data)
        return manifest

    def check_weights(self, cfg: Any) -> None:
        """An unknown timm model, a missing model.file, or offline with nothing cached: caught before any run opens."""
        if cfg.model.get("kind") == "timm":
            from aiaas_recipes.common.backbones.hub import is_offline
            from aiaas_recipes.common.backbones.timm_models import check_weights

            self.model_data(cfg)
            check_weights(cfg.model, is_offline(cfg))

    def dataset_summary(self, manifest: dict) -> dict:
        return {"classes": manifest["classes"], "image_size": manifest["image_size"]}

    def image_meta(self, manifest: dict, model_cfg: Any) -> dict:
        """What every checkpoint carries, so later stages need no config: the classes, the input size and
        normalisation, and the model's config."""
        from omegaconf import OmegaConf

        from aiaas_recipes.common.vision.export import RECORDED

        return {
            "recipe": self.name,
            "classes": manifest["classes"],
            "image_size": manifest["image_size"],
            "mean": manifest["mean"],
            "std": manifest["std"],
            "model": OmegaConf.to_container(model_cfg, resolve=True),
            **{key: manifest[key] for key in RECORDED if key in manifest},
        }

    def export_metadata(self, meta: dict) -> dict:
        """What serving needs beyond the labels, the input size and the normalisation (nothing by default)."""
        return {}

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.common.vision.export import export_spec

        return export_spec(network, meta, self.output_names, self.export_metadata(meta))

    def samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[Any, Any]:
        """Held-out images, normalised as serving does, and their targets (arrays {split}_x.npy, {split}_y.npy)."""
        from aiaas_recipes.common.vision.export import samples

        return samples(dataset_dir, manifest, split, limit)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.common.vision.export import INPUT_NAME

        images, targets = self.samples(dataset_dir, manifest, split, limit)
        return {INPUT_NAME: images}, targets
