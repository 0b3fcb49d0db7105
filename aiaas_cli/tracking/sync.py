"""`aiaas runs sync`: upload what a run kept in its journal while its tracking server was away."""

from __future__ import annotations

from typing import Any

from aiaas_cli.errors import UserError
from aiaas_cli.tracking.connection import configure, get_run, quiet_stdout, unreachable
from aiaas_cli.tracking.journal import Journal
from aiaas_cli.tracking.writes import WRITES


def sync(cfg: Any, run_id: str) -> dict[str, Any]:
    """Upload what run ``run_id`` kept in its journal while its server was away; resumable, idempotent."""
    configure(cfg)
    journal = Journal(run_id)
    entries, done = journal.entries(), journal.uploaded()
    if done < len(entries):
        get_run(run_id)  # a clear error when the server does not know this run
    for number, entry in enumerate(entries[done:], start=done + 1):
        try:
            with quiet_stdout():
                WRITES[entry["op"]](run_id, entry)
        except Exception as exc:
            if not unreachable(exc):
                raise
            raise UserError(f"the tracking server stopped answering after {number - 1 - done} upload(s)",
                            f"run `aiaas runs sync {run_id}` again when it is back") from None  # fmt: skip
        journal.mark_uploaded(number)
    journal.remove()
    return {"run_id": run_id, "uploaded": len(entries) - done, "status": get_run(run_id).info.status}
