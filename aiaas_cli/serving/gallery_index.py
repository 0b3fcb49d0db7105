"""The gallery's vector index: a usearch HNSW graph (cosine, float32) in memory, saved beside the records.

usearch's defaults (connectivity 16, expansion 128/64) often miss the exact nearest neighbour among 100k
unclustered 128-d vectors; the settings below were measured with benchmarks/bench_gallery.py for recall@1 >= 0.99
of an exact search there, even for fresh random queries (the hardest case). Vectors are held as float16: half
the memory and ~1.6x faster searches than float32 at the same recall against the exact float32 search.
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
    expansion_search: int = 512  # a search setting only: changing it needs no rebuild
    dtype: str = "f16"

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


class VectorIndex:
    """Keys (vector ids) to unit vectors; ``search`` returns the nearest keys with cosine similarities."""

    def __init__(self, dim: int, settings: Settings = Settings()):
        self.dim = dim
        self.settings = settings
        self.index = Index(ndim=dim, metric="cos", **asdict(settings))

    def __len__(self) -> int:
        return len(self.index)

    def add(self, keys: np.ndarray, vectors: np.ndarray, threads: int = 0) -> None:
        """Add the keys not already held (replaying a change twice is harmless)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys):
            fresh = ~np.asarray(self.index.contains(keys), dtype=bool).reshape(-1)
            if fresh.any():
                self.index.add(keys[fresh], np.ascontiguousarray(vectors[fresh]), threads=threads)

    def remove(self, keys: np.ndarray) -> None:
        if len(keys):
            self.index.remove(np.asarray(keys, dtype=np.uint64))

    def search(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The nearest keys to one query and their cosine similarities, best first (up to ``count``)."""
        found = self.index.search(query, count, threads=1)
        return found.keys, 1.0 - found.distances

    def search_many(self, queries: np.ndarray, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``search`` for each row of ``queries`` [n, dim], as one call spread over the cores: usearch keeps
        Python's lock while it searches, so only a batch (its own threads) uses more than one core."""
        if len(queries) == 1:
            return [self.search(queries[0], count)]
        found = self.index.search(queries, count, threads=min(len(queries), os.cpu_count() or 1))
        return [(found.keys[i, :n], 1.0 - found.distances[i, :n]) for i, n in enumerate(np.asarray(found.counts))]

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
