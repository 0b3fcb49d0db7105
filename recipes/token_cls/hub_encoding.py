"""Text -> words -> a hub model's sub-tokens in rows framed by its special tokens ([CLS] ... [SEP]). Torch-free.

The same layout as ``encoding`` (a word's label on its first sub-token, a long text cut into several rows at word
boundaries, nothing truncated), with the words the hub tokenizer's own pre-tokenizer makes (its word_ids) and each
row wrapped in the special tokens its post-processor adds, padded with its pad id; ``lengths`` gives the attention
mask. Preprocessing, evaluation and the service all encode through here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiaas_recipes.common.text.hub_tokens import HubTokenizer
from aiaas_recipes.token_cls.encoding import Encoded, _layout, _with_marks


@dataclass
class HubRows(Encoded):
    lengths: np.ndarray | None = None  # (R,) tokens per row, special tokens included


def frame(hub: HubTokenizer) -> tuple[list[int], list[int]]:
    """The special token ids the model's post-processor puts before and after one text."""
    probe = hub.tokenizer.encode("a", add_special_tokens=False)
    done = hub.tokenizer.post_process(probe)
    special = list(done.special_tokens_mask)
    if 0 not in special:
        return [], []
    first, last = special.index(0), len(special) - special[::-1].index(0)
    return list(done.ids[:first]), list(done.ids[last:])


def encode_many(hub: HubTokenizer, texts: list[str]) -> list[HubRows]:
    """The rows of each text, in one (multi-threaded) tokenizer call."""
    prefix, suffix = frame(hub)
    encodings = hub.tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
    return [_rows(text, e, prefix, suffix, hub) for text, e in zip(texts, encodings)]


def encode(hub: HubTokenizer, text: str) -> HubRows:
    return encode_many(hub, [text])[0]


def _rows(text: str, encoding, prefix: list[int], suffix: list[int], hub: HubTokenizer) -> HubRows:
    width = max(hub.max_length - len(prefix) - len(suffix), 1)
    place, positions, spans = _layout(encoding, width)
    spans = _with_marks(text, spans)
    count = int(place[:, 0].max()) + 1 if len(place) else 1
    rows = np.full((count, hub.max_length), hub.pad_id, dtype=np.int64)
    content = np.bincount(place[:, 0], minlength=count) if len(place) else np.zeros(count, np.int64)
    rows[:, : len(prefix)] = prefix
    if len(place):
        rows[place[:, 0], place[:, 1] + len(prefix)] = encoding.ids
    for row, size in enumerate(content.tolist()):
        rows[row, len(prefix) + size : len(prefix) + size + len(suffix)] = suffix
    lengths = content + len(prefix) + len(suffix)
    return HubRows(rows, positions + np.asarray([0, len(prefix)]), spans, lengths.astype(np.int64))
