"""The built-in data: interactions drawn from a latent-factor model, offline and deterministic (numpy only).

Items belong to genres (their vectors cluster around a genre centre) and have a skewed popularity. Each user
likes a few genres, and their taste drifts from one mix towards another over their history. An interaction
draws candidates by popularity and keeps the one the user's current taste likes best (Gumbel-max over the
candidates), so both popularity and personal taste shape what is seen: popularity is a fair baseline, and a
model that learns tastes can beat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

START = 1_704_067_200  # 2024-01-01 UTC: the generated timestamps are seconds from here
YEAR = 365 * 24 * 3600
URN_SIZE = 2**20
_CHUNK = 5000


@dataclass
class Generated:
    users: np.ndarray  # str user id per interaction
    items: np.ndarray  # str item id per interaction
    times: np.ndarray  # int64 unix seconds
    item_genres: dict[str, str]  # item id -> genre name


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _tastes(rng: np.random.Generator, users: int, centres: np.ndarray, focus: float) -> np.ndarray:
    """One unit taste vector per user: a sparse mix of a few genres plus a personal twist."""
    mix = rng.dirichlet(np.full(len(centres), focus), size=users)
    return _unit(mix @ centres + 0.35 * rng.normal(size=(users, centres.shape[1])))


def _catalogue(rng: np.random.Generator, g: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    genre_share = rng.dirichlet(np.full(int(g["genres"]), 2.0))
    genre = rng.choice(int(g["genres"]), size=int(g["items"]), p=genre_share)
    centres = _unit(rng.normal(size=(int(g["genres"]), int(g["dim"]))))
    vectors = _unit(centres[genre] + 0.45 * rng.normal(size=(int(g["items"]), int(g["dim"]))))
    popularity = rng.lognormal(0.0, float(g["popularity_skew"]), size=int(g["items"]))
    return genre, centres, vectors, popularity / popularity.sum()


def _choose(rng, taste_from, taste_to, position, vectors, urn, candidates: int, sharpness: float):
    """For each interaction: ``candidates`` items drawn by popularity, the one the current taste likes best."""
    taste = _unit((1 - position)[:, None] * taste_from + position[:, None] * taste_to).astype(np.float32)
    drawn = urn[rng.integers(0, len(urn), (len(position), candidates))]
    affinity = np.einsum("nd,ncd->nc", taste, vectors[drawn])
    with np.errstate(divide="ignore"):  # a draw of exactly 0 is a Gumbel of -inf: never chosen, as it should
        gumbel = -np.log(-np.log(rng.random(affinity.shape, dtype=np.float32)))
    return drawn[np.arange(len(drawn)), np.argmax(sharpness * affinity + gumbel, axis=1)]


def generate(g: dict[str, Any], seed: int) -> Generated:
    """Interactions for ``g`` (users, items, genres, dim, interactions_per_user, popularity_skew, drift,
    candidates, sharpness), the same for the same seed. A user never interacts twice with one item."""
    rng = np.random.default_rng(seed)
    genre, centres, vectors, popularity = _catalogue(rng, g)
    users = int(g["users"])
    start_taste = _tastes(rng, users, centres, 0.25)
    end_taste = _unit((1 - float(g["drift"])) * start_taste + float(g["drift"]) * _tastes(rng, users, centres, 0.25))
    counts = np.maximum(3, rng.lognormal(np.log(float(g["interactions_per_user"])), 0.7, size=users)).astype(np.int64)
    user = np.repeat(np.arange(users), counts)
    offsets = np.cumsum(counts) - counts
    position = (np.arange(len(user)) - offsets[user]) / np.maximum(counts[user] - 1, 1)  # 0..1 along a history
    # an urn holding each item in proportion to its popularity: a draw is one random index (faster than a search)
    urn = np.repeat(np.arange(len(popularity)), np.maximum(1, np.round(popularity * URN_SIZE)).astype(np.int64))
    vectors = vectors.astype(np.float32)
    item = np.empty(len(user), dtype=np.int64)
    for lo in range(0, len(user), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        item[part] = _choose(
            rng, start_taste[user[part]], end_taste[user[part]], position[part], vectors, urn,
            int(g["candidates"]), float(g["sharpness"]),
        )  # fmt: skip
    # each user's history spans a stretch of the year that starts at a random day
    begin = rng.uniform(0, 0.6, users)[user]
    span = rng.uniform(0.1, 0.4, users)[user]
    times = START + ((begin + position * span) * YEAR).astype(np.int64)
    _, first = np.unique(user * int(g["items"]) + item, return_index=True)  # repeats of a pair: keep the first
    keep = np.sort(first)
    width = len(str(max(users, int(g["items"]))))
    return Generated(
        users=np.char.add("u", np.char.zfill(user[keep].astype(str), width)).astype(object),
        items=np.char.add("i", np.char.zfill(item[keep].astype(str), width)).astype(object),
        times=times[keep],
        item_genres={f"i{i:0{width}d}": f"genre{genre[i]:02d}" for i in range(int(g["items"]))},
    )
