"""A persistent gallery of named identities and their embeddings: enrol, remove, identify (torch-free).

The records live in SQLite (``gallery_store``: durable when a call returns, shared by every process that opens
the folder) and each process keeps its own usearch index (``gallery_index``) in memory. Before it answers, a
process applies what other processes enrolled or removed since its last look: a change log read from the
sequence number it last applied, skipped entirely when SQLite's data_version says nobody else wrote.
The index file is a cache: loaded when it matches the records, rebuilt from them when missing or stale.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from aiaas_cli.serving.combining import Combiner
from aiaas_cli.serving.gallery_index import ReadWriteLock, Settings, VectorIndex, locked
from aiaas_cli.serving.gallery_store import Records

MAX_NAME = 200
SAVE_EVERY = 20_000  # changes applied since the last save before the index is written again (restart cost)


class GalleryError(ValueError):
    """A bad call (empty name, wrong dimension, unknown identity): its message is the answer to a 4xx."""


class Gallery:
    """Identities with their vectors in ``folder`` (gallery.sqlite + index.usearch); safe to share across threads
    and across processes that open the same folder."""

    def __init__(self, folder: str | Path, dim: int, settings: Settings = Settings(), threads: int | None = None):
        if int(dim) < 1:
            raise GalleryError(f"dim must be a positive number of dimensions, got {dim}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.records = Records(self.folder / "gallery.sqlite", int(dim))
        if self.records.dim != int(dim):
            self.records.close()
            raise GalleryError(f"gallery {self.folder} holds {self.records.dim}-d vectors, not {dim}-d")
        self.dim = self.records.dim
        self.settings = settings
        self.threads = threads  # cores a batch of searches may use (None: all; a worker among several: its share)
        self._lock = threading.RLock()  # one SQLite connection per process, shared by its threads
        self._index_lock = ReadWriteLock()  # searches run together; catching up changes the index alone
        self._key_names: dict[int, str] = {}  # vector id -> identity
        self._counts: dict[str, int] = {}  # identity -> vectors in the index
        self._seen = -1  # SQLite's data_version when the log was last read
        # concurrent identify calls: one batch search on every core allowed; on one core, one search after another
        # in arrival order (a batch on one core would answer its first query only when its last is done)
        self._searches = Combiner(self._search_batch, most=1 if threads == 1 else None)
        with locked(self.folder):  # another process that is rebuilding the file finishes first; then we load it
            self._open_index()

    def _open_index(self) -> None:
        loaded = VectorIndex.load(self.folder, self.dim, self.settings)
        if loaded is not None:
            index, header = loaded
            usable = header.generation == self.records.generation and header.version <= self.records.last_change()
            if usable and len(index) == header.count == self.records.live_at(header.version):
                self.index, self.version, self._saved = index, header.version, header.version
                self._load_names()
                self._seen = self.records.data_version()
                self._apply(self.records.changes_since(self.version))
                if self.version - self._saved >= SAVE_EVERY:  # far behind: write it now (we hold the file lock)
                    self._write()
                return
        self._rebuild()

    def _load_names(self) -> None:
        """Key -> identity (and the float copy) for the vectors the loaded index holds; later changes are applied
        after this."""
        rows = self.records.live()
        keys = np.array([r[0] for r in rows], dtype=np.uint64)
        held = np.asarray(self.index.index.contains(keys), dtype=bool).reshape(-1) if len(rows) else []
        for (key, name, _), present in zip(rows, held):
            if present:
                self._remember(key, name)
        if len(rows):
            vectors = self._stacked(r[2] for r in rows)
            self.index.hold(keys[held], vectors[held])

    def _stacked(self, blobs) -> np.ndarray:
        """[n, dim] float32 rows from the records' vector blobs."""
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, self.dim)

    def _rebuild(self) -> None:
        self._seen = self.records.data_version()
        self.version, rows = self.records.snapshot()
        self.index = VectorIndex(self.dim, self.settings)
        keys = np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))
        vectors = self._stacked(r[2] for r in rows)
        self.index.add(keys, vectors)
        for key, name, _ in rows:
            self._remember(key, name)
        self._write()

    def _write(self) -> None:
        self.index.save(self.folder, self.records.generation, self.version)
        self._saved = self.version

    def _remember(self, key: int, name: str) -> None:
        self._key_names[int(key)] = name
        self._counts[name] = self._counts.get(name, 0) + 1

    def _forget(self, key: int) -> None:
        name = self._key_names.pop(int(key), None)
        if name is not None:
            self._counts[name] -= 1
            if not self._counts[name]:
                del self._counts[name]

    def _apply(self, changes: list) -> None:
        """Bring the index up to the records: add what was enrolled, drop what was removed, in log order."""
        with self._index_lock.writing():
            self._apply_unlocked(changes)

    def _apply_unlocked(self, changes: list) -> None:
        for start in range(0, len(changes), 4096):
            chunk = changes[start : start + 4096]
            added = [(c[1], c[3], c[4]) for c in chunk if c[2] and c[4] is not None]
            if added:
                vectors = self._stacked(a[2] for a in added)
                self.index.add(np.array([a[0] for a in added], dtype=np.uint64), vectors)
                for key, name, _ in added:
                    if key not in self._key_names:
                        self._remember(key, name)
            gone = [c[1] for c in chunk if not c[2]]
            self.index.remove(np.array(gone, dtype=np.uint64))
            for key in gone:
                self._forget(key)
        if changes:
            self.version = changes[-1][0]

    def _catch_up(self, force: bool = False) -> None:
        """Apply other processes' changes; a no-op costing one PRAGMA when nobody else wrote."""
        seen = self.records.data_version()  # read before the log: a commit in between is caught next time
        if force or seen != self._seen:
            self._apply(self.records.changes_since(self.version))
            self._seen = seen
            if self.version - self._saved >= SAVE_EVERY:
                self.save()

    def enroll(self, name: str, vectors: np.ndarray) -> int:
        """Append ``vectors`` [n, dim] to ``name`` (created if new); committed when it returns; its vector count."""
        return self.enroll_many([(name, vectors)])[0]

    def enroll_many(self, people: list[tuple[str, np.ndarray]]) -> list[int]:
        """``enroll`` for many identities in one transaction (all or none): a bulk load without a commit each."""
        checked = [(check_name(name), self._check_vectors(vectors)) for name, vectors in people]
        with self._lock:
            counts = self.records.enroll(checked)
            self._catch_up(force=True)
        return counts

    def remove(self, name: str) -> int:
        """Delete ``name`` and its vectors; how many vectors went. GalleryError when there is no such identity."""
        name = check_name(name)
        with self._lock:
            removed = self.records.remove(name)
            self._catch_up(force=True)
        if removed is None:
            raise GalleryError(f"no identity named {name!r} in the gallery")
        return removed

    def names(self) -> list[tuple[str, int]]:
        """(identity, vectors) for every identity, sorted by name."""
        with self._lock:
            self._catch_up()
            return sorted(self._counts.items())

    def identify(self, vectors: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Per query, up to ``k`` identities with their best vector's cosine similarity, best first."""
        if int(k) < 1:
            raise GalleryError(f"k must be at least 1, got {k}")
        queries = self._check_vectors(vectors)
        with self._lock:
            self._catch_up()
        if len(queries) == 1:  # searched together with other threads' queries asked meanwhile
            return [self._searches((queries[0], int(k)))]
        return self._search_batch([(query, int(k)) for query in queries])

    def _search_batch(self, asked: list[tuple[np.ndarray, int]]) -> list[list[tuple[str, float]]]:
        """Top identities for each (query, k), the queries searched together."""
        with self._index_lock.reading():
            count = min(len(self.index), 4 * max(k for _, k in asked))
            if not count:
                return [[] for _ in asked]
            found = self.index.search_many(np.stack([q for q, _ in asked]), count, self.threads)
            return [self._top_identities(query, k, hits, count) for (query, k), hits in zip(asked, found)]

    def _top_identities(self, query: np.ndarray, k: int, hits: tuple, count: int) -> list[tuple[str, float]]:
        """Several vectors may share an identity: search wider until ``k`` distinct identities are found."""
        size, wanted = len(self.index), min(k, len(self._counts))
        while True:
            best: dict[str, float] = {}
            for key, sim in zip(*hits):
                name = self._key_names.get(int(key))
                if name is not None and name not in best:
                    best[name] = float(sim)
            if len(best) >= wanted or count >= size:
                return list(best.items())[:k]
            count = min(size, count * 4)
            hits = self.index.search(query, count)

    def _check_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """[n, dim] finite float32 rows scaled to unit length (cosine needs no more; stored this way)."""
        try:
            array = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError):
            raise GalleryError("vectors must be numbers") from None
        array = array.reshape(1, -1) if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[1] != self.dim or not len(array):
            raise GalleryError(f"vectors must be [n >= 1, {self.dim}], got shape {list(np.shape(vectors))}")
        if not np.isfinite(array).all():
            raise GalleryError("vectors hold NaN or infinite values")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        if (norms == 0).any():
            raise GalleryError("a vector of zeros has no direction")
        return np.ascontiguousarray(array / norms, dtype=np.float32)

    def save(self) -> None:
        """Write the index file now (open and close do it too), so a restart loads instead of rebuilding."""
        with self._lock, locked(self.folder):
            self._write()

    def __len__(self) -> int:
        with self._lock:
            self._catch_up()
            return len(self._counts)

    def close(self) -> None:
        """Save the index if it moved since it was last written, and close the records."""
        with self._lock:
            if self.version != self._saved:
                self.save()
            self.records.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_name(name: str) -> str:
    """The identity's name without surrounding spaces; GalleryError when empty, too long or with control chars."""
    if not isinstance(name, str) or not name.strip():
        raise GalleryError("an identity needs a name (empty)")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise GalleryError(f"an identity's name is at most {MAX_NAME} characters, got {len(name)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise GalleryError("an identity's name cannot hold control characters (newline, tab...)")
    return name
