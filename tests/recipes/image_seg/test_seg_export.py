"""The U-Net exports under both exporters with a symbolic batch axis: ONNX Runtime agrees with torch at batch 5."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_unet_exports_with_a_dynamic_batch(dynamo, tmp_path):
    import onnxruntime as ort
    import torch

    from aiaas_recipes.common.vision.export import export_spec
    from aiaas_recipes.image_seg.model import UNet

    net = UNet(3, [4, 8, 8]).eval()
    spec = export_spec(net, {"image_size": 16, "classes": ["a", "b", "c"], "mean": [0.5] * 3, "std": [0.2] * 3})
    path = tmp_path / "model.onnx"
    torch.onnx.export(
        net, spec.example_inputs, str(path), input_names=spec.input_names, output_names=spec.output_names,
        dynamic_axes=spec.dynamic_axes, opset_version=18, dynamo=dynamo,
    )  # fmt: skip
    x = np.random.default_rng(0).normal(size=(5, 3, 16, 16)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert got.shape == (5, 3, 16, 16) and np.abs(got - want).max() < 1e-4


def test_torchvision_lraspp_exports_with_a_dynamic_batch(tmp_path):
    import onnxruntime as ort
    import torch

    from aiaas_recipes.image_seg.model import TorchvisionSegmenter

    net = TorchvisionSegmenter(4).eval()
    path = tmp_path / "model.onnx"
    axes = {"image": {0: "batch"}, "logits": {0: "batch"}}
    torch.onnx.export(net, (torch.zeros(2, 3, 32, 32),), str(path), input_names=["image"], output_names=["logits"],
                      dynamic_axes=axes, opset_version=18, dynamo=False)  # fmt: skip
    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert got.shape == (3, 4, 32, 32) and np.abs(got - want).max() < 1e-4


def test_a_pretrained_backbone_that_is_not_cached_is_one_clear_error(tmp_path, monkeypatch):
    import torch

    from aiaas_cli.errors import UserError
    from aiaas_recipes.image_seg.model import TorchvisionSegmenter

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline: the cache only (online, torchvision would download)
    with pytest.raises(UserError, match="not cached at"):
        TorchvisionSegmenter(4, pretrained_backbone=True)
