"""A hub model's own tokenizer (its tokenizer.json, read by the Rust `tokenizers` library): texts -> the feeds a
Transformers encoder takes. Torch-free and Transformers-free: preprocessing, evaluation and the served model all encode
through here, so the ids a served model sees are the ids it was trained on.

Truncation is done here, not by the tokenizer's saved settings: a text is cut to max_length minus the special tokens
the model's post-processor adds ([CLS] ... [SEP]), then those are added, as Transformers does with truncation=True.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer

MASK, TYPES = "attention_mask", "token_type_ids"


@dataclass
class HubTokenizer:
    tokenizer: Tokenizer
    max_length: int
    pad_id: int
    inputs: list[str]  # the ONNX input names: input_ids, attention_mask (, token_type_ids)

    @property
    def specials(self) -> int:
        """Tokens the post-processor adds around one text."""
        return self.tokenizer.num_special_tokens_to_add(False)


@dataclass
class HubEncoded:
    ids: np.ndarray  # (N, max_length) int64, padded with the model's pad id
    lengths: np.ndarray  # (N,) tokens kept, special tokens included
    full_lengths: np.ndarray  # (N,) tokens before truncation
    types: np.ndarray | None = None  # (N, max_length) token type ids, when the model takes them

    @property
    def truncated(self) -> np.ndarray:
        return self.full_lengths > self.lengths


def load(serialized: str, max_length: int, pad_id: int, inputs: list[str]) -> HubTokenizer:
    """The tokenizer from its JSON string (the dataset dir's tokenizer.json, the ONNX metadata)."""
    tokenizer = Tokenizer.from_str(serialized)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return HubTokenizer(tokenizer, int(max_length), int(pad_id), list(inputs))


def encodings(hub: HubTokenizer, texts: list[str]) -> tuple[list[Encoding], np.ndarray]:
    """Each text's encoding, truncated and with the special tokens, and its length before truncation."""
    raw = hub.tokenizer.encode_batch_fast(texts, add_special_tokens=False) if texts else []
    keep = max(hub.max_length - hub.specials, 1)
    full = np.asarray([len(e.ids) + hub.specials for e in raw], dtype=np.int64)
    done = []
    for encoding in raw:
        encoding.truncate(keep)
        done.append(hub.tokenizer.post_process(encoding))
    return done, full


def encode(hub: HubTokenizer, texts: list[str]) -> HubEncoded:
    """Padded id arrays of ``texts`` (and token types when the model takes them)."""
    done, full = encodings(hub, texts)
    ids = np.full((len(texts), hub.max_length), hub.pad_id, dtype=np.int64)
    types = np.zeros((len(texts), hub.max_length), dtype=np.int64) if TYPES in hub.inputs else None
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, encoding in enumerate(done):
        kept = encoding.ids[: hub.max_length]
        ids[row, : len(kept)] = kept
        lengths[row] = len(kept)
        if types is not None:
            types[row, : len(kept)] = encoding.type_ids[: hub.max_length]
    return HubEncoded(ids, lengths, full, types)


def mask(lengths: np.ndarray, width: int) -> np.ndarray:
    """(N, width) attention mask: 1 on each row's first ``length`` positions."""
    return (np.arange(width)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)


def feeds(inputs: list[str], ids: np.ndarray, lengths: np.ndarray, types: np.ndarray | None) -> dict[str, np.ndarray]:
    """The model's feeds, by ONNX input name, from ids, lengths and token types."""
    ids = np.asarray(ids, dtype=np.int64)
    out = {"input_ids": ids, MASK: mask(lengths, ids.shape[1])}
    if TYPES in inputs:
        out[TYPES] = np.zeros_like(ids) if types is None else np.asarray(types, dtype=np.int64)
    return {name: out[name] for name in inputs}
