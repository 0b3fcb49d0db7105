"""`aiaas runs`: list recent runs, upload what a run kept offline, compare a sweep's trials."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from aiaas_cli import console
from aiaas_cli.cli.common import ErrorHandlingGroup, Json, finish

runs_app = typer.Typer(cls=ErrorHandlingGroup, add_completion=False, rich_markup_mode="rich")
TrackingUri = Annotated[Optional[str], typer.Option("--tracking-uri", help="MLflow store (default: the workspace's).")]


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to show.")] = 10,
    tracking_uri: TrackingUri = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column: stages and three test metrics.")] = False,
    json_mode: Json = False,
) -> None:
    """List recent runs with their key metrics; runs whose process was killed show as KILLED.

    Examples:
      aiaas runs
      aiaas runs --wide           (stages and more metrics; --json has everything)
      aiaas runs -n 3 --json
      aiaas runs sync <run_id>      (upload what a run kept locally while its tracking server was away)
    """
    from aiaas_cli.cli.run_list import rows, table

    if ctx.invoked_subcommand is not None:
        return
    console.settings.json = json_mode
    found = rows(tracking_uri, limit)
    if json_mode:
        console.emit_json({"run_id": found[0]["run_id"] if found else None, "runs": found})
    else:
        console.show(table(found, wide))


@runs_app.command("sync")
def runs_sync(
    run_id: Annotated[str, typer.Argument(help="The run to upload, as `aiaas runs` or the warning named it.")],
    tracking_uri: TrackingUri = None,
    json_mode: Json = False,
) -> None:
    """Upload what a run kept locally while its tracking server did not answer (metrics, params, artifacts, end).

    Examples:
      aiaas runs sync <run_id>
      aiaas runs sync <run_id> --tracking-uri http://127.0.0.1:5000 --json
    """
    from aiaas_cli.cli.run_list import sync

    console.settings.json = json_mode
    finish(sync(tracking_uri, run_id), json_mode)


@runs_app.command("compare")
def runs_compare(
    parent_run_id: Annotated[str, typer.Argument(help="The sweep's run: parent_run_id of `aiaas train -m ...`.")],
    tracking_uri: TrackingUri = None,
    json_mode: Json = False,
) -> None:
    """A sweep's trials sorted by its objective, best first: the params searched, the metric, the state.

    Examples:
      aiaas runs compare <parent_run_id>
      aiaas runs compare <parent_run_id> --json      ({"trials": [...]}, best first)
      aiaas export tabular-cls run=<best trial's run_id>
    """
    from aiaas_cli.cli.run_list import compare, compare_table

    console.settings.json = json_mode
    found = compare(tracking_uri, parent_run_id)
    if json_mode:
        console.emit_json(found)
    else:
        console.show(compare_table(found))
