"""image-det networks: output shapes on any batch, the loss trains, torchvision weights only from the local cache."""

from __future__ import annotations

import pytest
import torch

from aiaas_cli.errors import UserError
from aiaas_recipes.image_det.backbones import centernet_resnet
from aiaas_recipes.image_det.model import CenterNet
from aiaas_recipes.image_det.targets import detection_loss


@pytest.mark.parametrize("build", [lambda: CenterNet(3, 32, channels=[4, 8, 8, 8], head=8),
                                   lambda: centernet_resnet(3, 32, head=8)])  # fmt: skip
def test_peaks_and_boxes_come_out_at_stride_4(build):
    torch.manual_seed(0)
    scores, boxes = build().eval()(torch.rand(3, 3, 32, 32))
    assert scores.shape == (3, 3, 8, 8) and boxes.shape == (3, 4, 8, 8)
    assert (boxes[:, 2:] > boxes[:, :2]).all()  # x2 > x1, y2 > y1 by construction


def test_the_loss_falls_on_one_batch():
    torch.manual_seed(0)
    net = CenterNet(3, 32, channels=[4, 8, 8, 8], head=8)
    x = torch.rand(2, 3, 32, 32)
    targets = (
        [torch.tensor([[4.0, 4, 20, 16]]), torch.zeros(0, 4)],
        [torch.tensor([1]), torch.zeros(0, dtype=torch.long)],
    )
    net.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(8):
        loss, _, _ = detection_loss(net, x, *targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_pretrained_weights_must_be_in_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline: the cache only (online, torchvision would download)
    with pytest.raises(UserError, match="not cached"):
        centernet_resnet(3, 32, pretrained=True)
