"""data.storage=litdata (common/data/shards.py): shards written once, streamed back, split by rank, on S3 too."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
from conftest import free_port
from omegaconf import OmegaConf

from aiaas_cli.errors import UserError
from aiaas_recipes.common.data.rows import RowDataModule

N = 64  # 2 ranks x 4 batches of 8: under DDP LitData gives each rank whole batches (drop_last)


class Ids(RowDataModule):
    """Rows that are their own index, so a test can see which rows a loader gave."""

    arrays = ("id", "square")

    def make_batch(self, rows, train):
        assert np.array_equal(rows["square"], rows["id"] ** 2)  # the arrays stay row-aligned
        return torch.from_numpy(rows["id"])


def dataset_dir(tmp_path, splits=("train",)):
    folder = tmp_path / "datasets" / "ids-0123"
    folder.mkdir(parents=True)
    for split in splits:
        np.save(folder / f"{split}_id.npy", np.arange(N))
        np.save(folder / f"{split}_square.npy", np.arange(N) ** 2)
    return folder


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """A dataset dir with train and val splits, sharded once for the tests that only read."""
    folder = dataset_dir(tmp_path_factory.mktemp("sharded"), ("train", "val"))
    ids(folder).prepare_data()
    return folder


def ids(folder, seed: int = 3, **data) -> Ids:
    cfg = {"batch_size": 8, "num_workers": 0, "storage": "litdata", "shards": None, **data}
    return Ids(folder, {}, OmegaConf.create(cfg), seed)


def epoch(loader) -> list[int]:
    return torch.cat(list(loader)).tolist()


def test_shards_are_written_once_and_each_epoch_streams_every_row_in_a_new_order(sharded):
    dm = ids(sharded)
    index = sharded.parent / "shards" / "ids-0123" / "train" / "index.json"
    assert index.is_file() and (index.parent.parent / "val" / "index.json").is_file()
    written = index.stat().st_mtime_ns
    loader = dm.train_dataloader()
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == sorted(second) == list(range(N))
    assert first != second and first != list(range(N))
    assert epoch(dm.val_dataloader()) == epoch(dm.val_dataloader())  # validation: one fixed order
    dm.prepare_data()
    assert index.stat().st_mtime_ns == written  # an unchanged dataset reuses its shards


def test_a_shard_folder_without_its_index_is_written_again(tmp_path):
    folder = dataset_dir(tmp_path)
    half = tmp_path / "datasets" / "shards" / "ids-0123" / "train"
    half.mkdir(parents=True)
    (half / "chunk-0-0.bin").write_bytes(b"half")  # what a killed writer could leave
    assert sorted(epoch(ids(folder).train_dataloader())) == list(range(N))
    assert (half / "index.json").is_file()


def _rank_rows(rank: int, folder: str, port: int, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        np.save(f"{out}/rank{rank}.npy", np.asarray(epoch(ids(folder).train_dataloader())))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_stream_disjoint_parts_that_cover_the_split(sharded, tmp_path):
    # the shards are written before the ranks start, as Lightning's prepare_data does once per node
    torch.multiprocessing.spawn(_rank_rows, args=(str(sharded), free_port(), str(tmp_path)), nprocs=2)
    parts = [set(np.load(tmp_path / f"rank{rank}.npy").tolist()) for rank in (0, 1)]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    assert parts[0] | parts[1] == set(range(N)), (len(parts[0]), len(parts[1]))


@pytest.mark.slow
def test_shards_on_s3_are_uploaded_index_last_and_streamed_back(sharded, s3):
    import boto3

    boto3.client("s3").create_bucket(Bucket="shards")
    assert sorted(epoch(ids(sharded, shards="s3://shards/aiaas").train_dataloader())) == list(range(N))
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="shards")["Contents"]]
    assert "aiaas/ids-0123/train/index.json" in keys and any(k.endswith(".bin") for k in keys)


def refused(folder, shards: str) -> UserError:
    with pytest.raises(UserError) as caught:
        ids(folder, shards=shards).prepare_data()
    assert "\n" not in caught.value.one_line()
    return caught.value


@pytest.mark.slow
def test_s3_mistakes_are_one_line_errors_and_leave_no_shards(tmp_path, s3, monkeypatch):
    folder = dataset_dir(tmp_path)
    missing = refused(folder, "s3://no-such-bucket/x")
    assert missing.exit_code == 2 and "does not exist" in missing.message
    assert refused(folder, "gs://bucket/x").exit_code == 2
    assert refused(folder, "s3:///x").exit_code == 2
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert refused(folder, "s3://models/x").exit_code == 2
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed.getsockname()[1]}")
    unreachable = refused(folder, "s3://models/x")
    assert unreachable.exit_code == 1 and "cannot reach" in unreachable.message
    assert not os.path.exists(tmp_path / "datasets" / "shards" / "ids-0123" / "train" / "index.json")


def test_a_streaming_loader_resumed_mid_epoch_yields_exactly_the_rows_not_yet_seen(sharded):
    """What `resume=` relies on with litdata: Lightning saves the loader's state_dict and loads it back."""
    loader = ids(sharded).train_dataloader()
    batches = iter(loader)
    seen = torch.cat([next(batches) for _ in range(3)]).tolist()
    state = loader.state_dict()
    resumed = ids(sharded).train_dataloader()
    resumed.load_state_dict(state)
    rest = epoch(resumed)
    assert len(seen) == 24 and not set(seen) & set(rest) and sorted(seen + rest) == list(range(N))
