"""The gallery's records in SQLite: identities, their vectors, and a change log that other processes follow.

WAL with synchronous=FULL: a commit is on disk when it returns, so an enrolment that was answered survives a
kill -9 or a power cut. Writers take the database lock up front (BEGIN IMMEDIATE) and wait for each other
(busy timeout), so two processes enrolling at once both land. Vector ids and change sequence numbers come
from AUTOINCREMENT: never reused, and increasing in commit order because SQLite serialises writers, so a
reader that remembers the last sequence number it applied can ask for exactly what it has not seen.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS vectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity INTEGER NOT NULL REFERENCES identities(id),
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_by_identity ON vectors(identity);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vector INTEGER NOT NULL,
    added INTEGER NOT NULL
);
"""
BUSY_TIMEOUT_S = 60.0  # a writer waits this long for another process's transaction before giving up


class Records:
    """One process's connection to ``folder/gallery.sqlite``; not thread-safe (the Gallery holds a lock)."""

    def __init__(self, path: Path, dim: int):
        self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            for statement in SCHEMA.split(";")[:-1]:  # not executescript: it would COMMIT the transaction
                self.db.execute(statement)
            self.dim = int(self._meta("dim", str(dim)))
            self.generation = self._meta("generation", uuid.uuid4().hex)

    def _meta(self, key: str, default: str) -> str:
        """The stored value, or ``default`` stored now (the first process to open a folder sets it)."""
        self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, default))
        return self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE (write) or a read snapshot; COMMIT on success, ROLLBACK on any error."""
        self.db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def enroll(self, people: list[tuple[str, np.ndarray]]) -> list[int]:
        """Append each identity's vectors (created if new) in one transaction, committed when it returns; how many
        vectors each identity has now."""
        with self.transaction() as db:
            return [self._append(db, name, vectors) for name, vectors in people]

    @staticmethod
    def _append(db: sqlite3.Connection, name: str, vectors: np.ndarray) -> int:
        db.execute("INSERT OR IGNORE INTO identities(name) VALUES (?)", (name,))
        (identity,) = db.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
        for vector in vectors:
            cursor = db.execute("INSERT INTO vectors(identity, vector) VALUES (?, ?)", (identity, vector.tobytes()))
            db.execute("INSERT INTO changes(vector, added) VALUES (?, 1)", (cursor.lastrowid,))
        return db.execute("SELECT COUNT(*) FROM vectors WHERE identity = ?", (identity,)).fetchone()[0]

    def remove(self, name: str) -> int | None:
        """Delete ``name`` and its vectors, committed; how many vectors went, None if there is no such identity."""
        with self.transaction() as db:
            row = db.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            ids = [r[0] for r in db.execute("SELECT id FROM vectors WHERE identity = ?", row)]
            db.executemany("INSERT INTO changes(vector, added) VALUES (?, 0)", [(i,) for i in ids])
            db.execute("DELETE FROM vectors WHERE identity = ?", row)
            db.execute("DELETE FROM identities WHERE id = ?", row)
            return len(ids)

    def data_version(self) -> int:
        """Changes when another connection commits: a check that costs no disk read."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def changes_since(self, seq: int) -> list[tuple[int, int, bool, str | None, bytes | None]]:
        """(seq, vector id, added, name, vector) after ``seq``, in order; name and vector are None for an added
        vector that a later change removed (its removal follows in the same list)."""
        return self.db.execute(
            "SELECT c.seq, c.vector, c.added, i.name, v.vector FROM changes c "
            "LEFT JOIN vectors v ON v.id = c.vector LEFT JOIN identities i ON i.id = v.identity "
            "WHERE c.seq > ? ORDER BY c.seq",
            (seq,),
        ).fetchall()

    def snapshot(self) -> tuple[int, list[tuple[int, str, bytes]]]:
        """The last change's sequence number and every (vector id, name, vector) as of that change."""
        with self.transaction(write=False) as db:
            seq = self.last_change(db)
            rows = db.execute(
                "SELECT v.id, i.name, v.vector FROM vectors v JOIN identities i ON i.id = v.identity ORDER BY v.id"
            ).fetchall()
        return seq, rows

    def live(self) -> list[tuple[int, str, bytes]]:
        """(vector id, identity, vector) for every vector now."""
        query = "SELECT v.id, i.name, v.vector FROM vectors v JOIN identities i ON i.id = v.identity"
        return self.db.execute(query).fetchall()

    def last_change(self, db: sqlite3.Connection | None = None) -> int:
        return (db or self.db).execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]

    def live_at(self, seq: int) -> int:
        """How many vectors existed right after change ``seq``: what an index saved at ``seq`` must hold."""
        query = "SELECT COALESCE(SUM(CASE WHEN added THEN 1 ELSE -1 END), 0) FROM changes WHERE seq <= ?"
        return self.db.execute(query, (seq,)).fetchone()[0]

    def close(self) -> None:
        self.db.close()
