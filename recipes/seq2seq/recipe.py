"""The seq2seq recipe (translation, summarisation: source text -> target text): what the registry sees. Light at
import time; heavy parts load on use."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

_FINGERPRINT_VERSION = 2  # bump when the dataset dir's layout or content changes


def _hub(model_cfg: Any) -> bool:
    return model_cfg.get("kind") == "hf"


class SequenceToSequence(TorchRecipe):
    name = "seq2seq"
    description = "Sequence to sequence (translation, summarisation) from TSV/CSV/JSONL, Moses files or documents"
    config_name = "seq2seq"
    serving_module = "aiaas_recipes.seq2seq.serving"
    models = ("seq2seq_transformer", "hf")
    metrics = Metrics(
        names=("bleu", "chrf", "rouge1", "rouge2", "rougeL"),
        headline="bleu",
        bounded=False,
        monitor="val_loss",
        mode="min",
        details=("worst",),
    )
    input_names = ("src_ids", "src_mask")
    output_names = ("tokens", "lengths")
    bento_packages = ("tokenizers",)

    def check_config(self, cfg: Any) -> None:
        from aiaas_cli.errors import ConfigError

        data = cfg.data
        if data.path and not Path(str(data.path)).expanduser().exists():
            raise ConfigError(f"data.path={data.path} does not exist")
        if float(data.split.val) + float(data.split.test) >= 1.0:
            raise ConfigError("data.split.val + data.split.test must leave some data for training (below 1)")
        if min(int(data.max_source_tokens), int(data.max_target_tokens)) < 2 or int(data.max_chars) < 1:
            raise ConfigError("data.max_source_tokens and data.max_target_tokens must be at least 2, max_chars 1")
        if not _hub(cfg.model) and int(cfg.model.width) % int(cfg.model.heads):
            raise ConfigError(f"model.width={cfg.model.width} must be a multiple of model.heads={cfg.model.heads}")
        if int(cfg.decoding.beam_size) < 1:
            raise ConfigError("decoding.beam_size must be at least 1")

    def data_path(self, cfg: Any) -> Path:
        from aiaas_recipes.seq2seq import builtin

        if cfg.data.path:
            return Path(str(cfg.data.path)).expanduser().resolve()
        return builtin.materialize(str(cfg.data.builtin))

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest

        path = self.data_path(cfg)
        settings = data_settings(cfg.data, ("batch_size", "num_workers", "storage", "shards"))
        versions = {"tokenizers": metadata.version("tokenizers"), "v": _FINGERPRINT_VERSION}
        if _hub(cfg.model):  # the model's own tokenizer encodes the pairs
            import hashlib

            from aiaas_recipes.seq2seq import hub

            info = hub.tokenizer_info(cfg)
            settings.pop("tokenizer", None)
            versions["hub"] = {"name": info["name"], "specials": info["specials"],
                               "tokenizer": hashlib.sha256(info["tokenizer"].encode()).hexdigest()}  # fmt: skip
        return digest({"source": str(path), "input": files_digest(path), "settings": settings, **versions})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.seq2seq import dataset, sources

        path, skipped = self.data_path(cfg), []
        pairs = sources.read_pairs(path, cfg.data, skipped)
        fmt = str(cfg.data.format or sources.detect_format(path))
        hub_info = None
        if _hub(cfg.model):
            from aiaas_recipes.seq2seq import hub

            hub_info = hub.tokenizer_info(cfg)
        return {"source": str(path), "format": fmt, **dataset.build(pairs, skipped, out_dir, cfg.data, hub_info)}

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("format", "vocab_size", "mean_tokens", "summaries", "duplicates")
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.seq2seq.module import PairDataModule

        return PairDataModule(dataset_dir, manifest, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if meta.get("hub"):
            from aiaas_recipes.seq2seq.hub import rebuild

            return rebuild(meta["hub"])
        from aiaas_cli.config import instantiate

        longest = max(int(meta["max_source_tokens"]), int(meta["max_target_tokens"])) + 1
        return instantiate(model_cfg, vocab_size=int(meta["vocab_size"]), max_positions=longest)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_cli.errors import ConfigError
        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.seq2seq import tokens
        from aiaas_recipes.seq2seq.module import Translator

        if manifest.get("hub") != (str(cfg.model.name) if _hub(cfg.model) else None):
            raise ConfigError("this dataset was tokenized for another model", "run `aiaas preprocess` with this model=")
        meta = {
            "recipe": self.name,
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            "tokenizer": (Path(dataset_dir) / tokens.FILE).read_text(encoding="utf-8"),
            "decoding": OmegaConf.to_container(cfg.decoding, resolve=True),
            "specials": manifest.get("specials") or tokens.own_specials(),
            **{key: manifest[key] for key in ("vocab_size", "max_source_tokens", "max_target_tokens", "summaries")},
        }
        if _hub(cfg.model):
            from aiaas_recipes.seq2seq import hub

            return hub.model(cfg, meta)
        optimizer, scheduler = optimizers_from(cfg)
        return Translator(
            self.build_network(cfg.model, meta), optimizer, scheduler, meta, float(cfg.loss.label_smoothing)
        )

    def load_model(self, path: Path) -> tuple[Any, dict]:
        net, meta = super().load_model(path)
        net.meta = meta  # evaluation and parity decode with the checkpoint's sizes and settings
        return net, meta

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.seq2seq.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split, network.meta)

    def report_tables(self, report: dict) -> list[Any]:
        from aiaas_recipes.seq2seq.evaluation import worst_table

        return [worst_table(report)]

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.seq2seq.evaluation import write_worst

        return [write_worst(report, out_dir)]

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.seq2seq.export import export_spec

        return export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.seq2seq import tokens
        from aiaas_recipes.seq2seq.export import samples

        return samples(dataset_dir, split, limit, int((manifest.get("specials") or tokens.own_specials())["pad_id"]))

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        from aiaas_recipes.seq2seq.export import torch_decode

        return torch_decode(network, network.meta, inputs)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.seq2seq.export import compare

        return compare(expected, actual)

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.seq2seq.export import score

        return score(outputs, targets)

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        from aiaas_recipes.seq2seq.dataset import read_pairs

        return [(pair["where"], pair["source"]) for pair in read_pairs(dataset_dir, "test")[:limit]]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.seq2seq.builtin import SIZES, write_numbers

        path = write_numbers(Path(workdir) / "pairs.tsv", SIZES["numbers-tiny"])
        small = ["model.width=16", "model.layers=1", "model.decoder_layers=1", "model.heads=2", "model.ff=32"]
        return [f"data.path={path}", "data.tokenizer.vocab_size=120", "data.batch_size=8", *small]


recipe = SequenceToSequence()
