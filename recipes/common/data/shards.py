"""data.storage=litdata: a split's rows written once as LitData shards (a local folder or an s3:// URL), then streamed.

Shards live under ``data.shards`` (default: ``datasets/shards/`` beside the dataset dir) in a folder named after the
dataset dir, which carries the dataset's fingerprint: a changed dataset is sharded anew, an unchanged one reused.
A shard folder counts only once its ``index.json`` is there: locally the folder is written under a temporary name
and renamed; for S3 the shards are written locally first (the default folder, kept), then uploaded, ``index.json``
last.

Streaming shuffles with the run's seed (a new order each epoch) and the recipe's ``make_batch`` runs on the streamed
rows, so augmentation stays random per epoch. LitData gives each torch.distributed rank its own part (Lightning DDP,
torchrun, SLURM), dropping the few rows that would leave one rank a batch more than another.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import workspace
from aiaas_recipes.common.data import s3
from aiaas_recipes.common.data.rows import open_split

INDEX = "index.json"
CHUNK_BYTES = "64MB"


def default_root(datamodule: Any) -> Path:
    return Path(datamodule.dataset_dir).parent / "shards"


def base(datamodule: Any) -> str:
    """Where this dataset's shards go: ``data.shards`` or ``datasets/shards``, then the dataset dir's name."""
    root = datamodule.cfg.get("shards") or str(default_root(datamodule))
    s3.check_url(str(root))
    return f"{str(root).rstrip('/')}/{Path(datamodule.dataset_dir).name}"


class Rows:
    """Row ``i`` of a split's memory-mapped arrays (what `litdata.optimize` calls per input; picklable)."""

    def __init__(self, dataset_dir: Path, split: str, names: tuple[str, ...]):
        self.dataset_dir, self.split, self.names = dataset_dir, split, names
        self.arrays: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "arrays": None}  # workers map the files themselves

    def __call__(self, index: int) -> dict[str, np.ndarray]:
        if self.arrays is None:
            self.arrays = open_split(self.dataset_dir, self.split, self.names)
        return {name: np.asarray(array[index]) for name, array in self.arrays.items()}


def split_rows(datamodule: Any, split: str) -> int:
    path = Path(datamodule.dataset_dir) / f"{split}_{datamodule.arrays[0]}.npy"
    return len(np.load(path, mmap_mode="r")) if path.exists() else 0


def workers(datamodule: Any) -> int:
    """Processes writing shards: data.preprocess_workers where the recipe has it."""
    return max(1, int(datamodule.cfg.get("preprocess_workers") or 1))


def write_local(datamodule: Any, split: str, target: Path) -> None:
    """Shard ``split`` into ``target`` (renamed into place when complete)."""
    from litdata import optimize

    rows = Rows(Path(datamodule.dataset_dir), split, tuple(datamodule.arrays))
    # Rows go in a fixed random order: LitData shuffles chunks and blocks of rows within a chunk, so sorted rows (a
    # class after another) would otherwise stay together in a block.
    order = np.random.default_rng(0).permutation(split_rows(datamodule, split)).tolist()
    with workspace.atomic_dir(target) as temp:
        optimize(fn=rows, inputs=order, output_dir=str(temp),
                 chunk_bytes=CHUNK_BYTES, num_workers=workers(datamodule), verbose=False, mode="overwrite")  # fmt: skip


def ensure_split(datamodule: Any, split: str) -> str:
    """The URL or folder of ``split``'s shards, written first when absent (for S3: written locally, then uploaded)."""
    where = f"{base(datamodule)}/{split}"
    if s3.is_url(where):
        if not s3.exists(f"{where}/{INDEX}"):
            local = default_root(datamodule) / Path(datamodule.dataset_dir).name / split
            s3.upload_folder(ensure_local(datamodule, split, local), where, last=INDEX)
        return where
    return str(ensure_local(datamodule, split, Path(where)))


def ensure_local(datamodule: Any, split: str, folder: Path) -> Path:
    if not (folder / INDEX).exists():
        write_local(datamodule, split, folder)
    return folder


def write_splits(datamodule: Any, splits: tuple[str, ...]) -> None:
    for split in splits:
        if split_rows(datamodule, split):
            ensure_split(datamodule, split)


def collate(make_batch: Callable, rows: list[dict[str, np.ndarray]]) -> Any:
    """Streamed rows stacked into arrays, then the recipe's batch."""
    return make_batch({name: np.stack([row[name] for row in rows]) for name in rows[0]})


def dataset(datamodule: Any, split: str, train: bool) -> Any:
    from litdata import StreamingDataset

    where = ensure_split(datamodule, split)
    options: dict[str, Any] = {}
    if s3.is_url(where):
        s3.allow_plain_http()
        cache = default_root(datamodule) / ".cache" / Path(datamodule.dataset_dir).name / split
        options = {"cache_dir": str(cache), "max_cache_size": "10GB"}
    # LitData's default shuffle: chunks, then blocks of 256 rows, then the rows within a block, in a new order each
    # epoch (rows were written in a random order). A full permutation inside a chunk ("full") reads ~200x slower.
    return StreamingDataset(where, shuffle=train, seed=int(datamodule.seed), **options)


def loader(datamodule: Any, split: str, train: bool):
    from litdata import StreamingDataLoader

    workers = int(datamodule.cfg.get("num_workers", 0))
    data = dataset(datamodule, split, train)
    return StreamingDataLoader(
        data,
        batch_size=datamodule.batch_rows(train),
        # None leaves LitData's choice: under several ranks it drops rows so that every rank ends its epoch with as many
        # batches as the others (False would be passed on to the dataset and make the ranks' parts unequal)
        drop_last=datamodule.drop_last(train, len(data)) or None,
        collate_fn=partial(collate, partial(datamodule.make_batch, train=train)),
        num_workers=workers,
        persistent_workers=workers > 0,
    )
