"""model=hf for text-gen: a Transformers causal LM (hub id or save_pretrained folder), full or LoRA, wrapped as the
decoder step of common/generation/kv.py: its past key/values stacked into one ``past`` tensor, positions given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from aiaas_recipes.common.backbones.hf import causal_mask as additive_mask

HEAD = "causal"


class CausalStep(torch.nn.Module):
    """A causal LM as a decoder step: (tokens, positions, attention_mask, past) -> (logits, present)."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model
        self.names = ["tokens", "positions", "attention_mask", "past"]
        config = model.config
        heads = int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        self.sizes = {"layers": int(config.num_hidden_layers), "heads": heads, "head_dim": head_dim,
                      "vocab": int(config.vocab_size), "max_positions": max_positions(config)}  # fmt: skip

    def forward(self, tokens, positions, attention_mask, past):
        from transformers import DynamicCache

        cache = DynamicCache()
        for layer in range(past.shape[0]):
            cache.update(past[layer, 0], past[layer, 1], layer)
        out = self.model(input_ids=tokens, position_ids=positions, attention_mask=additive_mask(attention_mask, tokens),
                         past_key_values=cache, use_cache=True)  # fmt: skip
        present = out.past_key_values
        stacked = [torch.stack([layer.keys, layer.values]) for layer in present.layers]
        return out.logits, torch.stack(stacked)

    def empty_past(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        s = self.sizes
        return torch.zeros(s["layers"], 2, batch, s["heads"], 1, s["head_dim"], device=device)


def max_positions(config: Any) -> int:
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    return 2048


def load(cfg: Any) -> Any:
    """The hub model (train mode) and where it came from (hf.Pretrained)."""
    from transformers import AutoModelForCausalLM

    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.backbones.hub import hf_source, is_offline, load_hf

    kwargs = {"revision": cfg.model.get("revision") or "main"}
    with hf.quiet():
        model = load_hf(AutoModelForCausalLM.from_pretrained, str(cfg.model.name), is_offline(cfg), **kwargs)
    if cfg.get("finetune") is not None and cfg.finetune.get("gradient_checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    return hf.Pretrained(model, set(), hf_source(str(cfg.model.name), model.config))


def with_lora(pretrained: Any, cfg: Any) -> Any:
    from aiaas_recipes.common.backbones import lora

    if cfg.get("finetune") is None or not lora.wanted(cfg.finetune):
        return pretrained.model
    return lora.apply(pretrained.model, cfg.finetune.lora, HEAD)


def model(cfg: Any, manifest: dict, dataset_dir: Path, meta: dict) -> Any:
    """The LightningModule around the hub model (LoRA when finetune.lora.r > 0)."""
    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.module import optimizers_from
    from aiaas_recipes.text_gen.training import HubLanguageModel

    pretrained = load(cfg)
    net = CausalStep(with_lora(pretrained, cfg))
    meta = {**meta, "hub": {"head": HEAD, "config": pretrained.model.config.to_dict()}}
    optimizer, scheduler = optimizers_from(cfg)
    return hf.mark_pretrained(HubLanguageModel(net, optimizer, scheduler, meta), pretrained)


def rebuild(hub: dict) -> CausalStep:
    """The network from a checkpoint's config dict alone (no hub needed); the checkpoint brings the weights."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from aiaas_recipes.common.backbones import hf

    values = dict(hub["config"])
    with hf.quiet():
        net = AutoModelForCausalLM.from_config(AutoConfig.for_model(values.pop("model_type"), **values))
    return CausalStep(net)
