"""Shared fixtures: an isolated workspace, the CLI runner, and one small trained digits run."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from aiaas_cli.cli import app

# A short training that still clears the accuracy bar the stages after it need.
FAST_TRAIN = ["trainer.max_epochs=3", "trainer.early_stopping.enabled=false"]


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory):
    """Every test runs against a workspace under pytest's tmp dir, never the developer's."""
    home = tmp_path_factory.mktemp("aiaas-home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ["AIAAS_HOME"] = str(home)
    return home


@pytest.fixture()
def fresh_home(tmp_path, monkeypatch):
    """A workspace of the test's own (a new MLflow store: costs a few seconds)."""
    home = tmp_path / "home"
    monkeypatch.setenv("AIAAS_HOME", str(home))
    return home


class Cli:
    """Runs `aiaas` in-process through Typer's CliRunner."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0):
        result = self.runner.invoke(app, list(args))
        if expect is not None and result.exit_code != expect:
            raise AssertionError(
                f"aiaas {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str, expect: int = 0) -> dict:
        result = self(*args, "--json", expect=expect)
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def trained_run(cli, session_home) -> dict:
    """One digits pipeline run (preprocess → train → evaluate) shared by the tests that need a model."""
    return cli.json("pipeline", "image-cls", *FAST_TRAIN)
