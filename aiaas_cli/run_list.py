"""`aiaas runs`: recent MLflow runs as rows and as a rich table."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.table import Table

from aiaas_cli import tracking

METRICS = ("val_acc", "test_accuracy", "test_macro_f1")


def rows(tracking_uri: str | None, limit: int) -> list[dict]:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"tracking": {"uri": tracking_uri}})
    found = []
    for run in tracking.recent_runs(cfg, limit):
        tags = run.data.tags
        stages = sorted(  # a stage that failed is shown with a "!"
            k.removeprefix("aiaas.stage.") + ("" if v == "done" else "!")
            for k, v in tags.items()
            if k.startswith("aiaas.stage.")
        )
        started = datetime.fromtimestamp(run.info.start_time / 1000, tz=timezone.utc)
        found.append({
            "run_id": run.info.run_id,
            "recipe": tags.get("aiaas.recipe", ""),
            "status": run.info.status,
            "started": started.isoformat(timespec="seconds"),
            "stages": stages,
            "metrics": {k: run.data.metrics[k] for k in METRICS if k in run.data.metrics},
        })  # fmt: skip
    return found


def table(found: list[dict]) -> Table:
    out = Table(title="Recent runs")
    out.add_column("run_id", no_wrap=True, min_width=32)
    for column in ("recipe", "status", "started (UTC)", "stages", *METRICS):
        out.add_column(column)
    for row in found:
        metrics = [f"{row['metrics'][k]:.4f}" if k in row["metrics"] else "-" for k in METRICS]
        out.add_row(row["run_id"], row["recipe"], row["status"], row["started"][:19], ",".join(row["stages"]), *metrics)
    return out
