"""model=hf for seq2seq: a Transformers encoder-decoder (AutoModelForSeq2SeqLM: T5, BART, Marian families; a hub id
or a save_pretrained folder), full or LoRA, in the three shapes of the from-scratch model, so that the same export,
decode loop (decode.py) and service serve it:

- ``forward(src_ids, src_mask, tgt_in)``: teacher-forced logits;
- ``encoder_graph``: every decoder layer's cross-attention keys/values of the encoder's output, once per request;
- ``step``: the decoder step of recipes/common/generation/kv.py, its self-attention cache stacked into ``past`` and the
  cross-attention cache given from ``memory_kv`` (so Transformers never recomputes it).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch

from aiaas_recipes.common.backbones.hf import MergedCheckpoints, causal_mask
from aiaas_recipes.seq2seq.module import Translator

HEAD = "seq2seq"


def sizes(config: Any) -> dict:
    """The decoder's layers, heads and head width (T5 and BART-like configs name them differently)."""
    heads = int(getattr(config, "num_heads", None) or config.decoder_attention_heads)
    layers = int(getattr(config, "num_decoder_layers", None) or config.decoder_layers)
    return {"layers": layers, "heads": heads, "head_dim": int(getattr(config, "d_kv", None) or config.d_model // heads)}


class HubSeq2Seq(torch.nn.Module):
    def __init__(self, model: Any):
        super().__init__()
        self.model = model
        self.names = ["input_ids", "attention_mask", "decoder_input_ids"]  # MergedCheckpoints rebuilds with these
        self.decoder_spec = sizes(model.config)

    def base(self) -> Any:
        """The Transformers model (under peft's wrapper when LoRA trains)."""
        return self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model

    def forward(self, src_ids: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=src_ids, attention_mask=src_mask, decoder_input_ids=tgt_in).logits

    def _cross_projections(self) -> list[tuple[Any, Any]]:
        decoder = self.base().get_decoder()
        if hasattr(decoder, "block"):  # T5
            return [(b.layer[1].EncDecAttention.k, b.layer[1].EncDecAttention.v) for b in decoder.block]
        return [(layer.encoder_attn.k_proj, layer.encoder_attn.v_proj) for layer in decoder.layers]

    def encoder_graph(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """memory_kv [batch, layers, 2, heads, source, head_dim]"""
        hidden = self.base().get_encoder()(input_ids=src_ids, attention_mask=src_mask).last_hidden_state
        heads, head_dim = self.decoder_spec["heads"], self.decoder_spec["head_dim"]

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], x.shape[1], heads, head_dim).transpose(1, 2)

        kv = [torch.stack([split(k(hidden)), split(v(hidden))], dim=1) for k, v in self._cross_projections()]
        return torch.stack(kv, dim=1)

    def step(self, tokens, positions, attention_mask, past, memory_kv, memory_mask):
        """(logits [batch, new, vocab], present): the decoder over ``tokens`` after ``past``."""
        from transformers import DynamicCache, EncoderDecoderCache

        own, cross = DynamicCache(), DynamicCache()
        for layer in range(past.shape[0]):
            own.update(past[layer, 0], past[layer, 1], layer)
            cross.update(memory_kv[:, layer, 0], memory_kv[:, layer, 1], layer)
        cache = EncoderDecoderCache(own, cross)
        for layer in range(past.shape[0]):
            cache.is_updated[layer] = True  # the cross keys/values are given: never projected again
        base = self.base()
        # the encoder's output itself is not needed (its keys/values are in the cache); a stand-in of its shape
        stand_in = memory_kv.new_zeros(memory_kv.shape[0], memory_kv.shape[4], base.config.d_model)
        cross_mask = (1.0 - memory_mask[:, None, None, :].float()) * -1e9
        cache_arg = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
        with given_positions(base, positions):
            out = base(encoder_outputs=(stand_in,), attention_mask=cross_mask, decoder_input_ids=tokens,
                       decoder_attention_mask=causal_mask(attention_mask, tokens), use_cache=True,
                       **{cache_arg: cache})  # fmt: skip
        present = out.past_key_values.self_attention_cache
        stacked = torch.stack([torch.stack([layer.keys, layer.values]) for layer in present.layers])
        # T5's positions are relative (it never reads ``positions``): a term that changes nothing keeps the input,
        # which the stepper feeds to every decoder graph
        return out.logits + (positions[:, :, None] * 0).to(out.logits.dtype), stacked


@contextlib.contextmanager
def given_positions(base: Any, positions: torch.Tensor) -> Iterator[None]:
    """BART and Marian number the new tokens from the cache's length, which counts the cache's masked slots (the
    stepper's dummy slot, rows that left): inside this block their decoder embeds ``positions`` instead. The decode
    loop moves every row one token per step, so the rows share their positions (the first row's)."""
    embed = getattr(base.get_decoder(), "embed_positions", None)
    if embed is None:
        yield
        return

    def ours(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return args, {**kwargs, "position_ids": positions[0]}

    handle = embed.register_forward_pre_hook(ours, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()


class HubTranslator(MergedCheckpoints, Translator):
    """A Translator around a Transformers encoder-decoder, LoRA adapters merged into every checkpoint."""


def tokenizer_info(cfg: Any) -> dict:
    """The model's own (fast) tokenizer and its special ids from the model's config (the decoder's first input,
    the end, padding): what the dataset is encoded with and the service ships."""
    from transformers import AutoConfig

    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.backbones.hub import is_offline, load_hf

    auto = hf.load_tokenizer(cfg)
    with hf.quiet():
        config = load_hf(AutoConfig.from_pretrained, str(cfg.model.name), is_offline(cfg),
                         revision=cfg.model.get("revision") or "main")  # fmt: skip
    pad = config.pad_token_id if config.pad_token_id is not None else auto.pad_token_id
    start = config.decoder_start_token_id if config.decoder_start_token_id is not None else pad
    specials = {"pad_id": pad, "bos_id": start, "eos_id": config.eos_token_id, "unk_id": auto.unk_token_id}
    if any(specials[key] is None for key in ("pad_id", "bos_id", "eos_id")):
        from aiaas_cli.errors import UserError

        raise UserError(f"{cfg.model.name} names no padding, decoder start or end token", "use a seq2seq model")
    return {
        "name": str(cfg.model.name),
        "tokenizer": auto.backend_tokenizer.to_str(),
        "specials": {**specials, "source_specials": True},
        "vocab_size": int(config.vocab_size),
    }


def load(cfg: Any) -> Any:
    """The hub model (train mode) and where it came from (hf.Pretrained)."""
    from transformers import AutoModelForSeq2SeqLM

    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.backbones.hub import hf_source, is_offline, load_hf

    with hf.quiet():
        model = load_hf(AutoModelForSeq2SeqLM.from_pretrained, str(cfg.model.name), is_offline(cfg),
                        revision=cfg.model.get("revision") or "main")  # fmt: skip
    if cfg.get("finetune") is not None and cfg.finetune.get("gradient_checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()  # from_pretrained gives eval mode, which Lightning would keep through training
    return hf.Pretrained(model, set(), hf_source(str(cfg.model.name), model.config))


def model(cfg: Any, meta: dict) -> Any:
    """The LightningModule around the hub model (LoRA adapters when finetune.lora.r > 0)."""
    from aiaas_recipes.common.backbones import hf
    from aiaas_recipes.common.module import optimizers_from

    pretrained = load(cfg)
    net = HubSeq2Seq(hf.with_lora(pretrained, cfg, HEAD))
    meta = {**meta, "hub": {"name": str(cfg.model.name), "head": HEAD, "config": pretrained.model.config.to_dict()}}
    optimizer, scheduler = optimizers_from(cfg)
    module = HubTranslator(net, optimizer, scheduler, meta, float(cfg.loss.label_smoothing))
    return hf.mark_pretrained(module, pretrained)


def rebuild(hub: dict) -> HubSeq2Seq:
    """The network from a checkpoint's config dict alone (no hub needed); the checkpoint brings the weights."""
    from aiaas_recipes.common.backbones import hf

    return HubSeq2Seq(hf.from_config(HEAD, hub["config"]))
