"""Recognition metrics on known cases: perfect and random embeddings, the FAR threshold, identification, open set."""

from __future__ import annotations

import numpy as np
import pytest

from aiaas_recipes.image_embed import metrics


def _clusters(identities: int, per: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(identities), per)
    return rng.normal(size=(identities, 32))[labels] + noise * rng.normal(size=(len(labels), 32)), labels


def test_separated_identities_score_perfectly_and_random_ones_do_not():
    emb, labels = _clusters(20, 5, noise=0.01)
    good = metrics.report(emb, labels)
    assert good["tar_at_far_1e-2"] == 1.0 and good["roc_auc"] == pytest.approx(1.0) and good["eer"] == 0.0
    assert good["top1"] == 1.0 and good["dir_at_far_1e-2"] == 1.0
    random = metrics.report(np.random.default_rng(1).normal(size=emb.shape), labels)
    assert random["roc_auc"] < 0.65 and random["tar_at_far_1e-2"] < 0.2 and random["top1"] < 0.3


def test_every_genuine_pair_is_scored_and_impostors_are_other_identities():
    emb, labels = _clusters(4, 3, noise=0.5)
    genuine, impostor = metrics.pair_scores(metrics.l2_normalise(emb), labels)
    assert len(genuine) == 4 * 3 and len(impostor) == 66 - 12


def test_threshold_accepts_at_most_the_far_of_impostors():
    impostor = np.linspace(-1, 1, 1000)
    threshold = metrics.threshold_at_far(impostor, 1e-2)
    assert np.mean(impostor > threshold) <= 1e-2
    assert np.mean(impostor >= threshold) > 1e-2 - 1e-9  # and not more strict than needed


def test_identification_counts_a_probe_right_only_against_its_own_identity():
    emb = np.eye(3, dtype=np.float32)[[0, 0, 1, 1, 2, 2]]
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.identification(emb, labels)["top1"] == 1.0
    swapped = emb[[0, 2, 2, 0, 4, 4]]  # identity 0's probe looks like 1, identity 1's like 0
    assert metrics.identification(swapped, labels)["top1"] == pytest.approx(1 / 3)


def test_far_key_names():
    assert metrics.far_key(1e-2) == "tar_at_far_1e-2" and metrics.far_key(1e-3) == "tar_at_far_1e-3"
