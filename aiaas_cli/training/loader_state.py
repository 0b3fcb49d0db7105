"""Training batches that a mid-epoch checkpoint can resume exactly: no sample seen twice, none skipped, same RNG.

A recipe's train DataLoader is rebuilt as a `ResumableLoader`: torchdata's StatefulDataLoader, whose position
Lightning saves in every checkpoint and restores on `fit(ckpt_path=...)`. What StatefulDataLoader alone gets wrong
under Lightning, fixed here:

- Dropout and augmentation draw from the global RNGs, which Lightning does not checkpoint. Their states at the
  checkpoint are saved with the loader's position and put back when the batches resume, at the point where the
  uninterrupted run draws next.
- On resume Lightning creates the iterator before it tells the sampler the epoch (`set_epoch`), and the position is
  fast-forwarded at creation: the iterator is created at the first batch instead, when the epoch is known.
- A position at the end of an epoch is dropped: the next epoch starts afresh (instead of an empty epoch).

Guarantee: with a fixed seed, `trainer.deterministic=true`, `data.num_workers=0` and one process, a run resumed from
any checkpoint continues as the uninterrupted run would, bit for bit on the same machine (tests/training/test_resume.py
kills a run mid-epoch with SIGKILL and compares the final weights).

With `data.storage=litdata` the train loader is LitData's StreamingDataLoader, left as it is: Lightning saves its own
`state_dict` (epoch, samples yielded) in the checkpoint and restores it: a loader restored mid-epoch yields exactly the
rows not yet seen (tests/recipes/common/test_shards.py); the bit-for-bit guarantee above is tested for
`data.storage=npy` only.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, RandomSampler
from torchdata.stateful_dataloader import StatefulDataLoader


def rng_states() -> dict[str, Any]:
    """The global RNG states as tensors and plain types (checkpoints are read back with weights_only=True)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    name, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class ResumableLoader(StatefulDataLoader):
    """A StatefulDataLoader whose checkpointed state also holds the global RNG states."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._restored: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"loader": super().state_dict(), "rng": rng_states()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict
        if self._mid_epoch(state_dict["loader"]):
            super().load_state_dict(state_dict["loader"])

    def _mid_epoch(self, state: dict[str, Any]) -> bool:
        yielded = state.get("_sampler_iter_yielded", 0)
        return 0 < yielded < len(self) and not state.get("_iterator_finished", False)

    def __iter__(self):
        restored, self._restored = self._restored, None
        return self._batches(restored)

    def _batches(self, restored: dict[str, Any] | None):
        mid_epoch = restored is not None and self._mid_epoch(restored["loader"])
        if restored is not None and not mid_epoch:  # the uninterrupted run creates the next epoch's iterator here
            set_rng_states(restored["rng"])
        inner = StatefulDataLoader.__iter__(self)  # here, not in __iter__: the sampler knows its epoch by now
        if mid_epoch:  # the uninterrupted run had its iterator when it saved
            set_rng_states(restored["rng"])
        yield from inner


def resumable(loader: Any) -> Any:
    """``loader`` rebuilt as a ResumableLoader; returned as it is when it cannot be (not a map-style DataLoader)."""
    if type(loader) is not DataLoader or isinstance(loader.dataset, IterableDataset):
        return loader
    options = {
        "num_workers": loader.num_workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "generator": loader.generator,
        "persistent_workers": loader.persistent_workers,
    }
    if loader.num_workers > 0:
        options.update(prefetch_factor=loader.prefetch_factor, multiprocessing_context=loader.multiprocessing_context)
    if type(loader.batch_sampler) is BatchSampler:
        sampling = {"batch_size": loader.batch_size, "sampler": loader.sampler, "drop_last": loader.drop_last}
        shuffled = type(loader.sampler) is RandomSampler and not loader.sampler.replacement
        if shuffled and loader.sampler._num_samples is None:
            sampling.update(sampler=None, shuffle=True)  # torchdata's own RandomSampler checkpoints its order
    else:
        sampling = {"batch_sampler": loader.batch_sampler}
    return ResumableLoader(loader.dataset, **sampling, **options)


def make_resumable(datamodule: Any) -> None:
    """Have ``datamodule`` hand Lightning resumable train loaders (the recipe's own loader, rebuilt)."""
    build = datamodule.train_dataloader

    def train_dataloader():
        return resumable(build())

    datamodule.train_dataloader = train_dataloader
