"""What a run could not send to its tracking server, kept next to the run's files until `aiaas runs sync`.

One JSON object per line, appended and flushed as it happens: a process killed mid-write leaves at most a torn
last line, which is ignored. A second file counts the lines already uploaded, so an interrupted sync resumes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiaas_cli import workspace

NAME = "unsynced.jsonl"
WHAT = {"metrics": "metric batch(es)", "params": "param batch(es)", "tags": "tag batch(es)",
        "artifact": "artifact(s)", "model": "model registration", "end": "the run's end"}  # fmt: skip


@dataclass
class Journal:
    run_id: str

    @property
    def path(self) -> Path:
        return workspace.run_dir(self.run_id) / NAME

    @property
    def _done_path(self) -> Path:
        return self.path.with_name(NAME + ".done")

    def append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")
            handle.flush()

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry, in order."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the torn last line of a killed process
        return found

    def uploaded(self) -> int:
        done = self._done_path
        return int(done.read_text() or 0) if done.exists() else 0

    def pending(self) -> list[dict[str, Any]]:
        return self.entries()[self.uploaded() :]

    def mark_uploaded(self, count: int) -> None:
        with workspace.atomic_file(self._done_path) as temp:
            temp.write_text(str(count))

    def summary(self) -> str:
        """What is waiting, in words: "4 metric batch(es), 1 artifact(s) (/…/best.ckpt), the run's end"."""
        pending = self.pending()
        counts = Counter(entry["op"] for entry in pending)
        files = [entry["path"] for entry in pending if entry["op"] == "artifact"]
        parts = [f"{n} {WHAT[op]}" if op not in ("end", "model") else WHAT[op] for op, n in counts.items()]
        return ", ".join(p + (f" ({', '.join(files)})" if p.endswith("artifact(s)") else "") for p in parts)

    def remove(self) -> None:
        """Forget the journal once everything in it is on the server."""
        self.path.unlink(missing_ok=True)
        self._done_path.unlink(missing_ok=True)
