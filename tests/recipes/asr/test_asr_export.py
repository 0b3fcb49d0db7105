"""The CTC network ignores padding (the service pads every window to one length), and its ONNX export keeps
symbolic batch and time axes: checked with the legacy exporter (the config's) and the dynamo one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aiaas_recipes.asr.model import CTCNet
from aiaas_recipes.asr.text import output_frames

SHAPES = [(1, 77), (3, 301), (5, 40)]  # none is the export example's (2, 160)


@pytest.fixture(scope="module")
def net() -> CTCNet:
    torch.manual_seed(0)
    return CTCNet(n_mels=20, num_classes=12, channels=16, hidden=16, layers=2).eval()


def _batch(rows: int, frames: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(max(frames // 3, 5), frames + 1, (rows,), generator=gen)
    lengths[0] = frames
    return torch.randn(rows, 20, frames, generator=gen), lengths


def test_padding_never_changes_an_utterance(net):
    x, lengths = _batch(4, 120, seed=1)
    with torch.inference_mode():
        together = net(x, lengths)
        for row, n in enumerate(lengths.tolist()):
            alone = net(x[row : row + 1, :, :n], lengths[row : row + 1])
            assert alone.shape[1] == output_frames(n)
            torch.testing.assert_close(together[row, : output_frames(n)], alone[0], atol=1e-5, rtol=1e-5)


def _export(net, path, exporter: str) -> None:
    example = (torch.zeros(2, 20, 160), torch.tensor([160, 100]))
    names = {"input_names": ["features", "lengths"], "output_names": ["log_probs"], "opset_version": 18}
    if exporter == "dynamo":
        batch, time = torch.export.Dim("batch"), torch.export.Dim("time")
        shapes = ({0: batch, 2: time}, {0: batch})
        torch.onnx.export(net, example, path, dynamo=True, dynamic_shapes=shapes, external_data=False, **names)
    else:
        axes = {"features": {0: "batch", 2: "time"}, "lengths": {0: "batch"}, "log_probs": {0: "batch", 1: "frames"}}
        torch.onnx.export(net, example, path, dynamo=False, dynamic_axes=axes, **names)


def _check_onnx(net, path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for seed, (rows, frames) in enumerate(SHAPES):
        x, lengths = _batch(rows, frames, seed)
        with torch.inference_mode():
            want = net(x, lengths).numpy()
        got = session.run(None, {"features": x.numpy(), "lengths": lengths.numpy()})[0]
        assert got.shape == want.shape == (rows, output_frames(frames), 12)
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_legacy_export_keeps_batch_and_time_symbolic(net, tmp_path):
    _export(net, tmp_path / "asr.onnx", "torchscript")
    _check_onnx(net, tmp_path / "asr.onnx")


# The one known limitation, checked by its words: torch 2.14's dynamo exporter stops at its decomposition step on
# the GRU op (a fake-tensor shape mismatch inside aten.gru), so conf/asr.yaml picks torchscript. Any other
# exception is a regression and fails; an export that works (a torch that can) passes strictly, i.e. fails too, so
# the config and this test get revisited.
DYNAMO_GRU = ("Failed to decompose the FX graph", "aten.gru")


@pytest.mark.slow
@pytest.mark.xfail(
    raises=torch.onnx.OnnxExporterError, strict=True, reason="dynamo cannot decompose aten.gru (torch 2.14)"
)
def test_dynamo_export(net, tmp_path):
    try:
        _export(net, tmp_path / "asr.onnx", "dynamo")
    except torch.onnx.OnnxExporterError as exc:
        assert all(words in str(exc) for words in DYNAMO_GRU), f"not the known GRU limitation: {exc}"
        raise
    _check_onnx(net, tmp_path / "asr.onnx")  # when a torch version can, its model must be right
