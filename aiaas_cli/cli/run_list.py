"""`aiaas runs`: recent MLflow runs as rows and as a rich table; `aiaas runs sync`."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.table import Table

from aiaas_cli import owner, tags, tracking
from aiaas_cli.errors import ConfigError
from aiaas_cli.tracking import search
from aiaas_cli.tracking.journal import Journal

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
    for run in search.recent_runs(cfg, limit):
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
            "source": source_of(found_tags),
        })  # fmt: skip
    return found


def source_of(run_tags: dict[str, str]) -> dict[str, str] | None:
    """Where the run's network started from (tags aiaas.source.*: kind, name, revision, sha256), if it did."""
    found = {k.removeprefix(tags.SOURCE_PREFIX): v for k, v in run_tags.items() if k.startswith(tags.SOURCE_PREFIX)}
    return found or None


def source_label(source: dict | None, short: bool = False) -> str:
    """`run:<id>`, `hf:<hub id>@<commit>`, `timm:<file> sha256:<digest>`; ``short``: ids cut to 8, no digest."""
    if not source:
        return "-"
    kind, name = source.get("kind", "?"), str(source.get("name", "?"))
    if kind == "run":
        return f"run:{name[:8] if short else name}"
    name = name.rsplit("/", 1)[-1] if name.startswith("/") else name  # a local file: its digest says exactly which
    if source.get("revision"):
        return f"{kind}:{name}@{source['revision'][: 8 if short else None]}"
    digest = source.get("sha256")
    return f"{kind}:{name}" + (f" sha256:{digest[:12]}" if digest and not short else "")


def table(found: list[dict], wide: bool = False) -> Table:
    """Recent runs; by default what fits an 80-column terminal (one metric, no stages), ``wide``: every column."""
    return _wide_table(found) if wide else _narrow_table(found)


def _test_metrics(row: dict) -> list[tuple[str, float]]:
    return [(k.removeprefix("test_"), v) for k, v in row["metrics"].items() if k.startswith("test_")]


def _narrow_table(found: list[dict]) -> Table:
    out = Table(title="Recent runs", box=None, pad_edge=False, collapse_padding=True)
    out.add_column("run_id", no_wrap=True, min_width=32, max_width=32)  # whole: it is what users copy
    for column, key in (("recipe", "recipe"), ("status", "status")):
        out.add_column(column, no_wrap=True, min_width=max([len(column)] + [len(row[key]) for row in found]))
    out.add_column("started", no_wrap=True, min_width=11)
    out.add_column("test", no_wrap=True, overflow="ellipsis")  # the one column that gives way
    for row in found:
        test = _test_metrics(row)
        metric = f"{test[0][0]} {test[0][1]:.4g}" if test else "-"
        run = row["run_id"]
        if row.get("source"):  # a second line under the id, where the width is: what it was fine-tuned from
            run += f"\n from {source_label(row['source'], short=True)}"
        out.add_row(run, row["recipe"], row["status"], row["started"][5:16].replace("T", " "), metric)
    return out


def _wide_table(found: list[dict]) -> Table:
    out = Table(title="Recent runs")
    out.add_column("run_id", no_wrap=True, min_width=32)
    for column in ("recipe", "status", "started (UTC)", "stages", "test metrics", "from"):
        out.add_column(column)
    for row in found:
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in _test_metrics(row)[:SHOWN]) or "-"
        cells = [row["run_id"], row["recipe"], row["status"], row["started"][:19], ",".join(row["stages"]), metrics]
        out.add_row(*cells, source_label(row.get("source")))
    return out


def sync(tracking_uri: str | None, run_id: str) -> dict:
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", run_id):
        raise ConfigError(f"'{run_id}' is not a run id", "see `aiaas runs` for run ids")
    from aiaas_cli.tracking.sync import sync as upload

    return upload(_cfg(tracking_uri), run_id)


def compare(tracking_uri: str | None, parent_id: str) -> dict:
    """A sweep's trials, best first by its objective: varying params, objective, status."""
    import json

    from aiaas_cli.training import sweep

    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", parent_id):
        raise ConfigError(f"'{parent_id}' is not a run id", "see `aiaas runs` for run ids")
    cfg = _cfg(tracking_uri)
    children = search.child_runs(cfg, parent_id)
    described = json.loads(tracking.get_run(parent_id).data.tags.get(sweep.SWEEP, "{}"))
    if not described:
        raise ConfigError(f"run '{parent_id}' is not a sweep", "pass the parent_run_id that `aiaas train -m` printed")
    trials = [_trial_row(run, described["params"]) for run in children]
    maximize = described["direction"] == "maximize"
    trials.sort(key=lambda t: (t["objective"] is None, -(t["objective"] or 0) if maximize else (t["objective"] or 0)))
    return {"parent_run_id": parent_id, **described, "trials": trials}


def _trial_row(run, params: list[str]) -> dict:
    from aiaas_cli.training import sweep

    found = run.data.tags
    objective = found.get(sweep.OBJECTIVE)
    state = found.get(sweep.TRIAL_STATE) or status(run).lower()
    return {
        "run_id": run.info.run_id,
        "trial": int(found.get(sweep.TRIAL, -1)),
        "state": state,
        "status": status(run),
        "params": {key: run.data.params.get(key) for key in params},
        "objective": None if objective is None else float(objective),
    }


def compare_table(found: dict) -> Table:
    out = Table(title=f"Sweep {found['parent_run_id']}: {found['metric']} ({found['direction']})")
    for column in ("trial", "run_id", *found["params"], found["metric"], "state"):
        out.add_column(column, no_wrap=column == "run_id")
    for row in found["trials"]:
        value = "-" if row["objective"] is None else f"{row['objective']:.4g}"
        out.add_row(str(row["trial"]), row["run_id"], *(str(v) for v in row["params"].values()), value, row["state"])
    return out
