"""The subword tokenizer of seq2seq (Hugging Face `tokenizers`, BPE), one vocabulary shared by sources and targets.
Torch-free: preprocessing, evaluation and the service encode and decode through it, and the exported model carries it
in its metadata, so a served model needs nothing but its ONNX files.

Spaces become "▁" (Metaspace), so decoding gives the text back with its spacing; digits are single tokens, so
numbers are written digit by digit whatever the training data held.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

SPECIALS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)
FILE = "tokenizer.json"


def train(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """A BPE tokenizer learnt from ``texts`` (the train split's sources and targets)."""
    tokenizer = Tokenizer(models.BPE(unk_token=SPECIALS[UNK_ID]))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIALS), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.encode_special_tokens = True  # a user's literal "[EOS]" is text, not the end
    return tokenizer


def load(serialized: str) -> Tokenizer:
    """A tokenizer from its JSON string (the dataset's tokenizer.json, the model's metadata)."""
    tokenizer = Tokenizer.from_str(serialized)
    tokenizer.encode_special_tokens = True  # not kept by to_str()
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str], specials: bool = False) -> list[list[int]]:
    """Token ids of each text, in one batched call; ``specials``: with the ones the tokenizer adds itself (a hub
    model's end token, which its encoder was trained to see)."""
    return [e.ids for e in tokenizer.encode_batch_fast(texts, add_special_tokens=specials)]


def own_specials() -> dict:
    """The special ids of a tokenizer trained here (a hub model's come from its config: hub.py)."""
    return {"pad_id": PAD_ID, "bos_id": BOS_ID, "eos_id": EOS_ID, "unk_id": UNK_ID, "source_specials": False}


def decode(tokenizer: Tokenizer, ids: Iterable[int]) -> str:
    """The text of output ids (specials dropped: ours and a hub tokenizer's alike)."""
    return tokenizer.decode([int(i) for i in ids], skip_special_tokens=True).strip()


def pieces(tokenizer: Tokenizer, ids: Iterable[int]) -> list[str]:
    """The subword of each id, as the response's "tokens" lists them."""
    return [tokenizer.id_to_token(int(i)) or SPECIALS[UNK_ID] for i in ids]
