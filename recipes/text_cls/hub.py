"""text-cls with a hub model (model=hf): the model's own tokenizer in preprocessing, a Transformers sequence
classification head, LoRA when asked, and the export spec of a network taking ids and attention mask."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

HEAD = "sequence"


def tokenizer(cfg: Any) -> tuple[Any, dict]:
    """The model's tokenizer ready to encode (``hub_tokens.HubTokenizer``) and what the manifest records of it."""
    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.text import hub_tokens

    auto = hf.load_tokenizer(cfg)
    serialized = auto.backend_tokenizer.to_str()
    pad_id = auto.pad_token_id if auto.pad_token_id is not None else 0  # masked out either way
    inputs = hf.tokenizer_inputs(auto)
    info = {
        "name": str(cfg.model.name),
        "revision": cfg.model.get("revision"),
        "pad_id": int(pad_id),
        "inputs": inputs,
        "tokenizer_sha256": hashlib.sha256(serialized.encode()).hexdigest(),
    }
    return hub_tokens.load(serialized, int(cfg.data.max_length), pad_id, inputs), info


def fingerprint_part(cfg: Any) -> dict:
    """The model and its tokenizer (the hash of its tokenizer.json) for the dataset's cache key."""
    return {key: value for key, value in tokenizer(cfg)[1].items() if key != "inputs"}


def model(cfg: Any, manifest: dict, dataset_dir: Path, recipe: str) -> Any:
    """The LightningModule: a hub model with a new head for the manifest's classes (LoRA when finetune.lora.r > 0)."""
    from omegaconf import OmegaConf

    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.module import optimizers_from
    from aiaas_recipes.common.text.tokenizer import read_tokenizer
    from aiaas_recipes.text_cls.datamodule import check_balance, class_weights

    check_balance(cfg.data.balance)
    classes, hub = manifest["classes"], manifest["hub"]
    pretrained = hf.from_pretrained(HEAD, cfg, classes)
    inputs = hf.input_names(pretrained.model, hub["inputs"])
    net = hf.TransformersNet(hf.with_lora(pretrained, cfg, HEAD), inputs)
    meta = {
        "recipe": recipe,
        "classes": classes,
        "max_length": manifest["max_length"],
        "tokenizer": read_tokenizer(dataset_dir),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "hub": hf.meta(HEAD, pretrained.model, inputs, hub["pad_id"]),
    }
    optimizer, scheduler = optimizers_from(cfg)
    weights = class_weights(manifest["counts"]["train"]) if cfg.data.balance == "class_weights" else None
    module = hf.HubClassifier(net, optimizer, scheduler, cfg.loss.label_smoothing, meta, weights)
    return hf.mark_pretrained(module, pretrained)


def export_example(meta: dict) -> tuple:
    """Two rows (one half padding) at about half of max_length: the parity check then runs at max_length and another
    batch size, so both axes are proven symbolic (a graph right only at its example's shape fails there)."""
    import torch

    max_length = int(meta["max_length"])
    length = max(2, max_length // 2) if max_length > 3 else max_length
    ids = torch.ones(2, length, dtype=torch.long)
    mask = torch.ones(2, length, dtype=torch.long)
    mask[1, length // 2 + 1 :] = 0
    ids[1, length // 2 + 1 :] = int(meta["hub"]["pad_id"])
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return tuple(tensors[name] for name in meta["hub"]["inputs"])


def export_spec(meta: dict):
    from aiaas_cli.recipe_api import ExportSpec
    from aiaas_recipes.common.backbones.hf import INT8_OPS

    inputs = list(meta["hub"]["inputs"])
    return ExportSpec(
        example_inputs=export_example(meta),
        input_names=inputs,
        output_names=["logits"],
        dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in inputs}, "logits": {0: "batch"}},
        metadata={
            "labels": list(meta["classes"]),
            "max_length": int(meta["max_length"]),
            "tokenizer": meta["tokenizer"],  # tokenizer.json: the service tokenizes with `tokenizers`, no Transformers
            "hub": {"pad_id": int(meta["hub"]["pad_id"]), "inputs": inputs},
            "model": f"hf: {meta['model'].get('name')}",
            "int8_op_types": INT8_OPS,
        },
    )


def samples(dataset_dir: Path, manifest: dict, split: str, limit: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """A seeded random subset of ``split`` as the serving adapter feeds it: full max_length, attention mask."""
    from aiaas_recipes.common.text import hub_tokens

    root = Path(dataset_dir)
    labels = np.load(root / f"{split}_y.npy")
    pick = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
    ids = np.load(root / f"{split}_ids.npy", mmap_mode="r")[pick]
    lengths = np.load(root / f"{split}_len.npy")[pick]
    types_file = root / f"{split}_types.npy"
    types = np.load(types_file, mmap_mode="r")[pick] if types_file.exists() else None
    return hub_tokens.feeds(manifest["hub"]["inputs"], ids, lengths, types), labels[pick]
