"""All terminal output: rich on stderr, plain lines when not a TTY, and the single --json emitter.

The module-level ``settings`` object is the output state the CLI callback sets once per command.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console


@dataclass
class Settings:
    json: bool = False
    debug: bool = False


settings = Settings()
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    # Human-readable results go to stdout, unless stdout is reserved for the JSON object.
    return err if settings.json else Console(highlight=False, soft_wrap=True)


def info(message: str) -> None:
    err.print(message, markup=False)


def step(message: str) -> None:
    err.print(f"[bold cyan]>[/] {message}")


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True)


def show(renderable: Any) -> None:
    """Print a result (a rich table or text) for a person to read."""
    _out().print(renderable)


def emit_json(payload: dict[str, Any]) -> None:
    """Write the command's one JSON object to stdout."""
    sys.stdout.write(json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def is_tty() -> bool:
    return err.is_terminal


class _PlainProgress:
    """Line-by-line progress for CI logs: at most ~10 lines per task."""

    def __init__(self, description: str, total: int):
        self.description, self.total, self.done = description, max(total, 1), 0
        self.next_report, self.start = 0.1, time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.done += n
        fraction = self.done / self.total
        if fraction >= self.next_report or self.done == self.total:
            elapsed = time.perf_counter() - self.start
            info(f"{self.description}: {self.done}/{self.total} ({elapsed:.1f}s)")
            while self.next_report <= fraction:
                self.next_report += 0.1


class _RichProgress:
    def __init__(self, progress, task_id):
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task_id, n)


@contextmanager
def progress(description: str, total: int) -> Iterator[Any]:
    """A progress reporter with ``advance(n)``: a rich bar in a terminal, plain lines elsewhere."""
    if not is_tty():
        yield _PlainProgress(description, total)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        yield _RichProgress(bar, bar.add_task(description, total=total))
