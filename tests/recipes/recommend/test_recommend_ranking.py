"""Ranking metrics at k from top-k lists, checked against torchmetrics' retrieval metrics on full score rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse import csr_matrix
from torchmetrics.functional.retrieval import (
    retrieval_average_precision,
    retrieval_normalized_dcg,
    retrieval_recall,
)

from aiaas_recipes.recommend import ranking

USERS, ITEMS, K = 40, 30, 5


def _case(seed: int, per_user: int):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(USERS, ITEMS)).astype(np.float32)  # continuous: no ties
    seen = csr_matrix(rng.random((USERS, ITEMS)) < 0.2, dtype=np.float32)
    relevant = np.zeros((USERS, ITEMS), dtype=bool)
    for user in range(USERS):
        unseen = np.flatnonzero(seen[user].toarray().ravel() == 0)
        relevant[user, rng.choice(unseen, size=per_user, replace=False)] = True
    return scores, seen, relevant


def _torchmetrics(scores, seen, relevant, function) -> float:
    masked = np.where(seen.toarray() > 0, -np.inf, scores)
    values = [
        function(torch.from_numpy(row), torch.from_numpy(target), top_k=K).item()
        for row, target in zip(masked, relevant)
    ]
    return float(np.mean(values))


@pytest.mark.parametrize("per_user", [1, 3])
def test_recall_and_ndcg_match_torchmetrics(per_user):
    scores, seen, relevant = _case(per_user, per_user)
    top = ranking.rank(lambda users: scores[users], np.arange(USERS), seen, K)
    ours = ranking.metrics(top, csr_matrix(relevant), ITEMS, K)
    assert ours["users"] == USERS
    assert ours["recall"] == pytest.approx(_torchmetrics(scores, seen, relevant, retrieval_recall), abs=1e-6)
    assert ours["ndcg"] == pytest.approx(_torchmetrics(scores, seen, relevant, retrieval_normalized_dcg), abs=1e-6)


def test_map_matches_torchmetrics_with_one_relevant_item():
    # torchmetrics divides AP@k by the hits in the top k, we by min(relevant, k): the same for one relevant item
    scores, seen, relevant = _case(7, 1)
    top = ranking.rank(lambda users: scores[users], np.arange(USERS), seen, K)
    ours = ranking.metrics(top, csr_matrix(relevant), ITEMS, K)
    assert ours["map"] == pytest.approx(_torchmetrics(scores, seen, relevant, retrieval_average_precision), abs=1e-6)


def test_seen_items_are_never_recommended_and_coverage_counts_distinct_items():
    scores, seen, relevant = _case(3, 2)
    top = ranking.rank(lambda users: scores[users], np.arange(USERS), seen, K)
    assert not any(seen[u, i] for u in range(USERS) for i in top[u])
    ours = ranking.metrics(top, csr_matrix(relevant), ITEMS, K)
    assert ours["coverage"] == pytest.approx(len(np.unique(top)) / ITEMS)


def test_top_k_is_best_first_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.5, 0.5, 0.9, 0.0]], dtype=np.float32)
    assert ranking.top_k(scores, 3).tolist() == [[3, 1, 2]]
    assert ranking.top_k(scores, 10).shape == (1, 5)


def test_users_without_relevant_items_are_not_averaged():
    top = np.array([[0, 1], [1, 0]])
    relevant = csr_matrix(np.array([[1, 0, 0], [0, 0, 0]]))
    assert ranking.metrics(top, relevant, 3, 2)["users"] == 1
    assert ranking.metrics(top, relevant, 3, 2)["ndcg"] == pytest.approx(1.0)
