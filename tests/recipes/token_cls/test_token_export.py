"""token-cls networks in ONNX: the same logits as torch for any batch size and sequence length, and the
same logits at a position however much padding its row carries. Checked per architecture and exporter
(torch.export gives an nn.LSTM output the example's fixed length: the BiLSTM's reversal is written so that
the sequence axis stays symbolic anyway). token-cls exports with the legacy exporter by default
(conf/token-cls.yaml): the same results, in seconds instead of a minute; the dynamo cases are slow."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from aiaas_cli.recipe_api import bundled_conf_dir
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_cli.stages.export import _torch_export, embed_metadata
from aiaas_recipes.token_cls.export import export_spec
from aiaas_recipes.token_cls.model import TokenRNN, TokenTransformer

SHAPES = [(1, 3), (5, 16), (3, 40), (7, 1), (2, 9)]  # (batch, sequence); the example is (2, 16)
NETS = {
    "bilstm": lambda: TokenRNN(5, 50, embed=8, hidden=8, layers=2),
    "bigru": lambda: TokenRNN(5, 50, embed=8, hidden=8, layers=1, cell="gru"),
    "transformer": lambda: TokenTransformer(5, 50, 16, width=16, layers=1, heads=2, ff=16),
}
# torch 2.14's dynamo has been seen to give the BiLSTM's input a fixed sequence length when it is not the first
# export in the process: that effect, read from the exported graph, is the one failure let through (xfail).
XFAIL = "dynamo fixed the BiLSTM's sequence axis (seen after earlier exports in the same process, torch 2.14)"
CASES = [
    *((arch, "torchscript") for arch in NETS),
    # torch.export: 10-90 s each here. torch 2.14's dynamo can fix an LSTM's time axis when it is not the first
    # export in the process (the whole suite runs many): the config uses torchscript; dynamo is checked, not required.
    *(pytest.param(arch, "dynamo", marks=pytest.mark.slow) for arch in NETS),
]


def export(net, exporter: str, path) -> OnnxModel:
    cfg = OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml")
    cfg.exporter = exporter
    meta = {"tags": ["O", "B-X", "I-X", "B-Y", "I-Y"], "types": ["X", "Y"], "max_length": 16, "tokenizer": "{}"}
    spec = export_spec(net, meta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _torch_export(net, spec, path, cfg)
    embed_metadata(path, {**spec.metadata, "input_names": spec.input_names, "output_names": spec.output_names})
    return OnnxModel(path)


def sequence_axis_fixed(path) -> bool:
    """Whether the exported `input_ids` has a fixed length on axis 1 instead of a symbolic one."""
    import onnx

    (ids,) = [i for i in onnx.load(str(path)).graph.input if i.name == "input_ids"]
    return ids.type.tensor_type.shape.dim[1].HasField("dim_value")


@pytest.mark.parametrize(("arch", "exporter"), CASES)
def test_onnx_matches_torch_at_any_batch_and_length(arch, exporter, tmp_path):
    torch.manual_seed(0)
    net = NETS[arch]().eval()
    model = export(net, exporter, tmp_path / "model.onnx")
    if (arch, exporter) == ("bilstm", "dynamo") and sequence_axis_fixed(tmp_path / "model.onnx"):
        pytest.xfail(XFAIL)  # the known limitation only: any other failure of this case fails
    rng = np.random.default_rng(0)
    for batch, length in SHAPES:
        ids = rng.integers(2, 50, (batch, length))
        for row, keep in enumerate(rng.integers(1, length + 1, batch)):
            ids[row, keep:] = 0
        with torch.inference_mode():
            want = net(torch.from_numpy(ids)).numpy()
        got = model.run({"input_ids": ids})["logits"]
        assert got.shape == want.shape == (batch, length, 5)
        assert np.abs(got - want)[ids != 0].max() < 1e-4, (batch, length)
    # padding changes nothing at the real positions
    short = rng.integers(2, 50, (1, 5))
    padded = np.concatenate([short, np.zeros((1, 11), np.int64)], 1)
    alone, beside = model.run({"input_ids": short})["logits"][0], model.run({"input_ids": padded})["logits"][0, :5]
    assert np.abs(alone - beside).max() < 1e-4
