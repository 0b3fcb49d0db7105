"""What every command shares: one-line errors, option types, the config of a command line, and output."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup, TyperOption

from aiaas_cli import console, workspace
from aiaas_cli.errors import ConfigError, UserError

# how Click names the value an option takes, where Typer writes the Python type (`<str>`, `<int range>`)
_CLICK_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "int range": "INTEGER RANGE", "Path": "PATH"}


def plain_option_types(command) -> None:
    """Help as Click shows it: nothing after a flag (Typer writes `--json <bool>`), TEXT or INTEGER after a value."""
    from typer._click import Context

    ctx = Context(command)
    for param in (*command.params, command.get_help_option(ctx)):  # --help is made once, then kept by the command
        if isinstance(param, TyperOption) and param.metavar is None:
            label = param.display_type(ctx).strip("<>")
            param.metavar = "" if param.is_flag else _CLICK_TYPES.get(label, label.upper())


class ErrorHandlingGroup(TyperGroup):
    """Turns a UserError from any command into one line and its exit code (no traceback)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for command in (self, *self.commands.values()):
            plain_option_types(command)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            if console.settings.debug:
                raise
            console.error(exc.one_line())
            if console.settings.json:
                console.emit_json({"error": exc.one_line(), "exit_code": exc.exit_code})
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.error("interrupted")
            raise typer.Exit(130) from None
        except SystemExit as exc:
            from aiaas_cli.training.resume_run import Stopped

            if not isinstance(exc, Stopped):
                raise
            console.error(exc.one_line())
            if console.settings.json:
                console.emit_json({"error": exc.one_line(), "exit_code": exc.code, "run_id": exc.run_id})
            raise typer.Exit(exc.code) from None
        finally:
            workspace.remove_scratch()


def stop_on_sigterm() -> None:
    """SIGTERM (CI cancelling a job, `kill`) ends a command like Ctrl-C: clean-up runs and the run is marked KILLED."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


Recipe = Annotated[str, typer.Argument(help="Task recipe, e.g. image-cls (see `aiaas recipes`).", show_default=False)]
Overrides = Annotated[
    Optional[list[str]],
    typer.Argument(help="Hydra overrides: key=value, group=option, +new=value, ~key.", show_default=False),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout; logs go to stderr.")]
PrintCfg = Annotated[bool, typer.Option("--cfg", help="Print the composed config and exit.")]
Strict = Annotated[bool, typer.Option("--strict", help="Fail on unreadable inputs instead of skipping them.")]
Multirun = Annotated[
    bool,
    typer.Option("--multirun", "-m", help="Sweep: a=1,2 b=x,y runs every combination; hydra/sweeper=optuna searches."),
]


def command_config(recipe_name: str, overrides: list[str] | None, strict: bool = False):
    """The recipe and the config a command line asks for: `config.compose`, or with `resume=` the resumed run's."""
    from aiaas_cli import config, recipes
    from aiaas_cli.training import resume_run

    recipe = recipes.load(recipe_name)
    resumed, args = resume_run.split(list(overrides or []) + (["strict=true"] if strict else []))
    cfg = config.compose(recipe, args)
    return recipe, resume_run.prepare(recipe, cfg, resumed, args) if resumed else cfg


def finish(payload: dict, json_mode: bool) -> None:
    if json_mode:
        console.emit_json(payload)
        return
    for key, value in payload.items():
        if not isinstance(value, (dict, list)):
            console.show(f"[bold]{key}[/]: {value}")


def stage_command(
    flow: Callable, recipe_name: str, overrides, json_mode: bool, print_cfg: bool, strict=False, multirun=False
) -> None:
    from aiaas_cli import config
    from aiaas_cli.training import sweep

    console.settings.json = json_mode
    if sweep.wanted(list(overrides or [])):
        if not multirun:
            raise ConfigError("hydra/sweeper=optuna runs a sweep", "add -m (--multirun)")
        finish(sweep.run(flow, recipe_name, list(overrides or []), strict), json_mode)
        return
    jobs = config.sweep(list(overrides or [])) if multirun else [list(overrides or [])]
    composed = [command_config(recipe_name, job, strict) for job in jobs]  # every job's usage errors before any run
    results = []
    for job, (recipe, cfg) in zip(jobs, composed):
        if print_cfg:
            console.show(config.to_yaml(cfg)) if not json_mode else console.emit_json(config.to_plain(cfg))
            return
        if multirun:
            console.step(f"Sweep job {len(results) + 1}/{len(jobs)}: {' '.join(job)}")
        results.append({"overrides": job, **flow(cfg, recipe)} if multirun else flow(cfg, recipe))
    finish({"runs": results} if multirun else results[0], json_mode)
