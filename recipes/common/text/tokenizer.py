"""The subword tokenizer (Hugging Face `tokenizers`) and batched encoding to padded id arrays. Torch-free.

Preprocessing, evaluation and serving all encode through ``encode``, so the ids a served model sees are
the ids it was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID = 0  # the models mask id 0 out; it must stay the first special token
KINDS = ("wordpiece", "bpe")
TOKENIZER_FILE = "tokenizer.json"  # in the dataset dir, beside the arrays


@dataclass
class Encoded:
    ids: np.ndarray  # (N, max_length) int64, padded with PAD_ID
    lengths: np.ndarray  # (N,) tokens kept (<= max_length)
    full_lengths: np.ndarray  # (N,) tokens before truncation

    @property
    def truncated(self) -> np.ndarray:
        return self.full_lengths > self.lengths


def train(texts: Iterable[str], kind: str = "wordpiece", vocab_size: int = 8000, min_frequency: int = 2,
          lowercase: bool = True) -> Tokenizer:  # fmt: skip
    """A new subword tokenizer learnt from ``texts`` (the train split only: the test split stays unseen)."""
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK, continuing_subword_prefix="##"))
        trainer = trainers.BpeTrainer
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer
    # BERT's normaliser strips accents and control characters; splitting on whitespace and punctuation
    # keeps "great!" and "great" one subword apart.
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        texts,
        trainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD, UNK], show_progress=False),
    )
    tokenizer.encode_special_tokens = True  # a user's literal "[PAD]" is text, not the padding id
    return tokenizer


def load(serialized: str) -> Tokenizer:
    """A tokenizer from its JSON string (as stored in the dataset dir and the ONNX metadata)."""
    tokenizer = Tokenizer.from_str(serialized)
    tokenizer.encode_special_tokens = True  # not kept by to_str()
    return tokenizer


def read_tokenizer(dataset_dir: Path) -> str:
    """The JSON string of the tokenizer the dataset dir was encoded with."""
    return (Path(dataset_dir) / TOKENIZER_FILE).read_text(encoding="utf-8")


def encode(tokenizer: Tokenizer, texts: list[str], max_length: int) -> Encoded:
    """Token ids of ``texts`` in one batched (multi-threaded, Rust) call, truncated and padded to ``max_length``."""
    encodings = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    ids = np.full((len(texts), max_length), PAD_ID, dtype=np.int64)
    full = np.zeros(len(texts), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        tokens = encoding.ids
        full[row] = len(tokens)
        kept = tokens[:max_length]
        ids[row, : len(kept)] = kept
    return Encoded(ids, np.minimum(full, max_length), full)
