"""The image-embed recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import Metrics, Parity
from aiaas_recipes.common.vision.recipe import ImageRecipe

NAMES = ("tar_at_far_1e-2", "tar_at_far_1e-3", "roc_auc", "eer", "top1", "top5", "dir_at_far_1e-2")
SAME = 0.9999  # export parity: an embedding is "the same" when torch and ONNX agree to this cosine


class ImageEmbedding(ImageRecipe):
    name = "image-embed"
    description = "Image embeddings for identities unseen in training: verification and a gallery (built-in: faces)"
    config_name = "image-embed"
    serving_module = "aiaas_recipes.image_embed.serving"
    models = ("embed_cnn", "timm")
    output_names = ("embedding",)
    metrics = Metrics(names=NAMES, headline="tar_at_far_1e-2", monitor="val_tar", mode="max")

    def builtin(self, name: str) -> Path:
        from aiaas_recipes.image_embed import synth

        return synth.materialize(name)

    def check_config(self, cfg: Any) -> None:
        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.common.vision.folders import check_root
        from aiaas_recipes.image_embed.dataset import check_settings
        from aiaas_recipes.image_embed.losses import LOSSES

        check_settings(cfg.data)
        if cfg.model.loss not in LOSSES:
            raise ConfigError(
                f"model.loss={cfg.model.loss} is not a loss of image-embed", f"one of {', '.join(LOSSES)}"
            )
        if cfg.data.root:
            check_root(Path(str(cfg.data.root)).expanduser().resolve())
        if cfg.data.get("pairs") and not Path(str(cfg.data.pairs)).expanduser().is_file():
            raise ConfigError(f"data.pairs={cfg.data.pairs} does not exist", "a pairs.txt in LFW's format, or null")
        if cfg.get("gallery") and not Path(str(cfg.gallery)).expanduser().is_dir():
            raise ConfigError(f"gallery={cfg.gallery} is not a folder", "a folder with one sub-folder per identity")
        self.check_weights(cfg)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import digest, files_digest
        from aiaas_recipes.common.vision.folders import scan, visible_files

        layout = scan(self.data_root(cfg))
        inputs = files_digest(layout.root, listing=lambda root, _: visible_files(root))
        pairs = cfg.data.get("pairs")
        settings = {"root": str(layout.root), "size": cfg.data.image_size, "split": dict(cfg.data.split), "v": 1,
                    "pairs": Path(str(pairs)).read_text() if pairs else None, **self.model_settings(cfg)}  # fmt: skip
        return digest({"input": inputs, "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.common.vision.folders import scan
        from aiaas_recipes.image_embed import dataset

        layout = scan(self.data_root(cfg))
        return {"source": str(layout.root), **dataset.build(layout, out_dir, cfg.data, self.model_data(cfg))}

    def dataset_summary(self, manifest: dict) -> dict:
        return {"identities": manifest["identities"], "image_size": manifest["image_size"], "pairs": manifest["pairs"]}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.image_embed.training import IdentityDataModule

        return IdentityDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if model_cfg.get("kind") == "timm":
            from aiaas_recipes.image_embed.model import timm_embedder

            return timm_embedder(model_cfg)[0]
        from aiaas_cli.config import instantiate

        return instantiate(model_cfg)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.image_embed.losses import build_loss
        from aiaas_recipes.image_embed.training import Embedder

        if (self.model_data(cfg) or None) != manifest.get("data_config"):
            from aiaas_cli.errors import ConfigError

            raise ConfigError(
                "the dataset was preprocessed for another model's input size and normalisation",
                "run preprocess again with the same model=... settings as train (pipeline does this)",
            )
        built = None
        if cfg.model.get("kind") == "timm":
            from aiaas_recipes.common.backbones.hub import is_offline
            from aiaas_recipes.image_embed.model import timm_embedder

            net, built = timm_embedder(cfg.model, offline=is_offline(cfg))
        else:
            net = self.build_network(cfg.model, {})
        m = cfg.model
        criterion = build_loss(m.loss, int(m.embedding_dim), manifest["train_identities"], m.margin, float(m.scale))
        meta = {**self.image_meta(manifest, cfg.model), "classes": manifest["classes"][: manifest["train_identities"]]}
        module = Embedder(net, criterion, *optimizers_from(cfg), meta)
        if built is None:
            return module
        from aiaas_recipes.common.backbones.timm_models import attach

        return attach(module, built, "net.body.")

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.image_embed.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.image_embed.evaluation import write_roc

        return [write_roc(report, out_dir / "roc.png")]

    def export_metadata(self, meta: dict) -> dict:
        return {"embedding_dim": int(meta["model"]["embedding_dim"]), "threshold": float(meta.get("threshold", 0.5)),
                "threshold_far": float(meta.get("threshold_far", 1e-2))}  # fmt: skip

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """The share of images whose ONNX embedding has cosine >= 0.9999 with torch's."""
        import numpy as np

        from aiaas_recipes.image_embed.metrics import l2_normalise

        a, b = l2_normalise(expected["embedding"]), l2_normalise(actual["embedding"])
        cos = np.einsum("nd,nd->n", a, b)
        worst = int(np.argmin(cos)) if len(cos) else 0
        return Parity(
            max_abs_diff=float(np.abs(a - b).max()) if len(a) else 0.0,
            agreement=float(np.mean(cos >= SAME)) if len(cos) else 1.0,
            samples=len(cos),
            agreement_name="cosine_agreement",
            worst=f"image {worst}: cosine {cos[worst]:.6f}" if len(cos) else "",
        )

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.image_embed import metrics

        genuine, impostor = metrics.pair_scores(metrics.l2_normalise(outputs["embedding"]), targets)
        return metrics.tar_at_far(genuine, impostor, 1e-2)

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.image_embed.synth import write_faces

        root = write_faces(Path(workdir) / "faces", identities=10, per_identity=4)
        return [f"data.root={root}", "data.image_size=16", "data.batch_size=8", "model.channels=[4,8,8]",
                "model.embedding_dim=8", "data.per_identity=2"]  # fmt: skip

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        files = (dataset_dir / "test_files.txt").read_text().splitlines()
        files = files[:: max(len(files) // limit, 1)][:limit]
        return [(name, (Path(manifest["source"]) / name).read_bytes()) for name in files]

    def package_files(self, cfg: Any, onnx_path: Path, folder: Path) -> None:
        """``gallery=DIR``: a gallery of DIR's identities (one sub-folder each), the served model's starting one."""
        if cfg.get("gallery"):
            from aiaas_recipes.image_embed.gallery_build import build_gallery

            build_gallery(Path(str(cfg.gallery)).expanduser(), onnx_path, folder / "gallery", strict=bool(cfg.strict))


recipe = ImageEmbedding()
