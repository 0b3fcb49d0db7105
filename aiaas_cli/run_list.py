"""`aiaas runs`: recent MLflow runs as rows and as a rich table."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.table import Table

from aiaas_cli import tags, tracking

SHOWN = 3  # test metrics per run in the table


def rows(tracking_uri: str | None, limit: int) -> list[dict]:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"tracking": {"uri": tracking_uri}})
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
            "status": run.info.status,
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
