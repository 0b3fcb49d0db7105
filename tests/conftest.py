"""Shared fixtures: an isolated workspace, the CLI runner, and one small trained digits run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
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
    os.environ["BENTOML_HOME"] = str(home / "bentoml")  # Bentos and models too (bentoml is imported lazily)
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


# Serving: an exported run, its Bento (with small limits, so the limit tests stay small), and its server.
SERVE_LIMITS = [
    "serve.limits.max_pixels=1000000",
    "serve.limits.max_request_pixels=2000000",
    "serve.max_body_mb=1",
    "serve.header_timeout_s=2",
    "serve.max_connections=48",
]


@pytest.fixture(scope="session")
def exported_run(cli, trained_run) -> str:
    """The shared run, exported to ONNX once."""
    run_id = trained_run["run_id"]
    cli.json("export", "image-cls", f"run={run_id}")
    return run_id


@pytest.fixture(scope="session")
def bento(cli, exported_run) -> dict:
    """The exported run packaged as a Bento (pixel limit 1 MP, body limit 1 MiB)."""
    return cli.json("package", "image-cls", f"run={exported_run}", *SERVE_LIMITS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM a server's process group, SIGKILL it if it has not stopped within ``timeout`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Server:
    """`aiaas serve REF` as a real subprocess on a free 127.0.0.1 port, in a process group of its own."""

    def __init__(self, ref: str, log_path, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [str(Path(sys.executable).with_name("aiaas")), "serve", ref, "--port", str(self.port)]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
            )

    def wait_ready(self, timeout: float = 120) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{Path(self.log_path).read_text()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"server not ready after {timeout}s:\n{Path(self.log_path).read_text()}")

    def stop(self) -> None:
        stop_group(self.process, 20)


class MlflowServer:
    """`mlflow server` on 127.0.0.1 as a subprocess in its own process group; start it again on the same port and
    store to model a server that comes back after an outage."""

    def __init__(self, root: Path, backend: str | None = None, artifacts: str | None = None, env: dict | None = None):
        self.root = root
        self.backend = backend or f"sqlite:///{root / 'db.sqlite'}"  # a team's: postgresql://…
        self.artifacts = artifacts or str(root / "artifacts")  # a team's: s3://bucket/prefix
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> MlflowServer:
        command = [
            str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1", "--backend-store-uri", self.backend, "--artifacts-destination", self.artifacts,
        ]  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "server.log", "ab") as log:  # why a server did not start
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.uri}/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.5)
        self.stop()
        log = (self.root / "server.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"mlflow server did not start within {timeout} s:\n{log}")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, 30)


@pytest.fixture(scope="session")
def server(bento, tmp_path_factory):
    """The packaged Bento served over HTTP, shared by the HTTP and fuzz tests."""
    running = Server(bento["bento_tag"], tmp_path_factory.mktemp("serve") / "server.log").wait_ready()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def held_out_images(trained_run) -> list[tuple[Path, str]]:
    """The shared run's test-split image files with their true labels (the class folder)."""
    dataset = Path(trained_run["dataset_dir"])
    root = Path(json.loads((dataset / "manifest.json").read_text())["source"])
    names = (dataset / "test_files.txt").read_text().split()
    return [(root / name, Path(name).parts[0]) for name in names]


EXAMPLE_RECIPE = Path(__file__).resolve().parents[1] / "examples" / "points_recipe"


def install_plugin(site: Path, entry_points: str) -> None:
    """Make ``site`` look like site-packages holding the example recipe: its package plus entry-point metadata."""
    shutil.copytree(EXAMPLE_RECIPE / "aiaas_points", site / "aiaas_points")
    dist = site / "aiaas_points-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: aiaas-points\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(f"[aiaas.recipes]\n{entry_points}\n")
    sys.path.insert(0, str(site))


def uninstall_plugin(site: Path) -> None:
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.split(".")[0] == "aiaas_points"]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def points_plugin(tmp_path_factory):
    """The example third-party recipe `points`, installed for the tests of one module."""
    site = tmp_path_factory.mktemp("site")
    install_plugin(site, "points = aiaas_points.recipe:recipe")
    yield site
    uninstall_plugin(site)


@pytest.fixture()
def s3(monkeypatch):
    """A moto S3 server on 127.0.0.1 with one bucket (`models`); AWS_* variables point at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3").create_bucket(Bucket="models")
    yield env
    moto.stop()
