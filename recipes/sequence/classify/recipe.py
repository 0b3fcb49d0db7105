"""The seq-cls recipe: whole sequences (sensor windows, signals) into classes. Light at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.recipe import ClassificationRecipe, StatisticsLRModels

_FINGERPRINT_VERSION = 1  # bump when the dataset dir's layout or content changes
TRAINING_ONLY = ("batch_size",)  # data settings that do not change the dataset dir


class SequenceClassification(StatisticsLRModels, ClassificationRecipe):
    name = "seq-cls"
    description = "Whole-sequence classification from per-sequence CSV/NPY files or a long table (built-in: signals)"
    statistics_lr = "aiaas_recipes.sequence.classify.summary_lr.SummaryLR"  # trains itself, saved with skops
    config_name = "seq-cls"
    serving_module = "aiaas_recipes.sequence.classify.serving"
    models = ("seq_lstm", "seq_cnn", "summary_lr")
    auto_candidates = ("summary_lr", "seq_lstm")  # model=auto, cheapest first
    input_names = ("sequence", "lengths")

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.common.choices import check_cell

        check_cell(cfg.model)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest
        from aiaas_recipes.sequence.classify.dataset import check_settings, source

        check_settings(cfg.data)
        path = source(cfg.data)
        seed = None if path else cfg.seed  # the built-in signals are generated from it
        inputs = files_digest(path, none="generated")
        settings = data_settings(cfg.data, TRAINING_ONLY)
        return digest({"settings": settings, "seed": seed, "input": inputs, "v": _FINGERPRINT_VERSION})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.sequence.classify import dataset

        return dataset.build(cfg.data, int(cfg.seed), out_dir)

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("classes", "features", "max_length", "lengths", "truncated", "filled_values")
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.sequence.classify.training import SequenceData

        return SequenceData(dataset_dir, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from aiaas_cli.config import instantiate

        stats = meta["normalisation"]
        sizes = {"num_classes": len(meta["classes"]), "features": len(meta["features"])}
        # _partial_: the statistics stay plain lists, not config nodes
        return instantiate(model_cfg, _partial_=True)(**sizes, mean=stats["mean"], std=stats["std"])

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_recipes.common.module import Classifier, optimizers_from
        from aiaas_recipes.sequence.classify.summary_lr import is_summary_lr

        meta = {
            "recipe": self.name,
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            **{key: manifest[key] for key in ("classes", "features", "max_length", "normalisation")},
        }
        if is_summary_lr(cfg.model):  # trains itself; _partial_: the metadata stays plain Python values
            from aiaas_cli.config import instantiate

            return instantiate(cfg.model, _partial_=True)(meta=meta, seed=int(cfg.seed))
        net = self.build_network(cfg.model, meta)
        optimizer, scheduler = optimizers_from(cfg)
        return Classifier(net, optimizer, scheduler, float(cfg.loss.label_smoothing), meta)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.sequence.classify.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        import torch

        from aiaas_recipes.sequence.classify.summary_lr import SummaryLR

        steps = max(2, int(meta["max_length"]))  # what serving feeds, should an exporter fix the time axis
        example = torch.randn(2, steps, len(meta["features"]), generator=torch.Generator().manual_seed(0))
        lengths = torch.tensor([steps, max(1, steps // 2)])  # a padded row: the export sees the masking path
        return ExportSpec(
            example_inputs=(example, lengths),
            input_names=list(self.input_names),
            output_names=["logits"],
            dynamic_axes={"sequence": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
            metadata={
                "labels": list(meta["classes"]),
                "features": list(meta["features"]),
                "max_length": int(meta["max_length"]),
                "model": meta.get("model", {}).get("_target_"),
            },
            convert=network.convert if isinstance(network, SummaryLR) else None,  # skl2onnx behind the summary step
        )

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.sequence.classify.training import load_split

        values, lengths, labels = load_split(dataset_dir, split)
        return {"sequence": values[:limit], "lengths": lengths[:limit]}, labels[:limit]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.sequence.classify.training import load_split

        values, lengths, _ = load_split(dataset_dir, "test")
        return [(f"test:{i}", values[i, : lengths[i]].tolist()) for i in range(min(limit, len(lengths)))]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        return [
            "data.generated.per_class=8", "data.generated.min_length=6", "data.generated.max_length=12",
            "data.max_length=12", "data.batch_size=8", "model.hidden=8",
        ]  # fmt: skip
