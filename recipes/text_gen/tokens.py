"""The tokenizer of a text-gen model: a byte-level BPE trained at preprocess (model=gpt_small), or a hub model's own
(model=hf). Both are a `tokenizers` JSON string, so evaluation and the service encode with the same Rust tokenizer,
without Transformers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

EOS = "<|endoftext|>"
SPECIAL = [EOS, "<|system|>", "<|user|>", "<|assistant|>"]  # the simple chat template's markers are single tokens


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Any:
    """A byte-level BPE learnt from ``texts`` (train split only). Digits stay single tokens: a number's digits
    then mean the same everywhere, which arithmetic needs."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def own(texts: Iterable[str], vocab_size: int) -> dict:
    """What the dataset records of a newly trained tokenizer (see ``hub``)."""
    tokenizer = train_bpe(texts, vocab_size)
    eos = tokenizer.token_to_id(EOS)
    return {"tokenizer": tokenizer.to_str(), "eos_id": eos, "pad_id": eos, "chat_template": None,
            "eos_token": EOS, "bos_token": ""}  # fmt: skip


def hub(cfg: Any) -> dict:
    """A hub model's tokenizer (tokenizer.json), its end and padding ids and its chat template (None: the simple
    one)."""
    from aiaas_recipes.common.backbones import hf

    auto = hf.load_tokenizer(cfg)
    eos = auto.eos_token_id
    if eos is None:
        from aiaas_cli.errors import UserError

        raise UserError(f"the tokenizer of {cfg.model.name} has no end-of-text token", "use a causal LM's tokenizer")
    template = auto.chat_template if isinstance(getattr(auto, "chat_template", None), str) else None
    return {
        "tokenizer": auto.backend_tokenizer.to_str(),
        "eos_id": int(eos),
        "pad_id": int(auto.pad_token_id if auto.pad_token_id is not None else eos),
        "chat_template": template,
        "eos_token": str(auto.eos_token or ""),
        "bos_token": str(auto.bos_token or ""),
    }


def digest(info: dict) -> str:
    return hashlib.sha256(info["tokenizer"].encode()).hexdigest()
