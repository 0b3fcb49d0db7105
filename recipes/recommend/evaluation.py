"""Evaluation: the model and the baselines ranked on the same split, over every item, seen items excluded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common.report import baseline_entry, compare_table
from aiaas_recipes.recommend import baselines, dataset, ranking

METRICS = ("recall", "ndcg", "map", "coverage")
KNN_NEIGHBOURS = 100


def known_splits(split: str) -> tuple[str, ...]:
    """What is already seen when ``split`` is predicted: every split before it in time."""
    return dataset.SPLITS[: dataset.SPLITS.index(split)]


def evaluate_split(network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict[str, Any]:
    """recall/ndcg/map/coverage at k for the model, most-popular and item-kNN, and the table comparing them."""
    k = int(network.meta["k"])
    shape = (int(manifest["users"]), int(manifest["items"]))
    known = dataset.matrix(dataset_dir, known_splits(split), shape)
    relevant = dataset.matrix(dataset_dir, (split,), shape)
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    scorers = {
        "model": network.scorer(known),
        "most-popular": baselines.most_popular(known),
        "item-knn": baselines.item_knn(known, KNN_NEIGHBOURS),
    }
    results = {}
    for name, score in scorers.items():
        top = ranking.rank(score, users, known, k)
        results[name] = ranking.metrics(top, relevant[users], shape[1], k)
    model = results.pop("model")
    report: dict[str, Any] = {name: model[name] for name in METRICS}
    report.update(k=k, split=split, users=model["users"], items=shape[1])
    report["baseline"] = baseline_entry("most-popular", results["most-popular"], METRICS)
    report["baselines"] = {name: {m: r[m] for m in METRICS} for name, r in results.items()}
    popular = results["most-popular"]["ndcg"]
    report["ndcg_lift_over_popular"] = model["ndcg"] / popular - 1 if popular > 0 else None
    title = f"Ranking at k={k}, {split} split: {model['users']} users, all {shape[1]} items, seen excluded"
    report["compare"] = compare_table(title, {"model": report, **results}, METRICS, lambda m: f"{m}@{k}")
    return report
