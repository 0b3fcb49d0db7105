"""Optuna sweeps with Hydra's Optuna-sweeper syntax: nested MLflow runs, the best trial, failures, shared studies."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import optuna
import optuna.distributions as d
import pytest
from processes import AIAAS, env_for

from aiaas_cli import tracking
from aiaas_cli.errors import ConfigError
from aiaas_cli.training import sweep

SEARCH = ["-m", "hydra/sweeper=optuna", "model=mlp", "trainer.threads=1", "hydra.sweeper.sampler.seed=0"]


def _client(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


def test_hydra_optuna_syntax_becomes_optuna_distributions():
    settings, space, shared = sweep.parse([
        "hydra/sweeper=optuna", "hydra.sweeper.n_trials=7", "sweep.direction=maximize",
        "optim.lr=tag(log, interval(1e-4, 1e-2))", "data.batch_size=range(16,65,16)",
        "model.widths=choice([64],[32,16])", "optim.weight_decay=interval(0.0, 0.1)", "trainer.max_epochs=3",
        "hydra.sweeper.params.model.dropout=choice(0.1,0.3)",
    ])  # fmt: skip
    assert settings.n_trials == 7 and settings.direction == "maximize"
    assert space["optim.lr"] == d.FloatDistribution(1e-4, 1e-2, log=True)
    assert space["data.batch_size"] == d.IntDistribution(16, 64, step=16)
    assert space["model.widths"] == d.CategoricalDistribution(["[64]", "[32, 16]"])
    assert space["optim.weight_decay"] == d.FloatDistribution(0.0, 0.1)
    assert space["model.dropout"] == d.CategoricalDistribution([0.1, 0.3])
    assert shared == ["trainer.max_epochs=3"]


def test_sweep_usage_errors():
    with pytest.raises(ConfigError, match="needs a search space"):
        sweep.parse(["hydra/sweeper=optuna", "optim.lr=0.01"])
    with pytest.raises(ConfigError, match="unknown sweep setting 'n_trial'"):
        sweep.parse(["hydra/sweeper=optuna", "hydra.sweeper.n_trial=3", "optim.lr=interval(0.001,0.1)"])


def test_optuna_sweep_needs_multirun_and_known_keys(cli):
    assert "add -m" in cli("train", "tabular-cls", "hydra/sweeper=optuna", "optim.lr=interval(0.001,0.1)",
                           expect=2).stderr  # fmt: skip
    wrong = cli("train", "tabular-cls", *SEARCH, "optim.lrr=interval(0.001,0.1)", expect=2)
    assert "unknown config key 'optim.lrr'" in wrong.stderr


@pytest.mark.slow
def test_sweep_nests_trials_records_the_best_and_goes_on_after_a_failing_trial(cli, fresh_home):
    out = cli.json("train", "tabular-cls", *SEARCH, "trainer.max_epochs=2", "hydra.sweeper.n_trials=4",
                   "optim.lr=interval(0.003,0.1)",
                   "+trainer.callbacks.fault._target_=choice(pace.Pace,pace.Boom)",
                   "+trainer.callbacks.fault.seconds=0")  # fmt: skip
    parent = out["parent_run_id"]
    states = [t["state"] for t in out["trials"]]
    assert len(states) == 4 and "failed" in states and "complete" in states, out["trials"]
    failed = [t for t in out["trials"] if t["state"] == "failed"]
    assert all(t["params"]["+trainer.callbacks.fault._target_"] == "pace.Boom" for t in failed)
    assert all("boom" in t["error"] for t in failed)

    client = _client(fresh_home)
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  f"tags.`{tracking.PARENT_TAG}` = '{parent}'")  # fmt: skip
    assert len(children) == 4
    assert sorted(r.data.tags[sweep.TRIAL] for r in children) == ["0", "1", "2", "3"]
    assert sorted(r.info.status for r in children).count("FAILED") >= len(failed)
    completed = [t for t in out["trials"] if t["state"] == "complete"]
    best = min(completed, key=lambda t: t["objective"])  # tabular-cls: val_loss, minimised
    assert out["direction"] == "minimize" and out["metric"] == "val_loss"
    assert out["best"]["run_id"] == best["run_id"]
    tags = client.get_run(parent).data.tags
    assert tags["aiaas.best_run_id"] == best["run_id"]
    assert client.get_run(parent).data.metrics["best_val_loss"] == pytest.approx(best["objective"])

    compared = cli.json("runs", "compare", parent)
    objectives = [t["objective"] for t in compared["trials"] if t["objective"] is not None]
    assert objectives == sorted(objectives) and compared["trials"][0]["run_id"] == best["run_id"]
    assert {t["state"] for t in compared["trials"]} == set(states)
    assert "val_loss (minimize)" in cli("runs", "compare", parent).stdout
    exported = cli.json("export", "tabular-cls", f"run={best['run_id']}")  # the best trial goes straight on
    assert Path(exported["onnx_path"]).exists()


@pytest.mark.slow
def test_two_workers_share_one_sqlite_study_and_record_every_trial_once(tmp_path):
    home, storage = tmp_path / "home", f"sqlite:///{tmp_path / 'study.db'}"
    args = ["train", "tabular-cls", *SEARCH, "trainer.max_epochs=1", "hydra.sweeper.n_trials=2",
            "hydra.sweeper.study_name=shared", f"sweep.storage={storage}", "optim.lr=interval(0.003,0.1)",
            "--json"]  # fmt: skip
    workers = [subprocess.Popen([AIAAS, *args], env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]  # fmt: skip
    outs = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        outs.append(json.loads(out))
    assert outs[0]["parent_run_id"] == outs[1]["parent_run_id"]  # one sweep run for both workers
    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == [0, 1, 2, 3]
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)
    ran = sorted(t["trial"] for out in outs for t in out["trials"])
    assert ran == [0, 1, 2, 3]  # each trial ran in exactly one worker
    client = _client(home)
    parent = outs[0]["parent_run_id"]
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  f"tags.`{tracking.PARENT_TAG}` = '{parent}'")  # fmt: skip
    assert sorted(r.data.tags[sweep.TRIAL] for r in children) == ["0", "1", "2", "3"]


def test_compare_needs_a_sweep_run(cli, fresh_home):
    assert "is not a run id" in cli("runs", "compare", "../x", expect=2).stderr
    pre = cli.json("preprocess", "tabular-cls")
    refused = cli("runs", "compare", pre["run_id"], expect=2)
    assert "is not a sweep" in refused.stderr and "Traceback" not in refused.output
