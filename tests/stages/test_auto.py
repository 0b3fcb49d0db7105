"""model=auto through the stages on the tabular-cls smoke table: the leaderboard in train, evaluate and pipeline,
and the chosen candidate carried into export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aiaas_cli import recipes, tags, tracking, workspace
from aiaas_cli.tracking.connection import mlflow_client

QUICK = ["trainer.max_epochs=3", "trainer.early_stopping.enabled=false"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> list[str]:
    return recipes.load("tabular-cls").smoke_overrides(tmp_path_factory.mktemp("auto-table"))


@pytest.fixture(scope="module")
def auto_run(cli, smoke) -> dict:
    return cli.json("pipeline", "tabular-cls", "model=auto", "model.candidates=[hist_gb,mlp]", *smoke, *QUICK)


def test_leaderboard_has_every_candidate_and_marks_the_best_on_val(auto_run):
    board = auto_run["leaderboard"]
    assert [row["name"] for row in board] != [] and {row["name"] for row in board} == {"hist_gb", "mlp"}
    for row in board:
        assert set(row) >= {"name", "val", "test", "fit_s", "predict_ms", "chosen"}
        assert row["status"] == "trained" and row["error"] is None
        assert 0 <= row["val"] <= 1 and 0 <= row["test"] <= 1 and row["fit_s"] > 0 and row["predict_ms"] > 0
    assert [row["val"] for row in board] == sorted((row["val"] for row in board), reverse=True)
    chosen = [row for row in board if row["chosen"]]
    assert len(chosen) == 1 and chosen[0] is board[0]  # the first of equals is the cheaper one, listed first
    assert auto_run["chosen_model"] == chosen[0]["name"]
    assert auto_run["metrics"]["accuracy"] == pytest.approx(chosen[0]["test"])
    assert "baseline" in auto_run["metrics"]  # the recipe's reference baseline keeps its place


def test_the_exported_model_is_the_chosen_candidate(auto_run):
    import onnxruntime as ort

    name = auto_run["chosen_model"]
    checkpoint = Path(auto_run["checkpoint"])
    assert checkpoint.parent.name == name and checkpoint.parent.parent.name == "candidates"
    assert checkpoint.suffix == (".skops" if name == "hist_gb" else ".ckpt")
    recipe = recipes.load("tabular-cls")
    dataset_dir = Path(auto_run["dataset_dir"])
    manifest = workspace.read_json(dataset_dir / "manifest.json")
    inputs, _ = recipe.export_samples(dataset_dir, manifest, "test", 64)
    expected = recipe.reference_outputs(recipe.load_model(checkpoint)[0], inputs)["probabilities"]
    session = ort.InferenceSession(auto_run["onnx_path"])
    served = dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))["probabilities"]
    np.testing.assert_allclose(served, expected, atol=1e-4)


def test_evaluate_scores_every_candidate_and_logs_the_leaderboard(cli, auto_run):
    out = cli.json("evaluate", "tabular-cls", f"run={auto_run['run_id']}")
    by_name = {row["name"]: row for row in out["leaderboard"]}
    for row in auto_run["leaderboard"]:
        assert by_name[row["name"]]["val"] == row["val"]
        assert by_name[row["name"]]["test"] == pytest.approx(row["test"])
    assert out["metrics"]["accuracy"] == pytest.approx(auto_run["metrics"]["accuracy"])
    folder = Path(out["metrics_file"]).parent
    assert json.loads((folder / "leaderboard.json").read_text()) == out["leaderboard"]
    assert (folder / "leaderboard.png").stat().st_size > 0
    run = tracking.get_run(auto_run["run_id"])
    assert run.data.tags[tags.CHOSEN_MODEL] == auto_run["chosen_model"]
    for row in out["leaderboard"]:
        assert run.data.metrics[f"candidate.{row['name']}.test_accuracy"] == pytest.approx(row["test"])
    logged = {a.path for a in mlflow_client().list_artifacts(auto_run["run_id"], "evaluation")}
    assert {"evaluation/leaderboard.json", "evaluation/leaderboard.png"} <= logged


def test_the_leaderboard_table_follows_the_recipe_tables(cli, auto_run):
    result = cli("evaluate", "tabular-cls", f"run={auto_run['run_id']}")
    shown = result.stdout  # results go to stdout without --json
    assert "Leaderboard (model=auto, ranked by val accuracy)" in shown
    assert shown.index("Per class") < shown.index("Leaderboard") and "hist_gb" in shown and "mlp" in shown


def test_a_model_auto_run_is_not_resumed(cli, auto_run):
    result = cli("train", "tabular-cls", f"resume={auto_run['run_id']}", expect=2)
    assert "trained model=auto's candidates: it is not resumed" in result.stderr.strip()


def test_cfg_shows_the_auto_node(cli, smoke):
    shown = cli("train", "tabular-cls", "model=auto", *smoke, "--cfg").stdout
    assert "kind: auto" in shown and "time_limit: null" in shown and "- model.widths=[8]" in shown
