"""The image-gen recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

PARITY_STEPS, PARITY_GUIDANCE, PARITY_IMAGES = 10, 2.0, 16


class ImageGeneration(TorchRecipe):
    name = "image-gen"
    description = "Image generation from class folders or a flat folder: diffusion, VAE, GAN (built-in: digits)"
    config_name = "image-gen"
    serving_module = "aiaas_recipes.image_gen.serving"
    models = ("diffusion", "vae", "gan")
    metrics = Metrics(
        names=("class_accuracy", "fid", "precision", "recall", "nearest_train_rms"),
        headline="class_accuracy",
    )

    def data_root(self, cfg: Any) -> Path:
        if cfg.data.root:
            return Path(str(cfg.data.root)).expanduser().resolve()
        from aiaas_recipes.common.vision import digits

        return digits.materialize(cfg.data.builtin)

    def check_config(self, cfg: Any) -> None:
        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.common.vision.folders import check_root
        from aiaas_recipes.image_gen.dataset import check_settings

        check_settings(cfg.data)
        if cfg.data.root:
            check_root(Path(str(cfg.data.root)).expanduser().resolve())
        if cfg.export.quantize:
            raise ConfigError("export.quantize is not available for image-gen", "drop export.quantize")
        s = cfg.sampling
        if not (1 <= s.steps <= s.max_steps and s.max_n >= 1 and s.eval_per_class >= 2 and 0 <= s.guidance <= 20):
            raise ConfigError(
                "sampling needs 1 <= steps <= max_steps, max_n >= 1, eval_per_class >= 2 and guidance in [0, 20]",
                "e.g. sampling.steps=20 sampling.guidance=2",
            )

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import digest, files_digest
        from aiaas_recipes.common.vision.folders import visible_files

        root = self.data_root(cfg)
        inputs = files_digest(root, listing=lambda folder, _: visible_files(folder))
        settings = {"root": str(root), "size": cfg.data.image_size, "split": dict(cfg.data.split), "v": 1}
        return digest({"input": inputs, "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.image_gen import dataset

        return dataset.build(dataset.layout_of(self.data_root(cfg)), out_dir, cfg.data)

    def dataset_summary(self, manifest: dict) -> dict:
        return {key: manifest[key] for key in ("classes", "image_size", "channels")}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.image_gen.training import ImageDataModule

        return ImageDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def meta(self, cfg: Any, manifest: dict) -> dict:
        """What every checkpoint carries: the data's shape, the model's sampling settings and config."""
        from omegaconf import OmegaConf

        model = OmegaConf.to_container(cfg.model, resolve=True)
        return {
            "recipe": self.name, "kind": model["kind"], "classes": manifest["classes"],
            "null_label": len(manifest["classes"]), "image_size": manifest["image_size"],
            "channels": manifest["channels"], "latent_dim": model.get("latent_dim"),
            "timesteps": model.get("timesteps"), "sampling": OmegaConf.to_container(cfg.sampling), "model": model,
        }  # fmt: skip

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.image_gen import nets, training

        meta = self.meta(cfg, manifest)
        return training.build_module(cfg, nets.build(cfg.model, meta), meta)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from omegaconf import OmegaConf

        from aiaas_recipes.image_gen import nets

        return nets.build(OmegaConf.create(model_cfg), meta)

    def load_model(self, path: Path) -> tuple[Any, dict]:
        net, meta = super().load_model(path)
        net.aiaas_meta = meta  # evaluation and the export reference sample with the checkpoint's settings
        return net, meta

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.image_gen.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        import base64

        paths = []
        for name, png in report.get("grids", {}).items():
            path = out_dir / f"{name}_grid.png"
            path.write_bytes(base64.b64decode(png))
            paths.append(path)
        return paths

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        import torch

        from aiaas_recipes.image_gen.nets import sampler_module

        kind, n = meta["kind"], 2
        label = torch.tensor([0, int(meta["null_label"])], dtype=torch.int64)
        if kind == "diffusion":
            size, channels = int(meta["image_size"]), int(meta["channels"])
            inputs = (torch.zeros(n, channels, size, size), torch.tensor([5.0, 500.0]), label)
            names, output = ["x", "t", "label"], "eps"
        else:
            inputs, names, output = (torch.zeros(n, int(meta["latent_dim"])), label), ["z", "label"], "image"
        keys = ("kind", "classes", "null_label", "image_size", "channels", "latent_dim", "timesteps", "sampling")
        return ExportSpec(
            example_inputs=inputs,
            input_names=names,
            output_names=[output],
            dynamic_axes={name: {0: "batch"} for name in (*names, output)},
            metadata={key: meta[key] for key in keys if meta[key] is not None},  # BentoML refuses None
            module=sampler_module(network, kind),
        )

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        """A few sampling requests (each a whole sampling loop, so PARITY_IMAGES at most), labels cycling classes."""
        import numpy as np

        n = max(1, min(limit, PARITY_IMAGES))
        labels = np.arange(n, dtype=np.int64) % max(len(manifest["classes"]), 1)
        feeds = {"label": labels, "seed": np.arange(n, dtype=np.int64), "steps": np.full(n, PARITY_STEPS, np.int64),
                 "guidance": np.full(n, PARITY_GUIDANCE, np.float32)}  # fmt: skip
        return feeds, labels

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        from aiaas_recipes.image_gen.evaluation import torch_generate

        return {"images": torch_generate(network, inputs)}

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """The share of images whose every pixel is within export.score_tolerance of the 0-255 range of torch's."""
        import numpy as np

        diff = np.abs(expected["images"].astype(np.int16) - actual["images"].astype(np.int16))
        per_image = diff.reshape(len(diff), -1).max(1)
        tolerance = float(export_cfg.score_tolerance) * 255
        worst = int(per_image.argmax())
        return Parity(
            max_abs_diff=float(per_image.max()),
            agreement=float((per_image <= tolerance).mean()),
            samples=len(per_image),
            agreement_name="same_image",
            worst=f"image {worst}: a pixel differs by {int(per_image[worst])} of 255",
        )

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_cli.errors import ConfigError

        raise ConfigError("export.quantize is not available for image-gen", "drop export.quantize")

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        classes = manifest["classes"] or [None]
        picks = [(classes[i % len(classes)], i) for i in range(limit)]
        return [(f"label={label} seed={seed}", {"label": label, "seed": seed}) for label, seed in picks]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.common.smoke import colour_folders

        root = colour_folders(Path(workdir) / "colours", size=8)
        return [f"data.root={root}", "data.image_size=8", "data.batch_size=8", "model.channels=[8,16]",
                "sampling.steps=4", "sampling.eval_per_class=4"]  # fmt: skip


recipe = ImageGeneration()
