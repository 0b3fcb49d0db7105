"""Both text networks export to ONNX with symbolic batch and sequence axes and match torch at any length."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from aiaas_cli.recipe_api import bundled_conf_dir
from aiaas_cli.serving.runtime import OnnxModel
from aiaas_cli.stages.export import _torch_export, embed_metadata
from aiaas_recipes.common.text import tokenizer
from aiaas_recipes.text_cls.export import export_spec
from aiaas_recipes.text_cls.model import TextRNN, TextTransformer

NETWORKS = {
    "transformer": lambda: TextTransformer(3, vocab_size=60, max_length=12, width=16, layers=1, heads=2, ff=32),
    "bilstm": lambda: TextRNN(3, vocab_size=60, embed=8, hidden=8),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_onnx_matches_torch_for_any_batch_and_length(name, tmp_path):
    torch.manual_seed(0)
    net = NETWORKS[name]().eval()
    tok = tokenizer.train(["goal team", "pasta oven"], vocab_size=60, min_frequency=1)
    meta = {"classes": ["a", "b", "c"], "max_length": 12, "tokenizer": tok.to_str(), "model": {"_target_": name}}
    spec = export_spec(net, meta)
    cfg = OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml")
    path = tmp_path / "model.onnx"
    _torch_export(net, spec, path, cfg)
    embed_metadata(path, {**spec.metadata, "serving_module": "aiaas_recipes.text_cls.serving"})
    model = OnnxModel(path)
    assert model.fixed_batch is None and model.metadata["tokenizer"] == tok.to_str()
    rng = np.random.default_rng(0)
    for batch, length in [(1, 3), (5, 12), (2, 7)]:
        ids = rng.integers(2, 60, size=(batch, length))
        ids[0, length // 2 + 1 :] = 0  # one padded row
        with torch.inference_mode():
            expected = net(torch.from_numpy(ids)).numpy()
        np.testing.assert_allclose(model.run({"input_ids": ids})["logits"], expected, atol=1e-5)
