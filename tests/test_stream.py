"""aiaas train with data.storage=litdata: shards written and streamed, locally and on S3; recipes without the shared
row base refuse it."""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
from conftest import FAST_TRAIN
from processes import AIAAS, env_for

pytestmark = pytest.mark.slow


def one_error_line(stderr: str) -> bool:
    return len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1 and "Traceback" not in stderr


def test_litdata_shards_train_as_well_as_the_memory_mapped_arrays(cli, trained_run, session_home):
    streamed = cli.json("train", "image-cls", "data.storage=litdata", "trainer.threads=1", *FAST_TRAIN)
    name = streamed["dataset_dir"].rsplit("/", 1)[-1]
    assert (session_home / "datasets" / "shards" / name / "train" / "index.json").is_file()
    # the same seed and data, another order of the same rows: the validation loss lands close to the npy run's
    assert streamed["best_score"] < 0.5 and abs(streamed["best_score"] - trained_run["best_score"]) < 0.2


def test_litdata_shards_on_s3(cli, s3):
    boto3.client("s3").create_bucket(Bucket="shards")
    short = ["trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2"]
    cli.json("train", "image-cls", "data.storage=litdata", "data.shards=s3://shards/aiaas", *short)
    keys = [item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket="shards")["Contents"]]
    assert {key.rsplit("/", 2)[-2] for key in keys if key.endswith("index.json")} == {"train", "val"}


def test_a_bucket_that_does_not_exist_is_one_line_and_exit_2(cli, s3):
    result = cli("train", "image-cls", "data.storage=litdata", "data.shards=s3://missing-bucket/x", expect=2)
    assert one_error_line(result.stderr) and "does not exist" in result.stderr


def test_a_storage_that_does_not_exist_is_refused_before_any_run(cli):
    result = cli("train", "image-cls", "data.storage=parquet", expect=2)
    assert one_error_line(result.stderr) and "npy, litdata" in result.stderr


def test_recipes_without_the_row_base_refuse_litdata(cli):
    result = cli("train", "image-det", "data.storage=litdata", expect=2)  # its data config has no storage key
    assert one_error_line(result.stderr) and "data.storage" in result.stderr
    result = cli("train", "tabular-cls", "model=hist_gb", "data.storage=litdata", expect=2)  # trains itself
    assert one_error_line(result.stderr) and "reads only the npy arrays" in result.stderr


def test_the_raw_input_format_key_of_other_recipes_is_not_data_storage():
    """data.format names the input file format in text-cls, tabular, token-cls...: it must not reach the check."""
    from omegaconf import OmegaConf

    from aiaas_cli.stages.train import _check_data_storage

    _check_data_storage(OmegaConf.create({"data": {"format": "csv"}}), object())
    _check_data_storage(OmegaConf.create({"data": {"storage": None}}), object())


def test_litdata_under_ddp_gives_every_rank_its_part_and_trains(session_home):
    # Two DDP processes (gloo): with unequal parts one rank would run a batch more and the run would die on a
    # collective mismatch; LitData must drop rows so that both ranks end their epochs together. DDP re-launches the
    # command line, so this one runs `aiaas` in a subprocess.
    args = [
        "train",
        "image-cls",
        "data.storage=litdata",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.threads=1",
        "trainer.max_epochs=2",
        "trainer.early_stopping.enabled=false",
    ]
    done = subprocess.run([AIAAS, *args, "--json"], env=env_for(session_home), capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["epochs"] == 2 and result["best_score"] < 2.0  # below chance (ln 10 = 2.30) after 2 epochs
