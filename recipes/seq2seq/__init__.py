"""Sequence-to-sequence: translation and summarisation with an encoder-decoder Transformer."""
