"""Jobs started together on one fresh home (a CI matrix on a new machine): the store is created once, the
dataset built once, a model stored once, and every job finishes."""

from __future__ import annotations

import json
import subprocess

import pytest
from processes import AIAAS, env_for

JOBS = 4
WINE_ROW = (
    "alcohol,malic_acid,ash,alcalinity_of_ash,magnesium,total_phenols,flavanoids,nonflavanoid_phenols,"
    "proanthocyanins,color_intensity,hue,od280/od315_of_diluted_wines,proline\n"
    "13.2,1.78,2.14,11.2,100,2.65,2.76,0.26,1.28,4.38,1.05,3.4,1050\n"
)


def _at_once(home, *commands: list[str]) -> list[tuple[str, str]]:
    """Start every ``aiaas`` command at the same moment; (stdout, stderr) of each, once all exited 0."""
    jobs = [
        subprocess.Popen([AIAAS, *args], env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for args in commands
    ]
    outs = [job.communicate(timeout=900) for job in jobs]
    for job, (_, err) in zip(jobs, outs):
        assert job.returncode == 0, err[-3000:]
    return outs


def _client(home):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")


@pytest.mark.slow
def test_four_trainings_started_at_once_on_a_fresh_home_all_finish(tmp_path):
    home = tmp_path / "home"  # does not exist yet: every job finds no store and no dataset
    train = ["train", "tabular-cls", "model=mlp", "trainer.max_epochs=1", "trainer.threads=1", "--json"]
    outs = _at_once(home, *[train] * JOBS)
    run_ids = {json.loads(out)["run_id"] for out, _ in outs}
    assert len(run_ids) == JOBS
    client = _client(home)
    assert {client.get_run(run_id).info.status for run_id in run_ids} == {"FINISHED"}
    # one job built the dataset; the others waited for it and reused it
    reused = sum("Dataset unchanged, using cache" in err for _, err in outs)
    assert reused == JOBS - 1, [err[-500:] for _, err in outs]
    assert len(list((home / "datasets").iterdir())) == 1

    # one run packaged, and predicted with, by several jobs at once: its model is stored once, every job finishes
    run_id = sorted(run_ids)[0]
    _at_once(home, ["export", "tabular-cls", f"run={run_id}", "--json"])
    packaged = _at_once(home, *[["package", "tabular-cls", f"run={run_id}", "--json"]] * JOBS)
    assert len({json.loads(out)["bento_tag"] for out, _ in packaged}) == JOBS
    rows = tmp_path / "rows.csv"
    rows.write_text(WINE_ROW)
    predicted = _at_once(home, *[["predict", "tabular-cls", str(rows), "--model", f"run={run_id}"]] * 3)
    assert len({out for out, _ in predicted}) == 1 and '"label"' in predicted[0][0]
