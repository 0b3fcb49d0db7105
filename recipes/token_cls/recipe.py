"""The token-cls recipe (named-entity recognition): what the registry sees. Light at import time."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

_FINGERPRINT_VERSION = 1  # bump when the dataset dir's layout or content changes


def _hub(model_cfg: Any) -> bool:
    """model=hf: a Transformers model from the hub or a save_pretrained folder, with its own tokenizer."""
    return model_cfg.get("kind") == "hf"


class TokenClassification(TorchRecipe):
    name = "token-cls"
    description = "Named-entity recognition from CoNLL/JSONL (built-in: template sentences, unseen names in test)"
    config_name = "token-cls"
    serving_module = "aiaas_recipes.token_cls.serving"
    models = ("ner_bilstm", "ner_transformer", "hf")
    metrics = Metrics(
        names=("f1", "precision", "recall"), headline="f1", monitor="val_f1", mode="max", details=("per_type",)
    )
    input_names = ("input_ids",)
    output_names = ("logits",)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest
        from aiaas_recipes.token_cls.dataset import check_settings, source

        check_settings(cfg.data)
        settings = data_settings(cfg.data, ("batch_size", "augment"))
        versions = {"tokenizers": metadata.version("tokenizers"), "v": _FINGERPRINT_VERSION}
        if _hub(cfg.model):  # the model's own tokenizer encodes the texts: its name and tokenizer.json are part of it
            from aiaas_recipes.token_cls.hub import fingerprint_part

            settings = {key: value for key, value in settings.items() if key != "tokenizer"}
            versions["hub"] = fingerprint_part(cfg)
        return digest({"settings": settings, "input": files_digest(source(cfg.data)), **versions})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.token_cls import dataset

        if not _hub(cfg.model):
            return dataset.build(cfg.data, out_dir)
        from aiaas_recipes.token_cls.hub import tokenizer

        return dataset.build(cfg.data, out_dir, *tokenizer(cfg))

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("types", "entities", "schemes", "repaired_tags", "max_length", "duplicates")
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.token_cls.datamodule import TokenDataModule

        return TokenDataModule(dataset_dir, cfg.data, cfg.seed, hub=bool(manifest.get("hub")))

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if meta.get("hub"):  # rebuilt from the config dict the checkpoint carries: no hub needed
            from aiaas_recipes.common.backbones.hf import rebuild

            return rebuild(meta["hub"])
        from aiaas_cli.config import instantiate
        from aiaas_recipes.common.text.tokenizer import load
        from aiaas_recipes.token_cls.encoding import piece_shapes

        sizes = {"vocab_size": meta["vocab_size"], "max_length": meta["max_length"]}
        shapes = piece_shapes(load(meta["tokenizer"]))
        return instantiate(model_cfg, num_tags=len(meta["tags"]), shapes=shapes, **sizes)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.common.text.export import network_meta
        from aiaas_recipes.token_cls.module import Tagger

        if _hub(cfg.model):
            from aiaas_recipes.token_cls import hub

            if not manifest.get("hub"):
                from aiaas_cli.errors import ConfigError

                raise ConfigError("the dataset was tokenized for another model", "preprocess it again with model=hf")
            return hub.model(cfg, manifest, dataset_dir, self.name)
        meta = {"recipe": self.name, "tags": manifest["tags"], "types": manifest["types"]}
        meta.update(network_meta(manifest, dataset_dir, cfg.model))
        net = self.build_network(cfg.model, meta)
        optimizer, scheduler = optimizers_from(cfg)
        return Tagger(net, optimizer, scheduler, meta)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.token_cls.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        from aiaas_recipes.token_cls.evaluation import per_type_table

        return [per_type_table(report)]

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        if meta.get("hub"):
            from aiaas_recipes.token_cls.hub import export_spec as hub_spec

            return hub_spec(meta)
        from aiaas_recipes.token_cls.export import export_spec

        return export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.token_cls.export import samples

        return samples(dataset_dir, split, limit, manifest["tags"])

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.token_cls.export import compare

        return compare(expected, actual)

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.token_cls.export import score

        return score(outputs, targets)

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.token_cls.dataset import read_records

        records = read_records(dataset_dir, "test")[:limit]
        return [(f"test_records.jsonl:{i}", record.text) for i, record in enumerate(records, 1)]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.token_cls.smoke import conll_file

        path = conll_file(Path(workdir) / "ner.conll")
        small = ["model.embed=16", "model.hidden=16"]
        return [f"data.path={path}", "data.max_length=16", "data.tokenizer.vocab_size=200", "data.batch_size=8", *small]


recipe = TokenClassification()
