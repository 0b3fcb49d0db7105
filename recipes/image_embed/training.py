"""Train side of image-embed: batches of a few images per identity, and the LightningModule that trains the
embedding network with its loss and picks the decision threshold on the validation identities."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler

from aiaas_recipes.common.data.rows import RowDataModule
from aiaas_recipes.common.module import ConfiguredModule
from aiaas_recipes.common.vision.batches import Standardiser, augment_batch
from aiaas_recipes.image_embed import metrics

THRESHOLD_FAR = 1e-2  # the serving threshold accepts this share of impostor pairs of the validation identities


class IdentitySampler(Sampler):
    """Groups of ``per_identity`` images of one identity, groups shuffled (seed + epoch): every batch holds several
    images of each identity in it, which a triplet loss needs and a margin softmax does not mind."""

    def __init__(self, labels: np.ndarray, per_identity: int, seed: int):
        self.labels, self.k, self.seed, self.epoch = np.asarray(labels), per_identity, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        groups = []
        for label in np.unique(self.labels):
            rows = rng.permutation(np.flatnonzero(self.labels == label))
            groups += [rows[i : i + self.k] for i in range(0, len(rows), self.k)]
        return iter(np.concatenate([groups[i] for i in rng.permutation(len(groups))]).tolist())


class IdentityDataModule(RowDataModule):
    arrays = ("x", "y")

    def make_batch(self, rows: dict[str, np.ndarray], train: bool):
        x = Standardiser(self.manifest["mean"], self.manifest["std"])(rows["x"])
        if train:
            x = augment_batch(x, self.cfg.augment.hflip, self.cfg.augment.pad_crop)
        return x, torch.from_numpy(np.asarray(rows["y"], dtype=np.int64))

    def sampler(self, data):
        return IdentitySampler(np.load(self.dataset_dir / "train_y.npy"), int(self.cfg.per_identity), self.seed)


class Embedder(ConfiguredModule):
    """``net`` maps images to L2-normalised embeddings; ``criterion`` (a margin softmax over the training identities,
    or a triplet loss) trains it. Validation embeds the unseen validation identities: TAR at FAR=1e-2 is the
    monitored score, and the threshold at that FAR goes into the checkpoint's metadata (the served decision)."""

    def __init__(self, net, criterion: torch.nn.Module, optimizer, scheduler, meta: dict):
        super().__init__(net, optimizer, scheduler, meta)
        self.criterion = criterion
        self._seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def loss(self, out: torch.Tensor, target: torch.Tensor, train: bool) -> torch.Tensor:
        return self.criterion(out, target)

    def validation_step(self, batch, batch_idx):
        x, target = batch
        self._seen.append((self.net(x).detach().cpu(), target.cpu()))

    def on_validation_epoch_end(self) -> None:
        if not self._seen:
            return
        emb = torch.cat([e for e, _ in self._seen]).numpy()
        labels = torch.cat([t for _, t in self._seen]).numpy()
        self._seen.clear()
        genuine, impostor = metrics.pair_scores(emb, labels)
        tar = metrics.tar_at_far(genuine, impostor, THRESHOLD_FAR)
        self.meta["threshold"] = metrics.threshold_at_far(impostor, THRESHOLD_FAR)
        self.meta["threshold_far"] = THRESHOLD_FAR
        self.log("val_tar", tar, prog_bar=True)
        self.log("val_loss", 1.0 - tar)  # what early stopping and checkpointing watch by default elsewhere
