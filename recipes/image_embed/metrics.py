"""Recognition metrics on L2-normalised embeddings (numpy only): verification (ROC AUC, EER, TAR at a FAR),
closed-set identification against a gallery (top-1/top-5) and open-set detection-and-identification."""

from __future__ import annotations

import numpy as np

FARS = (1e-2, 1e-3)
MAX_IMPOSTORS = 200_000  # impostor pairs sampled beyond this many (every genuine pair is kept)


def far_key(far: float) -> str:
    """``1e-2`` -> ``tar_at_far_1e-2``: the report's name for the TAR at that FAR."""
    return f"tar_at_far_{far:.0e}".replace("e-0", "e-")


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pair_scores(emb: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of every genuine pair (same identity) and of up to MAX_IMPOSTORS impostor pairs (all of them on
    a small split; drawn at random, without the n x n matrix, on a large one)."""
    labels = np.asarray(labels)
    genuine = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    pairs = [np.triu_indices(len(rows), k=1) for rows in genuine]
    gi = np.concatenate([rows[a] for rows, (a, _) in zip(genuine, pairs)] or [np.zeros(0, np.int64)])
    gj = np.concatenate([rows[b] for rows, (_, b) in zip(genuine, pairs)] or [np.zeros(0, np.int64)])
    n = len(labels)
    if n * (n - 1) // 2 <= 2 * MAX_IMPOSTORS:
        ii, ij = np.triu_indices(n, k=1)
    else:
        ii, ij = np.random.default_rng(seed).integers(0, n, (2, 2 * MAX_IMPOSTORS))
    keep = labels[ii] != labels[ij]
    ii, ij = ii[keep], ij[keep]
    if len(ii) > MAX_IMPOSTORS:
        pick = np.random.default_rng(seed).choice(len(ii), MAX_IMPOSTORS, replace=False)
        ii, ij = ii[pick], ij[pick]
    return _cosines(emb, gi, gj), _cosines(emb, ii, ij)


def _cosines(emb: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("nd,nd->n", emb[a], emb[b]) if len(a) else np.zeros(0, np.float32)


def threshold_at_far(impostor: np.ndarray, far: float) -> float:
    """The lowest score that accepts at most ``far`` of the impostors (scores above it are "same")."""
    if len(impostor) == 0:
        return 0.0
    ranked = np.sort(impostor)[::-1]
    allowed = int(np.floor(far * len(ranked)))
    return float(ranked[allowed]) if allowed < len(ranked) else float(ranked[-1])


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> float:
    """The share of genuine pairs accepted at the threshold that accepts ``far`` of the impostors."""
    return float(np.mean(genuine > threshold_at_far(impostor, far))) if len(genuine) else 0.0


def roc(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false accept rates, true accept rates) over every threshold, from (0, 0) to (1, 1)."""
    scores = np.concatenate([genuine, impostor])
    is_genuine = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    order = np.argsort(-scores, kind="stable")
    tar = np.concatenate([[0.0], np.cumsum(is_genuine[order]) / max(len(genuine), 1)])
    far = np.concatenate([[0.0], np.cumsum(1 - is_genuine[order]) / max(len(impostor), 1)])
    return far, tar


def verification(genuine: np.ndarray, impostor: np.ndarray) -> dict:
    """ROC AUC, equal error rate and TAR at each FAR of FARS."""
    far, tar = roc(genuine, impostor)
    frr = 1 - tar
    cross = int(np.argmin(np.abs(far - frr)))
    report = {"roc_auc": float(np.trapezoid(tar, far)), "eer": float((far[cross] + frr[cross]) / 2)}
    report.update({far_key(f): tar_at_far(genuine, impostor, f) for f in FARS})
    report.update(genuine_pairs=len(genuine), impostor_pairs=len(impostor))
    return report


def enrol_split(labels: np.ndarray, per_identity: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(gallery rows, probe rows): the first ``per_identity`` images of each identity enrolled, the rest probes.
    Identities with no image left to probe are enrolled all the same (they are distractors)."""
    gallery, probes = [], []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        gallery += rows[:per_identity].tolist()
        probes += rows[per_identity:].tolist()
    return np.asarray(gallery, np.int64), np.asarray(probes, np.int64)


def identification(emb: np.ndarray, labels: np.ndarray, per_identity: int = 1, far: float = 1e-2) -> dict:
    """Top-1/top-5 of probes against a gallery of every identity; and open set: half the identities enrolled, the
    other half's probes must stay unknown; DIR = enrolled probes identified rightly above the threshold that lets
    ``far`` of the unknown probes through."""
    labels = np.asarray(labels)
    gallery, probes = enrol_split(labels, per_identity)
    ranked = _ranked(emb[probes], emb[gallery], labels[gallery])
    hits = ranked == labels[probes][:, None]
    report = {"top1": float(hits[:, :1].any(1).mean()), "top5": float(hits[:, :5].any(1).mean())}
    known = np.unique(labels)[::2]
    enrolled = gallery[np.isin(labels[gallery], known)]
    inside, outside = probes[np.isin(labels[probes], known)], probes[~np.isin(labels[probes], known)]
    if len(inside) and len(outside):
        best_in, who = _best(emb[inside], emb[enrolled], labels[enrolled])
        best_out, _ = _best(emb[outside], emb[enrolled], labels[enrolled])
        threshold = threshold_at_far(best_out, far)
        report[f"dir_at_far_{far:.0e}".replace("e-0", "e-")] = float(
            np.mean((who == labels[inside]) & (best_in > threshold))
        )
    return report


def _ranked(probes: np.ndarray, gallery: np.ndarray, names: np.ndarray, k: int = 5) -> np.ndarray:
    """Per probe, the identities of its k best gallery matches (an identity counted once, at its best)."""
    scores = probes @ gallery.T
    out = []
    for row in scores:
        seen: list = []
        for j in np.argsort(-row):
            if names[j] not in seen:
                seen.append(names[j])
            if len(seen) == k:
                break
        out.append(seen + [None] * (k - len(seen)))
    return np.asarray(out, dtype=object)


def _best(probes: np.ndarray, gallery: np.ndarray, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = probes @ gallery.T
    best = scores.argmax(1)
    return scores[np.arange(len(probes)), best], names[best]


def report(emb: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Verification and identification figures for embeddings of identities labelled ``labels``."""
    emb = l2_normalise(emb)
    genuine, impostor = pair_scores(emb, labels, seed)
    return {**verification(genuine, impostor), **identification(emb, labels)}
