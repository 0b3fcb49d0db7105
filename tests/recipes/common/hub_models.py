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


RATE = 8000  # the tiny audio model's rate, not the recordings' 16 kHz: preprocessing and the service must resample


def save_tiny_wav2vec2(folder: Path) -> Path:
    """A tiny Wav2Vec2 audio classifier and its feature extractor (8 kHz), saved with save_pretrained in ``folder``."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=8,
                 conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 8, 8), num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2, classifier_proj_size=16, num_labels=5)  # fmt: skip
    torch.manual_seed(0)
    Wav2Vec2ForSequenceClassification(Wav2Vec2Config(**small)).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=RATE, do_normalize=True).save_pretrained(folder)
    return folder
