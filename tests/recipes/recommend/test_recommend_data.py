"""Interactions preprocessing: the generated data, a user's own table with its problems, the per-user time split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiaas_cli import config, recipes
from aiaas_cli.errors import ConfigError
from aiaas_recipes.recommend import dataset
from aiaas_recipes.recommend.generate import generate

SMALL = {"users": 50, "items": 30, "genres": 4, "dim": 8, "interactions_per_user": 6, "popularity_skew": 1.0,
         "drift": 0.5, "candidates": 16, "sharpness": 6.0, "seed": 0}  # fmt: skip

# customer/product/stars/when are guessed as user/item/rating/time
MESSY = """customer,product,stars,when
alice,p1,5,2024-01-01
alice,p2,4,2024-01-02
alice,p2,5,2024-01-05
alice,p3,5,2024-01-03
alice,p4,2,2024-01-04
bob,p1,5,2024-02-01
bob,p3,4,yesterday
bob,p2,4,2024-02-02
bob,p4,5,2024-02-03
bob,p5,4,
carol,p1,5,2024-03-01
dave,p2,5,1704067200
dave,p1,4,1704153600
dave,p3,5,1704240000
,p9,5,2024-01-01
erin,p2,five,2024-01-01
frank,p1,5
"""


def compose(*overrides: str):
    return config.compose(recipes.load("recommend"), list(overrides))


def test_generation_is_deterministic_and_skewed():
    first, again = generate(SMALL, 0), generate(SMALL, 0)
    assert np.array_equal(first.users, again.users) and np.array_equal(first.items, again.items)
    assert not np.array_equal(first.items, generate(SMALL, 1).items)
    pairs = set(zip(first.users, first.items))
    assert len(pairs) == len(first.users)  # a user never interacts twice with one item
    counts = np.sort(np.unique(first.items, return_counts=True)[1])[::-1]
    assert counts[:3].sum() > 2 * counts[len(counts) // 2 : len(counts) // 2 + 3].sum()  # a popular head


def test_default_builtin_has_at_least_100k_interactions():
    cfg = compose()
    from omegaconf import OmegaConf

    made = generate(OmegaConf.to_container(cfg.data.generated), 0)
    assert len(made.users) >= 100_000


def test_own_table_with_its_problems_goes_through_reported(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(MESSY)
    manifest = dataset.build(compose(f"data.path={path}", "data.min_user_interactions=2"), tmp_path)
    assert manifest["columns"] == {"user": "customer", "item": "product", "rating": "stars", "time": "when"}
    reasons = {entry["file"]: entry["reason"] for entry in manifest["skipped"]}
    assert reasons == {
        "events.csv:8": "unknown timestamp 'yesterday'",
        "events.csv:11": "unknown timestamp ''",
        "events.csv:16": "missing user id",
        "events.csv:17": "rating 'five' is not a number",
        "events.csv:18": "3 fields, the header has 4",
    }
    assert manifest["duplicates_merged"] == 1  # alice/p2 twice: the first one is kept
    assert manifest["not_positive"] == 1  # alice rated p4 2 < 4
    assert manifest["single_interaction_users"] == 1  # carol
    assert manifest["filtered"]["users"] == 1
    warnings = " ".join(manifest["warnings"])
    assert "1 repeated (user, item)" in warnings and "single interaction" in warnings and "filtered 1 user" in warnings
    ids = json.loads((tmp_path / "ids.json").read_text())
    assert ids["users"] == ["alice", "bob", "dave"]
    test_users, test_items = dataset.load_split(tmp_path, "test")
    last = {ids["users"][u]: ids["items"][i] for u, i in zip(test_users, test_items)}
    # each user's latest positive: alice's repeated p2 counts at its first time; p4 has one positive, filtered
    assert last == {"alice": "p3", "bob": "p2", "dave": "p3"}


def test_parquet_and_configured_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = {"who": ["a", "a", "a", "b", "b", "b"], "what": [1, 2, 3, 1, 2, 3], "at": [3, 1, 2, 1, 2, 3]}
    pq.write_table(pa.table(table), tmp_path / "events.parquet")
    cfg = compose(f"data.path={tmp_path / 'events.parquet'}", "data.user_column=who", "data.item_column=what",
                  "data.time_column=at", "data.min_item_interactions=1")  # fmt: skip
    manifest = dataset.build(cfg, tmp_path)
    assert manifest["splits"] == {"train": 2, "val": 2, "test": 2} and manifest["feedback"] == "implicit"
    ids = dataset.load_ids(tmp_path)
    user, item = dataset.load_split(tmp_path, "test")
    assert [ids["items"][i] for i in item] == ["1", "3"]  # a's latest is item 1 (at=3)


def test_missing_columns_are_a_config_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="no user column found"):
        dataset.build(compose(f"data.path={path}"), tmp_path)
    with pytest.raises(ConfigError, match="data.item_column=nope is not a column"):
        dataset.build(compose(f"data.path={path}", "data.user_column=a", "data.item_column=nope"), tmp_path)


def test_split_keeps_the_last_interactions_of_each_user_for_test():
    user = np.array([0, 0, 0, 0, 1, 1, 2])  # sorted by user, then time
    assert dataset.split_by_time(user, 1, 1).tolist() == [0, 0, 1, 2, 0, 2, 0]
    assert dataset.split_by_time(user, 0, 2).tolist() == [0, 0, 2, 2, 0, 2, 0]
