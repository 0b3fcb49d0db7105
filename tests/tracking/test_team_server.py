"""A team's tracking server: `mlflow server` with its runs in PostgreSQL and its artifacts in S3, and an Optuna sweep
whose workers (each with its own home, as on two machines) share one study in PostgreSQL. The test starts every
server (PostgreSQL 16 from pgserver on a Unix socket, moto's S3 and MLflow on 127.0.0.1) and stops them at the end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import MlflowServer, free_port
from processes import AIAAS, env_for

from aiaas_cli import tracking
from aiaas_cli.training import sweep

BUCKET = "team"
TINY = ["model=mlp", "trainer.max_epochs=1", "trainer.threads=1"]
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR")  # pgserver keeps its lock in /tmp/runtime-$UID


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """PostgreSQL with a database for MLflow and one for Optuna (each keeps its schema version in `alembic_version`)."""
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("postgres"), cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE mlflow;")
        server.psql("CREATE DATABASE optuna;")
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 with one bucket: (the variables the MLflow server reads, a boto3 client)."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    try:
        url, keys = f"http://127.0.0.1:{port}", {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **keys)
        client.create_bucket(Bucket=BUCKET)
        env = {"MLFLOW_S3_ENDPOINT_URL": url, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1",
               **{k.upper(): v for k, v in keys.items()}}  # fmt: skip
        yield env, client
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def team_server(postgres, s3, tmp_path_factory):
    """The team's MLflow server; clients reach the artifacts through it (no S3 credentials on their side)."""
    env, _ = s3
    server = MlflowServer(tmp_path_factory.mktemp("team-mlflow"), backend=postgres.get_uri("mlflow"),
                          artifacts=f"s3://{BUCKET}/mlflow", env=env)  # fmt: skip
    try:
        yield server.start()
    finally:
        server.stop()


def _finished(worker: subprocess.Popen, timeout: float = 300) -> dict:
    try:
        out, err = worker.communicate(timeout=timeout)
    finally:
        worker.kill()  # a no-op once it has exited
    assert worker.returncode == 0, err[-3000:]
    return json.loads(out)


def _aiaas(args: list[str], home: Path) -> subprocess.Popen:
    return subprocess.Popen([AIAAS, *args, "--json"], env=env_for(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.slow
def test_pipeline_records_its_run_in_postgres_and_its_artifacts_in_s3(team_server, postgres, s3, tmp_path):
    import sqlalchemy
    from mlflow.tracking import MlflowClient

    out = _finished(
        _aiaas(
            ["pipeline", "tabular-cls", *TINY, "tracking=server", f"tracking.uri={team_server.uri}"], tmp_path / "home"
        )
    )
    run_id, client = out["run_id"], MlflowClient(tracking_uri=team_server.uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run_id, "val_loss")) == 1
    assert any(key.startswith("test_") for key in run.data.metrics)
    assert {"checkpoints", "config", "evaluation"} <= {a.path for a in client.list_artifacts(run_id)}

    engine = sqlalchemy.create_engine(postgres.get_uri("mlflow"))  # the run is a row in PostgreSQL ...
    try:
        with engine.connect() as db:
            row = db.execute(sqlalchemy.text("SELECT status FROM runs WHERE run_uuid = :id"), {"id": run_id}).one()
    finally:
        engine.dispose()
    assert row.status == "FINISHED"
    pages = s3[1].get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="mlflow/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]  # ... and its files are in the bucket
    assert any(f"/{run_id}/artifacts/checkpoints/" in key for key in keys), keys[:20]
    assert any(f"/{run_id}/artifacts/evaluation/" in key for key in keys)


@pytest.mark.slow
def test_workers_creating_the_study_tables_together_all_get_the_storage(postgres):
    """Optuna creates its tables on first use; on PostgreSQL two workers doing so at once collide (an IntegrityError
    in about half the tries without the retry in sweep.rdb)."""
    postgres.psql("CREATE DATABASE fresh;")
    code = "import sys; from aiaas_cli.training.sweep import rdb; rdb(sys.argv[1])"
    workers = [subprocess.Popen([sys.executable, "-c", code, postgres.get_uri("fresh")], stderr=subprocess.PIPE,
                                text=True) for _ in range(3)]  # fmt: skip
    for worker in workers:
        err = worker.communicate(timeout=120)[1]
        assert worker.returncode == 0, err[-2000:]


@pytest.mark.slow
def test_two_workers_share_one_postgres_study_and_record_every_trial_once(team_server, postgres, tmp_path):
    import optuna
    from mlflow.tracking import MlflowClient

    storage = postgres.get_uri("optuna")  # its ?host=/socket/dir needs quotes on a Hydra command line
    args = ["train", "tabular-cls", "-m", "hydra/sweeper=optuna", "hydra.sweeper.sampler.seed=0", *TINY,
            "hydra.sweeper.n_trials=2", "hydra.sweeper.study_name=team", f"sweep.storage='{storage}'",
            "optim.lr=interval(0.003,0.1)", f"tracking.uri={team_server.uri}"]  # fmt: skip
    workers = [_aiaas(args, tmp_path / f"machine-{n}") for n in range(2)]  # started together, homes apart
    outs = [_finished(worker) for worker in workers]

    parent = outs[0]["parent_run_id"]
    assert outs[1]["parent_run_id"] == parent  # one sweep run for both workers
    study = optuna.load_study(study_name="team", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)
    assert sorted(t["trial"] for out in outs for t in out["trials"]) == [0, 1, 2, 3]  # each ran in one worker
    client = MlflowClient(tracking_uri=team_server.uri)
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  f"tags.`{tracking.PARENT_TAG}` = '{parent}'")  # fmt: skip
    assert sorted(r.data.tags[sweep.TRIAL] for r in children) == ["0", "1", "2", "3"]
    assert all(r.info.status == "FINISHED" for r in children)


