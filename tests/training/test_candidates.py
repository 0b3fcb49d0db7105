"""The model=auto loop (training/candidates.py): ranking, the time limit, failing candidates, what it refuses."""

from __future__ import annotations

import pytest

from aiaas_cli import recipes
from aiaas_cli.recipe_api import Metrics, Recipe
from aiaas_cli.training.candidates import FAILED, SKIPPED, TRAINED, Entry, ranked

QUICK = ["trainer.max_epochs=2", "trainer.early_stopping.enabled=false"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> list[str]:
    return recipes.load("tabular-cls").smoke_overrides(tmp_path_factory.mktemp("candidates-table"))


class _LowerIsBetter(Recipe):
    metrics = Metrics(names=("mase",), headline="mase", higher_is_better=False)


def test_ranking_follows_the_metric_direction_and_lists_the_others_last():
    entries = [
        Entry("skipped", SKIPPED, error="time_limit"),
        Entry("b", val=0.9),
        Entry("failed", FAILED, error="boom"),
        Entry("a", val=0.7),
    ]
    assert [row["name"] for row in ranked(_LowerIsBetter(), entries)] == ["a", "b", "skipped", "failed"]
    higher = recipes.load("tabular-cls")
    assert [row["name"] for row in ranked(higher, entries)] == ["b", "a", "skipped", "failed"]


def test_a_stopped_candidate_does_not_offer_resume():
    import signal

    from aiaas_cli.training.resume_run import Stopped

    stopped = Stopped(signal.SIGTERM, epoch=0, step=3)
    stopped.run_id, stopped.recipe, stopped.resumable = "abc", "tabular-cls", False
    assert stopped.code == 128 + signal.SIGTERM
    assert "a model=auto run is not resumed" in stopped.one_line() and "resume=abc" not in stopped.one_line()


def test_the_default_candidates_are_the_users_list_or_the_recipes():
    from aiaas_cli import config

    recipe = recipes.load("tabular-cls")
    rows = {"splits": {"train": 1000}}
    assert recipe.candidates(config.compose(recipe, ["model=auto"]), rows) == ["linear", "lightgbm", "hist_gb", "mlp"]
    chosen = config.compose(recipe, ["model=auto", "model.candidates=[mlp]"])
    assert recipe.candidates(chosen, rows) == ["mlp"]


def test_a_spent_time_limit_starts_no_further_candidate(cli, smoke):
    out = cli.json("train", "tabular-cls", "model=auto", "model.candidates=[hist_gb,mlp]", "model.time_limit=0.001",
                   *smoke, *QUICK)  # fmt: skip
    first, second = out["leaderboard"]
    assert (first["name"], first["status"], first["chosen"]) == ("hist_gb", TRAINED, True)
    assert (second["name"], second["status"], second["val"]) == ("mlp", SKIPPED, None)
    assert second["error"].startswith("time_limit:")
    assert out["chosen_model"] == "hist_gb" and out["checkpoint"].endswith("candidates/hist_gb/best.skops")


def test_the_only_candidate_failing_is_its_own_error(cli, smoke):
    data = [o for o in smoke if not o.startswith("model.")]  # model.widths is the MLP's, not hist_gb's
    result = cli("train", "tabular-cls", "model=auto", "model.candidates=[hist_gb]", "data.storage=litdata", *data,
                 expect=2)  # fmt: skip
    assert "data.storage=litdata: this model's data loader reads only the npy arrays" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_failing_candidate_is_listed_and_the_others_go_on(cli, smoke):
    """hist_gb reads only npy arrays, the MLP streams LitData shards: one fails, the other wins."""
    out = cli.json("train", "tabular-cls", "model=auto", "model.candidates=[hist_gb,mlp]", "data.storage=litdata",
                   *smoke, *QUICK)  # fmt: skip
    by_name = {row["name"]: row for row in out["leaderboard"]}
    assert by_name["hist_gb"]["status"] == FAILED and "data.storage=litdata" in by_name["hist_gb"]["error"]
    assert by_name["mlp"]["chosen"] and out["chosen_model"] == "mlp"
    assert out["leaderboard"][-1]["name"] == "hist_gb"


def test_no_validation_split_is_one_config_error(cli, smoke):
    result = cli("train", "tabular-cls", "model=auto", "data.split.val=0", *smoke, *QUICK, expect=2)
    line = result.stderr.strip().splitlines()[-1]
    assert "model=auto ranks its candidates on the validation split, and the dataset has none" in line
    assert "raise data.split.val (now 0" in line


def test_an_optuna_sweep_of_model_auto_is_refused(cli, smoke):
    result = cli("train", "tabular-cls", "-m", "hydra/sweeper=optuna", "model=auto", "optim.lr=interval(1e-4,1e-2)",
                 *smoke, expect=2)  # fmt: skip
    assert "an Optuna sweep tunes one model; model=auto trains several" in result.stderr


def test_a_recipe_without_candidates_refuses_auto_in_one_line(cli):
    result = cli("train", "image-cls", "model=auto", expect=2)
    assert result.stderr.strip().count("\n") == 0
    assert "model=auto: image-cls has no candidate models to choose among" in result.stderr


def test_an_unknown_candidate_is_one_line(cli):
    result = cli("train", "tabular-cls", "model=auto", "model.candidates=[hist_gb,nope]", expect=2)
    assert result.stderr.strip().count("\n") == 0
    assert (
        "model.candidates: nope is not a tabular-cls model (choose among: mlp, hist_gb, lightgbm, linear)"
        in result.stderr
    )
