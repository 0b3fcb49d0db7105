"""The gallery's vector index: a usearch HNSW graph (cosine) in memory, saved beside the records.

usearch's defaults (connectivity 16, expansion 128/64) often miss the exact nearest neighbour among 100k
unclustered 128-d vectors; the settings below were measured with benchmarks/bench_gallery.py for recall@1 >= 0.99
of an exact search there, even for fresh random queries (the hardest case). The graph holds int8 vectors (its
searches ~1.5x cheaper than float16's at the same recall) and finds the neighbourhood; the candidates it returns
are then scored again against float16 copies (``Rescorer``), which puts the nearest first: int8 alone ranks the
exact nearest first only ~85% of the time, though it is among its first ten ~99% of the time.
The file is a cache: ``index.json`` names the records it was saved from (their generation, the last change it
covers, how many vectors) and a file that does not match is rebuilt from the records. ``locked`` keeps two
processes from writing (or rebuilding) it at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime  # noqa: F401  (before usearch: usearch 2.26's library loaded first makes onnxruntime's import crash, SIGSEGV)
from usearch.index import Index

INDEX_FILE = "index.usearch"
HEADER_FILE = "index.json"
LOCK_FILE = "index.lock"


@dataclass(frozen=True)
class Settings:
    """HNSW parameters; see the module docstring (and BENCHMARKS) for how they were chosen."""

    connectivity: int = 48
    expansion_add: int = 128
    expansion_search: int = 576  # a search setting only: changing it needs no rebuild
    dtype: str = "i8"
    rescore: int = 10  # candidates scored again exactly per search (a search setting too)

    def graph(self) -> dict:
        """The settings that shape the saved graph: a file built with others is rebuilt."""
        return {"connectivity": self.connectivity, "expansion_add": self.expansion_add, "dtype": self.dtype}


@dataclass(frozen=True)
class Header:
    """What a saved index covers: the records' generation, the last change applied, the vectors held."""

    generation: str
    version: int
    count: int
    dim: int
    settings: dict


class Rescorer:
    """Float16 copies of the indexed vectors by key, to score a search's candidates exactly (rows are reused)."""

    def __init__(self, dim: int):
        self.vectors = np.zeros((0, dim), dtype=np.float16)
        self.rows: dict[int, int] = {}
        self.free: list[int] = []

    def hold(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        for key, vector in zip(keys.tolist(), vectors):
            row = self.rows.get(key)
            if row is None:
                row = self.free.pop() if self.free else self._grow()
                self.rows[key] = row
            self.vectors[row] = vector

    def _grow(self) -> int:
        used = len(self.rows) + len(self.free)
        if used == len(self.vectors):
            bigger = np.zeros((max(1024, 2 * used), self.vectors.shape[1]), dtype=np.float16)
            bigger[:used] = self.vectors
            self.vectors = bigger
        return used

    def drop(self, keys: np.ndarray) -> None:
        for key in keys.tolist():
            row = self.rows.pop(key, None)
            if row is not None:
                self.free.append(row)

    def best(self, query: np.ndarray, keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``keys`` ordered by their exact cosine with ``query`` (unit vectors), the first ``count``."""
        known = [k for k in keys.tolist() if k in self.rows]
        rows = self.vectors[[self.rows[k] for k in known]].astype(np.float32)
        scores = rows @ query / np.linalg.norm(rows, axis=1)  # float16 rounding moves a norm off 1 by ~1e-3
        order = np.argsort(-scores, kind="stable")[:count]
        return np.asarray(known, dtype=np.uint64)[order], scores[order]


class VectorIndex:
    """Keys (vector ids) to unit vectors; ``search`` returns the nearest keys with cosine similarities."""

    def __init__(self, dim: int, settings: Settings = Settings()):
        self.dim = dim
        self.settings = settings
        self.index = Index(ndim=dim, metric="cos", **settings.graph(), expansion_search=settings.expansion_search)
        self.exact = Rescorer(dim)

    def __len__(self) -> int:
        return len(self.index)

    def add(self, keys: np.ndarray, vectors: np.ndarray, threads: int = 0) -> None:
        """Add the keys not already held (replaying a change twice is harmless)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys):
            fresh = ~np.asarray(self.index.contains(keys), dtype=bool).reshape(-1)
            if fresh.any():
                self.index.add(keys[fresh], np.ascontiguousarray(vectors[fresh]), threads=threads)
                self.exact.hold(keys[fresh], vectors[fresh])

    def hold(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """The float copies of vectors a loaded graph already holds (the saved file keeps only int8)."""
        self.exact.hold(np.asarray(keys, dtype=np.uint64), vectors)

    def remove(self, keys: np.ndarray) -> None:
        if len(keys):
            keys = np.asarray(keys, dtype=np.uint64)
            self.index.remove(keys)
            self.exact.drop(keys)

    def search(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The nearest keys to one query and their cosine similarities, best first (up to ``count``)."""
        found = self.index.search(query, max(count, self.settings.rescore), threads=1)
        return self.exact.best(query, found.keys, count)

    def search_many(
        self, queries: np.ndarray, count: int, threads: int | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``search`` for each row of ``queries`` [n, dim] as one call on up to ``threads`` cores (None: all).
        usearch runs concurrent single searches one at a time, so only a batch uses more than one core."""
        if len(queries) == 1:
            return [self.search(queries[0], count)]
        wide = max(count, self.settings.rescore)
        found = self.index.search(queries, wide, threads=min(len(queries), threads or os.cpu_count() or 1))
        counts = np.asarray(found.counts)
        return [self.exact.best(q, found.keys[i, : counts[i]], count) for i, q in enumerate(queries)]

    def save(self, folder: Path, generation: str, version: int) -> None:
        """Write the index, then its header, each under a temporary name first (a reader never sees half a file).

        A crash between the two renames leaves a header older than the index: its count then does not match
        and the next open rebuilds. The caller holds `locked(folder)`."""
        header = Header(generation, version, len(self), self.dim, self.settings.graph())
        _replace(folder / INDEX_FILE, lambda tmp: self.index.save(str(tmp)))
        _replace(folder / HEADER_FILE, lambda tmp: tmp.write_text(json.dumps(asdict(header))))

    @classmethod
    def load(cls, folder: Path, dim: int, settings: Settings = Settings()) -> tuple[VectorIndex, Header] | None:
        """The saved index and its header, or None when it is missing, unreadable or made with other settings."""
        try:
            header = Header(**json.loads((folder / HEADER_FILE).read_text()))
            if header.dim != dim or header.settings != settings.graph():
                return None
            loaded = cls(dim, settings)
            loaded.index.load(str(folder / INDEX_FILE))
        except (OSError, ValueError, TypeError, RuntimeError):
            return None
        loaded.index.expansion_search = settings.expansion_search  # not every usearch version restores it
        return loaded, header


class ReadWriteLock:
    """Many searches at once, or one change to the index alone (usearch may grow its arrays while adding).
    A waiting writer holds back new readers, so a steady stream of searches cannot starve catching up."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder/index.lock`` across processes (released when the process dies)."""
    with open(folder / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(path: Path, write) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
