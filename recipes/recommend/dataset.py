"""preprocess for interactions: read or generate, clean, filter rare users and items, split each user by time.

Dataset dir: ``{split}_user.npy`` / ``{split}_item.npy`` (int64 indices, each user's rows in time order),
``ids.json`` ({"users": [...], "items": [...]}: index -> id) and the manifest returned by `build`.
The split is per user and by time (leave-last-N-out): a user's last ``data.split.test`` interactions are
the test split, the ``data.split.val`` before them validation, the rest training. Never a random row split,
which would train on the future.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError

SPLITS = ("train", "val", "test")
IDS_FILE = "ids.json"
MAX_LISTED = 10_000  # skipped rows listed one by one in the manifest; the count covers them all
_MAX_FILTER_ROUNDS = 50


@dataclass
class Cleaned:
    """Interactions as indices, sorted by user then time, with what cleaning did to them."""

    user: np.ndarray
    item: np.ndarray
    user_ids: list[str]
    item_ids: list[str]
    report: dict[str, Any]


def _source(cfg: Any) -> tuple[Any, dict[str, Any]]:
    """The table to use, and what the manifest says about where it came from."""
    data = cfg.data
    if data.path:
        from aiaas_recipes.recommend import read

        table = read.read(data)
        return table, {"source": table.source, "columns": table.columns, "rows": table.rows}
    from omegaconf import OmegaConf

    from aiaas_recipes.recommend.generate import generate
    from aiaas_recipes.recommend.read import Table

    g = OmegaConf.to_container(data.generated, resolve=True)
    made = generate(g, int(g["seed"]))
    table = Table("generated", {}, made.users, made.items, made.times.astype(np.float64), None, len(made.users))
    about = (
        f"built-in: generated from a latent-factor model ({g['users']} users, {g['items']} items, {g['genres']} genres)"
    )
    return table, {"source": about, "columns": {}, "rows": table.rows}


def _positives(table: Any, threshold: float | None) -> tuple[np.ndarray, str, int]:
    """Which rows count as positive feedback: every row (implicit), or ratings at or above the threshold."""
    if table.ratings is None:
        return np.ones(len(table.users), dtype=bool), "implicit", 0
    if threshold is None:
        return np.ones(len(table.users), dtype=bool), "explicit (every rating a positive)", 0
    keep = table.ratings >= float(threshold)
    return keep, f"explicit (rating >= {threshold:g})", int((~keep).sum())


def _filter_rare(user: np.ndarray, item: np.ndarray, min_user: int, min_item: int) -> np.ndarray:
    """Rows kept once every user has ``min_user`` and every item ``min_item`` interactions (repeated, since
    dropping items can push users under the bar and back)."""
    keep = np.ones(len(user), dtype=bool)
    for _ in range(_MAX_FILTER_ROUNDS):
        users = np.bincount(user[keep], minlength=user.max() + 1)
        items = np.bincount(item[keep], minlength=item.max() + 1)
        rare = keep & ((users[user] < min_user) | (items[item] < min_item))
        if not rare.any():
            break
        keep &= ~rare
    return keep


def clean(table: Any, data: Any) -> Cleaned:
    """Positives only, one row per (user, item) pair (the earliest), rare users and items filtered."""
    positive, feedback, below = _positives(table, data.get("rating_threshold"))
    order_in_file = np.arange(len(table.users))
    times = table.times if table.times is not None else order_in_file.astype(np.float64)
    user_ids, user = np.unique(table.users.astype(str), return_inverse=True)
    item_ids, item = np.unique(table.items.astype(str), return_inverse=True)
    rows = np.flatnonzero(positive)
    if len(rows) == 0:
        raise UserError(f"no positive interactions ({feedback})", "lower data.rating_threshold, or set it to null")
    rows = rows[np.lexsort((order_in_file[rows], times[rows], user[rows]))]  # by user, then time, then file
    _, first = np.unique(user[rows] * len(item_ids) + item[rows], return_index=True)
    duplicates = len(rows) - len(first)
    rows = rows[np.sort(first)]
    per_user = np.bincount(user[rows], minlength=len(user_ids))
    single = int((per_user == 1).sum())
    keep = _filter_rare(user[rows], item[rows], int(data.min_user_interactions), int(data.min_item_interactions))
    kept = rows[keep]
    if len(kept) == 0:
        raise UserError(
            f"no interactions left after filtering rare users and items (of {len(rows)})",
            "lower data.min_user_interactions / data.min_item_interactions",
        )
    used_users, new_user = np.unique(user[kept], return_inverse=True)
    used_items, new_item = np.unique(item[kept], return_inverse=True)
    report = {
        "feedback": feedback,
        "time_order": "timestamps" if table.times is not None else "file order (no time column)",
        "not_positive": below,
        "duplicates_merged": duplicates,
        "single_interaction_users": single,
        "filtered": {
            "users": int((per_user > 0).sum() - len(used_users)),
            "items": int(len(np.unique(item[rows])) - len(used_items)),
            "interactions": int(len(rows) - len(kept)),
        },
    }
    return Cleaned(new_user, new_item, user_ids[used_users].tolist(), item_ids[used_items].tolist(), report)


def split_by_time(user: np.ndarray, n_val: int, n_test: int) -> np.ndarray:
    """Split index per row (0 train, 1 val, 2 test) of rows sorted by user then time: each user's last
    ``n_test`` rows are test, the ``n_val`` before them val; every user keeps at least one training row."""
    counts = np.bincount(user)
    rank = np.arange(len(user)) - (np.cumsum(counts) - counts)[user]
    from_end = counts[user] - 1 - rank
    held = np.minimum(n_val + n_test, counts - 1)[user]  # a user's rows held out of training
    to_test = np.minimum(n_test, held)
    part = np.zeros(len(user), dtype=np.int64)
    part[from_end < held] = 1
    part[from_end < to_test] = 2
    return part


def _warnings(report: dict[str, Any], data: Any, skipped: int) -> list[str]:
    lines = []
    if report["duplicates_merged"]:
        lines.append(f"{report['duplicates_merged']} repeated (user, item) interaction(s) merged into the first one")
    if report["not_positive"]:
        lines.append(f"{report['not_positive']} interaction(s) rated below data.rating_threshold are not positives")
    if report["single_interaction_users"]:
        lines.append(f"{report['single_interaction_users']} user(s) have a single interaction")
    gone = report["filtered"]
    if gone["users"] or gone["items"]:
        lines.append(
            f"filtered {gone['users']} user(s) with fewer than {data.min_user_interactions} and {gone['items']} "
            f"item(s) with fewer than {data.min_item_interactions} interactions ({gone['interactions']} "
            "interaction(s)); such users get the popular items when served"
        )
    if report["time_order"].startswith("file order"):
        lines.append("no time column: each user's interactions are taken in file order for the split")
    if skipped > MAX_LISTED:
        lines.append(f"{skipped} rows skipped; the manifest lists the first {MAX_LISTED}")
    return lines


def build(cfg: Any, out_dir: Path) -> dict[str, Any]:
    """Write the dataset dir and return its manifest."""
    data = cfg.data
    if int(data.split.test) < 1 or int(data.split.val) < 0:
        raise ConfigError("data.split.test must be >= 1 and data.split.val >= 0 (interactions per user)")
    table, about = _source(cfg)
    if len(table.users) == 0:
        raise UserError("the table has no usable interactions", "see the skipped rows in the manifest")
    cleaned = clean(table, data)
    part = split_by_time(cleaned.user, int(data.split.val), int(data.split.test))
    splits = {}
    for index, name in enumerate(SPLITS):
        np.save(out_dir / f"{name}_user.npy", cleaned.user[part == index])
        np.save(out_dir / f"{name}_item.npy", cleaned.item[part == index])
        splits[name] = int((part == index).sum())
    ids = {"users": cleaned.user_ids, "items": cleaned.item_ids}
    (out_dir / IDS_FILE).write_text(json.dumps(ids), encoding="utf-8")
    return {
        **about,
        **cleaned.report,
        "users": len(cleaned.user_ids),
        "items": len(cleaned.item_ids),
        "interactions": len(cleaned.user),
        "splits": splits,
        "eval_users": {name: int(len(np.unique(cleaned.user[part == i]))) for i, name in enumerate(SPLITS)},
        "split": f"per user by time: last {data.split.test} to test, {data.split.val} before them to val",
        "skipped": table.skipped[:MAX_LISTED],
        "skipped_what": "row(s) (missing id, unreadable rating or timestamp, broken line)",
        "warnings": _warnings(cleaned.report, data, len(table.skipped)),
    }


def load_split(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) index arrays of one split, memory-mapped."""
    from aiaas_recipes.common.data.rows import open_split

    arrays = open_split(dataset_dir, split, ("user", "item"))
    return arrays["user"], arrays["item"]


def load_ids(dataset_dir: Path) -> dict[str, list[str]]:
    return json.loads((Path(dataset_dir) / IDS_FILE).read_text(encoding="utf-8"))


def matrix(dataset_dir: Path, splits: tuple[str, ...], shape: tuple[int, int]) -> Any:
    """The binary user x item CSR matrix of ``splits`` together."""
    from scipy.sparse import csr_matrix

    parts = [load_split(dataset_dir, s) for s in splits]
    user = np.concatenate([p[0] for p in parts])
    item = np.concatenate([p[1] for p in parts])
    return csr_matrix((np.ones(len(user), dtype=np.float32), (user, item)), shape=shape)


def served_state(dataset_dir: Path, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """What every served model knows beside its weights: each user's whole history (CSR over all splits, excluded
    when asked) and each item's popularity (share of all interactions: unknown users get these)."""
    everything = matrix(dataset_dir, SPLITS, shape)
    counts = np.asarray(everything.sum(axis=0)).ravel()
    return {
        "history_indptr": everything.indptr.astype(np.int64),
        "history_items": everything.indices.astype(np.int64),
        "popularity": (counts / max(counts.sum(), 1)).astype(np.float32),
    }
