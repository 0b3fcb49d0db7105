"""Tiny Hugging Face models made in the test, saved with save_pretrained and loaded back through the real loading
path (model.name=<folder>). Only the download from the Hub is left out: this machine has no internet."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 300, lowercase: bool = True):
    """A BERT-style WordPiece tokenizer trained by `tokenizers` on ``texts``, wrapped as a Transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=1, special_tokens=SPECIAL,
                                        show_progress=False)  # fmt: skip
    tok.train_from_iterator(list(texts), trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(tokenizer_object=tok, do_lower_case=lowercase)


def tiny_bert(folder: Path, texts: Iterable[str], layers: int = 2, hidden: int = 32, heads: int = 2,
              lowercase: bool = True, seed: int = 0) -> Path:  # fmt: skip
    """A randomly initialised BERT encoder (no task head, as most hub checkpoints are) and its tokenizer in
    ``folder``, written by save_pretrained: what `model.name=<folder>` loads."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = wordpiece_tokenizer(texts, lowercase=lowercase)
    sizes = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads}
    config = BertConfig(vocab_size=len(tokenizer), intermediate_size=2 * hidden, max_position_embeddings=128, **sizes)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)
