"""The model-vs-baselines parts of an evaluation report: "baseline" and the "compare" table."""

from __future__ import annotations

from aiaas_recipes.common.report import add_baseline, baseline_entry, compare_table, scores_table


def test_a_baseline_entry_keeps_its_name_and_the_chosen_scores():
    scores = {"accuracy": 0.5, "macro_f1": 0.4, "per_class": {}}
    assert baseline_entry("constant", scores) == {"name": "constant", **scores}
    assert baseline_entry("constant", scores, ("accuracy",)) == {"name": "constant", "accuracy": 0.5}


def test_the_compare_table_has_a_column_per_scorer_and_a_row_per_score():
    table = compare_table(
        "t", {"model": {"mae": 1.0, "rmse": 2.0}, "naive": {"mae": 3.0, "rmse": 4.0}}, ("rmse", "mae")
    )
    assert table == {"title": "t", "columns": ["model", "naive"], "rows": {"rmse": [2.0, 4.0], "mae": [1.0, 3.0]}}
    labelled = compare_table("t", {"model": {"ndcg": 0.3}}, ["ndcg"], lambda key: f"{key}@10")
    assert labelled["rows"] == {"ndcg@10": [0.3]}


def test_the_rows_may_follow_the_model_scores_keys():
    model, copy = {"mcd": 8.0, "f0_rmse": 0.2}, {"name": "copy", "mcd": 5.0, "f0_rmse": 0.1}
    table = compare_table("tts", {"model": model, copy["name"]: copy}, model)
    assert table["columns"] == ["model", "copy"] and table["rows"] == {"mcd": [8.0, 5.0], "f0_rmse": [0.2, 0.1]}


def test_add_baseline_fills_the_report_as_before():
    report = {"accuracy": 0.9, "macro_f1": 0.8, "samples": 10}
    baseline = {"accuracy": 0.5, "macro_f1": 0.3, "roc_auc": 0.6}
    out = add_baseline(report, baseline, "majority", "Model vs majority", ("accuracy", "macro_f1"))
    assert out is report and list(report) == ["accuracy", "macro_f1", "samples", "baseline", "compare"]
    assert report["baseline"] == {"name": "majority", "accuracy": 0.5, "macro_f1": 0.3}
    assert report["compare"] == {
        "title": "Model vs majority",
        "columns": ["model", "baseline"],
        "rows": {"accuracy": [0.9, 0.5], "macro_f1": [0.8, 0.3]},
    }
    whole = add_baseline({"accuracy": 0.9}, {"accuracy": 0.5, "per_class": {}}, "b", "t", ("accuracy",), whole=True)
    assert whole["baseline"] == {"name": "b", "accuracy": 0.5, "per_class": {}}


def test_the_scores_table_shows_each_row():
    rows = {"cat": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "support": 4}}
    table = scores_table("Per class", "class", rows, "accuracy 0.5")
    assert [c.header for c in table.columns] == ["class", "precision", "recall", "f1", "support"]
    assert table.row_count == 1 and table.caption == "accuracy 0.5"
    assert [list(c.cells) for c in table.columns] == [["cat"], ["0.500"], ["0.250"], ["0.333"], ["4"]]
