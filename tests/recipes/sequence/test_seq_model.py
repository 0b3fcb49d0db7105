"""seq-cls networks: a sequence scores the same alone or padded in a batch, in torch and in ONNX Runtime, for
any batch size and sequence length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aiaas_recipes.sequence.classify.model import SequenceCNN, SequenceRNN
from aiaas_recipes.sequence.rnn import reverse_within_length

NETWORKS = {
    "bilstm": lambda: SequenceRNN(3, 2, [0.5, -1.0], [2.0, 0.5], hidden=8),
    "gru": lambda: SequenceRNN(3, 2, [0.5, -1.0], [2.0, 0.5], hidden=8, cell="gru", bidirectional=False, layers=2),
    "cnn": lambda: SequenceCNN(3, 2, [0.5, -1.0], [2.0, 0.5], channels=8, layers=2),
}


def test_reverse_within_length_keeps_padding_at_the_end():
    x = torch.arange(8, dtype=torch.float32).view(2, 4, 1)
    flipped = reverse_within_length(x, torch.tensor([4, 2]))
    assert flipped[..., 0].tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


@pytest.mark.parametrize("name", list(NETWORKS))
def test_padding_never_changes_the_logits(name):
    torch.manual_seed(0)
    net = NETWORKS[name]().eval()
    short = torch.randn(1, 5, 2)
    padded = torch.cat([short, torch.randn(1, 9, 2) * 100], 1)
    with torch.inference_mode():
        alone = net(short, torch.tensor([5]))
        in_batch = net(torch.cat([padded, torch.randn(1, 14, 2)]), torch.tensor([5, 14]))[:1]
    assert torch.allclose(alone, in_batch, atol=1e-5)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_onnx_export_takes_any_batch_and_length(name, tmp_path):
    """With seq-cls's exporter (the legacy one: dynamo fixes the LSTM's time axis, see conf/seq-cls.yaml)."""
    import onnxruntime as ort

    torch.manual_seed(0)
    net = NETWORKS[name]().eval()
    path = tmp_path / "model.onnx"
    axes = {"sequence": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}
    example = (torch.randn(2, 16, 2), torch.tensor([16, 7]))
    torch.onnx.export(net, example, str(path), input_names=["sequence", "lengths"], output_names=["logits"],
                      dynamic_axes=axes, dynamo=False, opset_version=18)  # fmt: skip
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, steps in [(1, 3), (5, 40), (3, 1)]:
        x, lengths = torch.randn(batch, steps, 2), torch.randint(1, steps + 1, (batch,))
        with torch.inference_mode():
            want = net(x, lengths).numpy()
        got = session.run(None, {"sequence": x.numpy(), "lengths": lengths.numpy()})[0]
        assert np.abs(want - got).max() < 1e-4
