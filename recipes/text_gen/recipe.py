"""The text-gen recipe: what the registry sees. Light at import time; heavy parts load on use."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

_FINGERPRINT_VERSION = 2  # bump when the dataset dir's layout or content changes


def _hub(model_cfg: Any) -> bool:
    return model_cfg.get("kind") == "hf"


class TextGeneration(TorchRecipe):
    name = "text-gen"
    description = "Causal language models from text files or JSONL instructions (built-in: checkable instructions)"
    config_name = "text-gen"
    serving_module = "aiaas_recipes.text_gen.serving"
    metrics = Metrics(names=("exact_match", "perplexity"), headline="exact_match", details=("exact_match_by_task",),
                      monitor="val_score", mode="max")  # fmt: skip
    models = ("gpt_small", "hf")
    bento_packages = ("tokenizers", "jinja2")
    input_names = ("tokens", "positions", "attention_mask", "past")
    output_names = ("logits", "present")

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.text_gen.dataset import check_settings

        check_settings(cfg.data)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest

        path = Path(str(cfg.data.path)).expanduser() if cfg.data.path else None
        settings = data_settings(cfg.data, ("batch_size",))
        versions = {"tokenizers": metadata.version("tokenizers"), "v": _FINGERPRINT_VERSION}
        if _hub(cfg.model):  # the model's own tokenizer and chat template encode the texts
            from aiaas_recipes.text_gen import tokens

            info = tokens.hub(cfg)
            settings.pop("tokenizer", None)
            versions["hub"] = {"name": str(cfg.model.name), "tokenizer": tokens.digest(info),
                               "template": info["chat_template"]}  # fmt: skip
        return digest({"source": str(path), "settings": settings, "input": files_digest(path, "*"), **versions})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.text_gen import dataset

        hub_info = None
        if _hub(cfg.model):
            from aiaas_recipes.text_gen import tokens

            hub_info = tokens.hub(cfg)
        return dataset.build(cfg, out_dir, hub_info)

    def dataset_summary(self, manifest: dict) -> dict:
        return {key: manifest[key] for key in ("vocab", "block_size", "documents", "examples") if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.text_gen.training import datamodule

        return datamodule(cfg, dataset_dir, manifest)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if meta.get("hub"):
            from aiaas_recipes.text_gen.hub import rebuild

            return rebuild(meta["hub"])
        from aiaas_cli.config import instantiate

        return instantiate(model_cfg, vocab_size=int(meta["vocab"]))

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.text_gen.dataset import TOKENIZER_FILE

        if bool(manifest.get("hub")) != _hub(cfg.model):
            raise ConfigError("this dataset was tokenized for another model", "run `aiaas preprocess` with this model=")
        meta = {
            "recipe": self.name,
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            "vocab": int(manifest["vocab"]),
            "score_rows": int(manifest["examples"]["val"]) > 0,  # the checkpoint is picked by held-out answers
            "tokens": manifest["tokens"],
            "tokenizer": (Path(dataset_dir) / TOKENIZER_FILE).read_text(encoding="utf-8"),
        }
        if _hub(cfg.model):
            from aiaas_recipes.text_gen import hub

            return hub.model(cfg, manifest, dataset_dir, meta)
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.text_gen.training import LanguageModel

        optimizer, scheduler = optimizers_from(cfg)
        return LanguageModel(self.build_network(cfg.model, meta), optimizer, scheduler, meta)

    def load_model(self, path: Path) -> tuple[Any, dict]:
        net, meta = super().load_model(path)
        net.aiaas_meta = meta  # evaluation and export read the tokenizer and end token from it
        return net, meta

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.text_gen.evaluation import evaluate

        return evaluate(network, network.aiaas_meta, Path(dataset_dir), manifest, split)

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.text_gen.evaluation import write_samples

        return [write_samples(report, Path(out_dir) / "samples.md")]

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.text_gen.export import export_spec

        return export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.text_gen.export import samples

        return samples(Path(dataset_dir), manifest, split, limit)

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        from aiaas_recipes.text_gen.export import reference_outputs

        return reference_outputs(network, network.aiaas_meta, inputs)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.text_gen.export import compare

        return compare(expected, actual)

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.text_gen.export import exact_tokens

        return exact_tokens(outputs, targets)

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.text_gen.dataset import read_examples

        examples = read_examples(Path(dataset_dir), "test")[:limit]
        return [(f"test_examples.jsonl:{i}", {"messages": e["messages"], "max_tokens": 16})
                for i, e in enumerate(examples, 1)]  # fmt: skip

    def smoke_overrides(self, workdir: Path) -> list[str]:
        small = ["model.width=32", "model.layers=1", "model.heads=2", "model.ff=64", "model.max_positions=64"]
        # a near-untrained model (lr 1e-4): it writes tokens, where a few steps at the full rate learn only that answers
        # end at once (the end token is a third of the labels), and the served checks compare empty answers
        return ["data.max_rows=64", "data.tokenizer.vocab_size=300", "data.batch_size=16", "optim.lr=0.0001", *small]


recipe = TextGeneration()
