"""token-cls with a hub model (model=hf): the model's own tokenizer in preprocessing (words as its pre-tokenizer
splits them, each word's tag on its first sub-token), a Transformers token classification head, LoRA when asked, and
the export spec of a network taking ids and attention mask. Token type ids are left out: one sentence is all type 0,
which is what the models assume without them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

HEAD = "token"
INPUTS = ["input_ids", "attention_mask"]


def tokenizer(cfg: Any) -> tuple[Any, dict]:
    """The model's tokenizer ready to encode (``hub_tokens.HubTokenizer``) and what the manifest records of it."""
    from aiaas_cli.errors import ConfigError
    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.text import hub_tokens

    auto = hf.load_tokenizer(cfg)
    serialized = auto.backend_tokenizer.to_str()
    pad_id = auto.pad_token_id if auto.pad_token_id is not None else 0  # masked out either way
    hub = hub_tokens.load(serialized, int(cfg.data.max_length), pad_id, INPUTS)
    if hub.max_length <= hub.specials + 1:
        raise ConfigError(f"data.max_length={hub.max_length} leaves no room beside the model's special tokens")
    info = {
        "name": str(cfg.model.name),
        "revision": cfg.model.get("revision"),
        "pad_id": int(pad_id),
        "inputs": INPUTS,
        "tokenizer_sha256": hashlib.sha256(serialized.encode()).hexdigest(),
    }
    return hub, info


def fingerprint_part(cfg: Any) -> dict:
    """The model and its tokenizer (the hash of its tokenizer.json) for the dataset's cache key."""
    return {key: value for key, value in tokenizer(cfg)[1].items() if key != "inputs"}


def model(cfg: Any, manifest: dict, dataset_dir: Path, recipe: str) -> Any:
    """The LightningModule: a hub model with a new token head for the manifest's tags (LoRA when finetune.lora.r>0)."""
    from omegaconf import OmegaConf

    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.module import optimizers_from
    from aiaas_recipes.common.text.tokenizer import read_tokenizer
    from aiaas_recipes.token_cls.module import Tagger

    class HubTagger(hf.MergedCheckpoints, Tagger):
        """A Tagger whose checkpoints hold merged (plain) Transformers weights."""

    pretrained = hf.from_pretrained(HEAD, cfg, list(manifest["tags"]))
    net = hf.TransformersNet(hf.with_lora(pretrained, cfg, HEAD), INPUTS)
    meta = {
        "recipe": recipe,
        "tags": manifest["tags"],
        "types": manifest["types"],
        "max_length": manifest["max_length"],
        "tokenizer": read_tokenizer(dataset_dir),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "hub": hf.meta(HEAD, pretrained.model, INPUTS, manifest["hub"]["pad_id"]),
    }
    optimizer, scheduler = optimizers_from(cfg)
    module = HubTagger(net, optimizer, scheduler, meta)
    return hf.mark_pretrained(module, pretrained)


def export_spec(meta: dict):
    """Two rows at about half of max_length, one half padding; parity then runs at the samples' own length and
    batch size, so both axes are proven symbolic."""
    import torch

    from aiaas_cli.recipe_api import ExportSpec
    from aiaas_recipes.common.backbones.hf import INT8_OPS

    max_length = int(meta["max_length"])
    length = max(2, max_length // 2) if max_length > 3 else max_length
    ids, mask = torch.ones(2, length, dtype=torch.long), torch.ones(2, length, dtype=torch.long)
    mask[1, length // 2 + 1 :] = 0
    ids[1, length // 2 + 1 :] = int(meta["hub"]["pad_id"])
    axes = {0: "batch", 1: "sequence"}
    return ExportSpec(
        example_inputs=(ids, mask),
        input_names=list(INPUTS),
        output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes},
        metadata={
            "labels": list(meta["tags"]),
            "types": list(meta["types"]),
            "max_length": max_length,
            "tokenizer": meta["tokenizer"],  # tokenizer.json: the service tokenizes with `tokenizers`, no Transformers
            "hub": {"pad_id": int(meta["hub"]["pad_id"]), "inputs": list(INPUTS)},
            "model": f"hf: {meta['model'].get('name')}",
            "int8_op_types": INT8_OPS,
        },
    )


def samples(arrays: dict, pick: np.ndarray) -> tuple[dict, np.ndarray, int]:
    """The picked rows' feeds cut to their longest row (another length than the export's example), their tags, and
    that length."""
    lengths = np.asarray(arrays["len"])[pick].astype(np.int64)
    longest = max(int(lengths.max()), 1) if len(lengths) else 1
    ids = np.asarray(arrays["ids"][pick][:, :longest], dtype=np.int64)
    mask = (np.arange(longest)[None, :] < lengths[:, None]).astype(np.int64)
    return {"input_ids": ids, "attention_mask": mask}, arrays["tags"][pick][:, :longest].astype(np.int64), longest