@pytest.mark.slow
def test_postgres_going_away_behind_the_server_is_the_server_going_away(tmp_path, monkeypatch):
    """A write fails within seconds in the way aiaas reads as "the server stopped answering" (one line, the run carries
    on; test_tracking.py::test_server_dying_mid_training_loses_nothing covers the rest), never a hang."""
    import pgserver
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from aiaas_cli.tracking import connection

    for key, value in connection.HTTP_LIMITS.items():
        monkeypatch.setenv(key, value)
    database = pgserver.get_server(tmp_path / "postgres", cleanup_mode="stop")
    server = MlflowServer(tmp_path / "mlflow", backend=database.get_uri())
    try:
        client = MlflowClient(tracking_uri=server.start().uri)
        run_id = client.create_run("0").info.run_id
        database.cleanup()
        started = time.monotonic()
        with pytest.raises(MlflowException) as failed:
            client.log_metric(run_id, "val_loss", 1.0)
        took = time.monotonic() - started
        print(f"\nPostgreSQL stopped: the write failed {took:.1f} s later: {str(failed.value).splitlines()[0][:200]}")
        assert took < 60
        assert connection.unreachable(failed.value), str(failed.value)[:500]
    finally:
        server.stop()
        database.cleanup()


def test_a_study_database_that_does_not_answer_is_one_line(cli, fresh_home):
    storage = f"sweep.storage=postgresql://bob:secret@127.0.0.1:{free_port()}/optuna"
    failed = cli(
        "train",
        "tabular-cls",
        "model=mlp",
        "-m",
        "hydra/sweeper=optuna",
        "optim.lr=interval(0.003,0.1)",
        storage,
        expect=1,
    )
    assert "sweep.storage=postgresql://bob:****@127.0.0.1" in failed.stderr and "Connection refused" in failed.stderr
    assert "Traceback" not in failed.output and "secret" not in failed.output


def test_tracking_server_without_an_address_stops_in_one_line(cli, fresh_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = cli("train", "tabular-cls", "tracking=server", expect=2)
    assert "tracking=server needs the address of the team's MLflow server" in result.stderr
    assert "Traceback" not in result.output and not (fresh_home / "mlflow.db").exists()
