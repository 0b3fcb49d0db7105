"""`aiaas runs`: recent MLflow runs as rows and as a rich table; `aiaas runs sync`."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.table import Table

from aiaas_cli import owner, tags, tracking
from aiaas_cli.errors import ConfigError
from aiaas_cli.journal import Journal

SHOWN = 3  # test metrics per run in the table


def _cfg(tracking_uri: str | None):
    from omegaconf import OmegaConf

    return OmegaConf.create({"tracking": {"uri": tracking_uri}})


def status(run) -> str:
    """The run's status as the server has it, unless this machine knows better: KILLED when the process that held
    it is gone, UNSYNCED when it ended here but its server has not heard of it yet (`aiaas runs sync`)."""
    if run.info.status != "RUNNING":
        return run.info.status
    if any(entry["op"] == "end" for entry in Journal(run.info.run_id).pending()):
        return "UNSYNCED"
    return "KILLED" if owner.is_dead(run.data.tags.get(tags.OWNER)) else "RUNNING"


def rows(tracking_uri: str | None, limit: int) -> list[dict]:
    cfg = _cfg(tracking_uri)
    found = []
    for run in tracking.recent_runs(cfg, limit):
        found_tags = run.data.tags
        stages = sorted(  # a stage that failed is shown with a "!"
            k.removeprefix(tags.STAGE_PREFIX) + ("" if v == "done" else "!")
            for k, v in found_tags.items()
            if k.startswith(tags.STAGE_PREFIX)
        )
        started = datetime.fromtimestamp(run.info.start_time / 1000, tz=timezone.utc)
        found.append({
            "run_id": run.info.run_id,
            "recipe": found_tags.get(tags.RECIPE, ""),
            "status": status(run),
            "started": started.isoformat(timespec="seconds"),
            "stages": stages,
            "metrics": {k: v for k, v in sorted(run.data.metrics.items()) if k.startswith(("test_", "val_"))},
        })  # fmt: skip
    return found


def table(found: list[dict]) -> Table:
    out = Table(title="Recent runs")
    out.add_column("run_id", no_wrap=True, min_width=32)
    for column in ("recipe", "status", "started (UTC)", "stages", "test metrics"):
        out.add_column(column)
    for row in found:
        test = [(k.removeprefix("test_"), v) for k, v in row["metrics"].items() if k.startswith("test_")][:SHOWN]
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in test) or "-"
        out.add_row(row["run_id"], row["recipe"], row["status"], row["started"][:19], ",".join(row["stages"]), metrics)
    return out


def sync(tracking_uri: str | None, run_id: str) -> dict:
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", run_id):
        raise ConfigError(f"'{run_id}' is not a run id", "see `aiaas runs` for run ids")
    return tracking.sync(_cfg(tracking_uri), run_id)
