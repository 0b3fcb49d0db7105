"""Jobs started together on one fresh home (a CI matrix on a new machine): the store is created once, the
dataset built once, and every job finishes."""

from __future__ import annotations

import json
import subprocess

import pytest
from processes import AIAAS, env_for

JOBS = 4


def _client(home):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


@pytest.mark.slow
def test_four_trainings_started_at_once_on_a_fresh_home_all_finish(tmp_path):
    home = tmp_path / "home"  # does not exist yet: every job finds no store and no dataset
    args = ["train", "tabular-cls", "trainer.max_epochs=1", "trainer.threads=1", "--json"]
    jobs = [
        subprocess.Popen([AIAAS, *args], env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(JOBS)
    ]
    outs = [job.communicate(timeout=900) for job in jobs]
    for job, (_, err) in zip(jobs, outs):
        assert job.returncode == 0, err[-3000:]
    run_ids = {json.loads(out)["run_id"] for out, _ in outs}
    assert len(run_ids) == JOBS
    client = _client(home)
    assert {client.get_run(run_id).info.status for run_id in run_ids} == {"FINISHED"}
    # one job built the dataset; the others waited for it and reused it
    reused = sum("Dataset unchanged, using cache" in err for _, err in outs)
    assert reused == JOBS - 1, [err[-500:] for _, err in outs]
    assert len(list((home / "datasets").iterdir())) == 1
