"""End to end: a messy "real-world" table through every stage, then `aiaas predict` on new rows."""

from __future__ import annotations

import csv
import json

import pytest
import tabular_runs
from tablefiles import UNSEEN_CITY, new_rows

pytestmark = pytest.mark.slow

CLS_METRICS = {"accuracy", "macro_f1", "roc_auc", "log_loss"}
REG_METRICS = {"rmse", "mae", "r2"}


@pytest.fixture(scope="module")
def cls_pipeline(cli, session_home) -> dict:
    return tabular_runs.pipeline(cli, "tabular-cls", session_home)


@pytest.fixture(scope="module")
def reg_pipeline(cli, session_home) -> dict:
    return tabular_runs.pipeline(cli, "tabular-reg", session_home)


def preprocess_report(cli, recipe: str, home) -> dict:
    """`aiaas preprocess --json` on the same table: the pipeline's dataset, from the cache, with its report."""
    result = cli.json("preprocess", recipe, *tabular_runs.data_overrides(recipe, home))
    assert result["cached"]
    return result


def assert_reported(result: dict) -> None:
    dropped = {d["column"]: d["reason"] for d in result["dropped_columns"]}
    assert {"customer_id", "ref", "country"} <= set(dropped)
    assert "identifier" in dropped["customer_id"] and dropped["country"].startswith("constant")
    assert result["skipped_rows"]["missing target"] == 5
    assert result["skipped_rows"]["broken line (wrong number of fields)"] == 1


def test_messy_table_classification_pipeline_then_predict(cli, cls_pipeline, session_home, tmp_path):
    report = preprocess_report(cli, "tabular-cls", session_home)
    assert_reported(report)
    assert report["columns"]["member"] == "boolean" and report["columns"]["signup"] == "date"
    metrics = cls_pipeline["metrics"]
    assert CLS_METRICS.issubset(metrics) and CLS_METRICS.issubset(metrics["baseline"])
    assert metrics["accuracy"] > 0.7
    assert cls_pipeline["bento_tag"]
    out = tmp_path / "predictions.csv"
    run = f"run={cls_pipeline['run_id']}"
    cli("predict", "tabular-cls", str(new_rows(tmp_path)), "--model", run, "--output", str(out))
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["city"] for row in rows] == [UNSEEN_CITY, "paris", "Lyon"]  # the input's own columns, in order
    assert [row["input"].rsplit("/", 1)[-1] for row in rows] == ["new.csv:2", "new.csv:3", "new.csv:4"]
    for row in rows:
        assert not row["error"]
        assert row["label"] in ("no", "yes")
        assert float(row["probability_no"]) + float(row["probability_yes"]) == pytest.approx(1.0, abs=1e-5)


def test_messy_table_regression_pipeline_with_hist_gb(cli, reg_pipeline, session_home, tmp_path):
    report = preprocess_report(cli, "tabular-reg", session_home)
    assert_reported(report)
    assert report["skipped_rows"]["target is not a number"] == 1
    metrics = reg_pipeline["metrics"]
    assert REG_METRICS.issubset(metrics) and REG_METRICS.issubset(metrics["baseline"])
    assert metrics["r2"] > 0.5
    run = f"run={reg_pipeline['run_id']}"
    result = cli("predict", "tabular-reg", str(new_rows(tmp_path)), "--model", run)
    values = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(values) == 3 and all(isinstance(v["value"], float) for v in values)


def test_strict_makes_skipped_rows_an_error(cli, session_home):
    data = tabular_runs.data_overrides("tabular-cls", session_home)
    result = cli("preprocess", "tabular-cls", *data, "--strict", "--json", expect=1)
    assert "skipped 6 row(s)" in json.loads(result.stdout)["error"]
