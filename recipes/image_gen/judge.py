"""The judge: a small CNN classifier trained by aiaas on the dataset's own train split, whose penultimate layer is
the feature space of the Fréchet distance and precision/recall, and whose labels give the conditional accuracy of
generated images. No Inception (or any downloaded) weights are used. It is trained once per dataset and cached in
the dataset dir, so every model trained on that dataset is judged by the same classifier."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from aiaas_recipes.image_gen.training import to_tensor

FILE = "judge.pt"
EPOCHS, BATCH, FEATURES = 20, 64, 128


class Judge(nn.Module):
    def __init__(self, num_classes: int, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(256, FEATURES), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURES, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


def _shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to one pixel: the judge should not care where exactly a generated digit sits."""
    dy, dx = torch.randint(-1, 2, (2,), generator=generator).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def train_judge(images: np.ndarray, labels: np.ndarray, num_classes: int) -> Judge:
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        judge = Judge(num_classes, images.shape[-1])
    x, y = to_tensor(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))
    optimizer = torch.optim.Adam(judge.parameters(), lr=2e-3)
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), BATCH):
            rows = order[start : start + BATCH]
            loss = F.cross_entropy(judge(_shift(x[rows], generator))[1], y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return judge.eval()


def load_or_train(dataset_dir: Path, manifest: dict) -> Judge:
    """The dataset's judge, trained on its train split the first time (written atomically beside the arrays)."""
    path = Path(dataset_dir) / FILE
    num_classes = len(manifest["classes"])
    if path.exists():
        judge = Judge(num_classes, int(manifest["channels"]))
        judge.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return judge.eval()
    images, labels = np.load(Path(dataset_dir) / "train_x.npy"), np.load(Path(dataset_dir) / "train_y.npy")
    judge = train_judge(images, labels, num_classes)
    temp = path.with_name(f".{FILE}.{os.getpid()}")
    torch.save(judge.state_dict(), temp)
    os.replace(temp, path)
    return judge


@torch.inference_mode()
def judge_images(judge: Judge | None, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(features, predicted labels) of uint8 images; without a judge (an unconditional set) the pixels themselves."""
    x = to_tensor(images)
    if judge is None:
        return x.flatten(1).numpy().astype(np.float64), None
    parts = [judge(x[i : i + 512]) for i in range(0, len(x), 512)]
    features = torch.cat([p[0] for p in parts]).numpy().astype(np.float64)
    return features, torch.cat([p[1] for p in parts]).argmax(1).numpy()
