"""The text networks ignore padding, so a text scores the same alone, in a batch, or padded to max length."""

from __future__ import annotations

import pytest
import torch

from aiaas_recipes.text_cls.model import TextRNN, TextTransformer, reverse_within_length


def test_reverse_within_length_keeps_padding_at_the_end():
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]])
    assert reverse_within_length(ids, (ids != 0).sum(1)).tolist() == [[7, 6, 5, 0, 0], [9, 8, 0, 0, 0]]


@pytest.mark.parametrize("net", [
    TextTransformer(3, vocab_size=50, max_length=16, width=16, layers=1, heads=2, ff=32),
    TextRNN(3, vocab_size=50, embed=8, hidden=8, cell="lstm"),
    TextRNN(3, vocab_size=50, embed=8, hidden=8, cell="gru"),
], ids=["transformer", "lstm", "gru"])  # fmt: skip
def test_padding_does_not_change_the_logits(net):
    torch.manual_seed(0)
    net.eval()
    short = torch.tensor([[4, 9, 17]])
    padded = torch.tensor([[4, 9, 17] + [0] * 13])
    batch = torch.tensor([[4, 9, 17, 0, 0, 0], [3, 5, 8, 13, 21, 34]])
    with torch.inference_mode():
        alone, long, together = net(short), net(padded), net(batch)
        empty = net(torch.zeros(1, 4, dtype=torch.long))
    torch.testing.assert_close(alone, long, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, together[:1], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(empty).all()  # a text with no tokens left still gives numbers
