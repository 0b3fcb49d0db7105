"""Text -> words -> sub-tokens in rows of at most max_length, with each word's character span. Torch-free.

Preprocessing, evaluation and serving all go through ``encode``: a word is what the tokenizer's
pre-tokenizer makes of the text (split on whitespace and punctuation), its label sits on its first
sub-token, and its span indexes the original text in characters (code points), whatever the normaliser
did to accents or control characters. A text longer than max_length sub-tokens is cut into several rows
at word boundaries, so nothing is truncated: evaluation and the service see every word.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from aiaas_recipes.common.text.tokenizer import PAD, PAD_ID, UNK

# Always in the vocabulary, whatever the train split holds: a test name with a letter the train split lacks
# must not turn into [UNK] as a whole word (WordPiece does that), which would also hide its capital.
UNK_ID = 1  # after PAD_ID among the special tokens (see ``train``)
ALPHABET = sorted(set(string.ascii_letters + string.digits + string.punctuation))


@dataclass
class Encoded:
    rows: np.ndarray  # (R, max_length) int64 sub-token ids, padded with PAD_ID
    positions: np.ndarray  # (W, 2) int64: row and column of each word's first sub-token
    spans: np.ndarray  # (W, 2) int64: each word's character start and end in the text


def _normalizer() -> normalizers.Normalizer:
    # case kept (a capital is the strongest hint of a name); accents stripped, so "Zoë" shares pieces with "Zoe"
    return normalizers.BertNormalizer(lowercase=False, strip_accents=True)


def train(texts: Iterable[str], vocab_size: int = 4000, min_frequency: int = 2) -> Tokenizer:
    """A cased WordPiece tokenizer learnt from ``texts`` (the train split only)."""
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD, UNK], show_progress=False,
        initial_alphabet=ALPHABET,
    )  # fmt: skip
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.encode_special_tokens = True  # a user's literal "[PAD]" is text, not the padding id
    return tokenizer


SHAPES = 10  # piece shapes, see ``piece_shapes``


def piece_shapes(tokenizer: Tokenizer) -> list[int]:
    """Per vocabulary id, the shape of its piece: 0 padding, 1 [UNK], then word-start pieces (2 capital,
    3 lower case, 4 digit, 5 other) and continuations "##..." (6-9 alike). A network sees the shape of a
    piece it hardly met in training (an unseen word's pieces), shared with every piece of that shape."""
    shapes = [0] * tokenizer.get_vocab_size()
    for piece, index in tokenizer.get_vocab().items():
        if piece in (PAD, UNK):
            shapes[index] = 0 if piece == PAD else 1
            continue
        body, offset = (piece[2:], 6) if piece.startswith("##") and len(piece) > 2 else (piece, 2)
        first = body[:1]
        kind = 0 if first.isupper() else 1 if first.islower() else 2 if first.isdigit() else 3
        shapes[index] = offset + kind
    return shapes


def segmenter() -> Tokenizer:
    """A tokenizer that only splits words (one token per word), for checking spans before any training."""
    tokenizer = Tokenizer(models.WordLevel({UNK: 0}, unk_token=UNK))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def word_spans(tokenizer: Tokenizer, text: str) -> np.ndarray:
    """(W, 2) character spans of the words of ``text``."""
    return _with_marks(text, _layout(tokenizer.encode(text, add_special_tokens=False), 1 << 30)[2])


def encode(tokenizer: Tokenizer, text: str, max_length: int) -> Encoded:
    """The sub-token rows of one text and where its words are."""
    return _rows(text, tokenizer.encode(text, add_special_tokens=False), max_length)


def encode_many(tokenizer: Tokenizer, texts: list[str], max_length: int) -> list[Encoded]:
    """``encode`` for many texts in one (multi-threaded) call."""
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    return [_rows(text, e, max_length) for text, e in zip(texts, encodings)]


def _layout(encoding, max_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of every sub-token, and the words' first sub-tokens and spans.

    A word moves whole to the next row when it does not fit in the current one; only a word longer than a
    row is cut."""
    word_ids, offsets = encoding.word_ids, encoding.offsets
    place = np.zeros((len(word_ids), 2), dtype=np.int64)
    firsts, spans, row, column = [], [], 0, 0
    for i, word in enumerate(word_ids):
        starts_word = i == 0 or word != word_ids[i - 1]
        if starts_word:
            size = next((j for j in range(i, len(word_ids)) if word_ids[j] != word), len(word_ids)) - i
            if column and column + size > max_length:
                row, column = row + 1, 0
        if column == max_length:
            row, column = row + 1, 0
        place[i] = row, column
        column += 1
        if starts_word:
            firsts.append(i)
            spans.append([offsets[i][0], offsets[i][1]])
        else:
            spans[-1][1] = max(spans[-1][1], offsets[i][1])
    first = np.asarray(firsts, dtype=np.int64)
    return place, place[first] if len(first) else np.zeros((0, 2), np.int64), np.asarray(spans, np.int64).reshape(-1, 2)


def _with_marks(text: str, spans: np.ndarray) -> np.ndarray:
    """Spans stretched over the combining marks that end their word ("Zoe" + U+0301): the normaliser strips
    accents, so the tokenizer's offsets stop before them, but they belong to the word."""
    for span in spans:
        while span[1] < len(text) and unicodedata.category(text[span[1]]).startswith("M"):
            span[1] += 1
    return spans


def _rows(text: str, encoding, max_length: int) -> Encoded:
    place, positions, spans = _layout(encoding, max_length)
    spans = _with_marks(text, spans)
    rows = np.full((int(place[:, 0].max()) + 1 if len(place) else 1, max_length), PAD_ID, dtype=np.int64)
    if len(place):
        rows[place[:, 0], place[:, 1]] = encoding.ids
    return Encoded(rows, positions, spans)
