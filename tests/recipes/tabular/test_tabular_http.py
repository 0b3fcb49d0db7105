"""The served tabular-cls Bento over real HTTP: the generated request schema, predictions equal to local ones,
422 naming the field for bad records, and no 5xx under schema-driven fuzzing."""

from __future__ import annotations

import json

import pytest
import requests
import tabular_runs
from conftest import Server
from schemafuzz import assert_no_5xx
from tablefiles import UNSEEN_CITY, new_rows

from aiaas_cli.serving.runtime import OnnxModel, load_adapter

pytestmark = pytest.mark.slow

RECORDS = [
    {"age": 33, "income": 2500.5, "city": UNSEEN_CITY, "member": True, "signup": "2023-05-01", "plan": "P1"},
    {"age": None, "city": "paris", "member": "no", "plan": "P2"},  # optional fields null or left out
    {"age": 71, "income": 4100, "city": "Lyon", "member": "YES", "signup": "2019-12-31", "plan": "P9"},
]


@pytest.fixture(scope="module")
def cls_pipeline(cli, session_home) -> dict:
    return tabular_runs.pipeline(cli, "tabular-cls", session_home)


@pytest.fixture(scope="module")
def served(cls_pipeline, tmp_path_factory):
    server = Server(cls_pipeline["bento_tag"], tmp_path_factory.mktemp("serve-tabular") / "server.log")
    yield server.wait_ready()
    server.stop()


def predict(served, body, **kwargs):
    return requests.post(f"{served.url}/predict", json=body, timeout=30, **kwargs)


def test_request_schema_is_generated_from_the_training_columns(served):
    spec = requests.get(f"{served.url}/docs.json", timeout=10).json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    record = body["properties"]["records"]["items"]
    fields = record["properties"]
    assert set(fields) == {"age", "income", "city", "member", "signup", "plan"}
    assert {"type": "number"} in fields["age"]["anyOf"] and fields["city"]["type"] == "string"
    assert set(record["required"]) == {"city", "member", "plan"}


def test_served_predictions_match_the_local_model(served, cls_pipeline):
    answer = predict(served, {"records": RECORDS})
    assert answer.status_code == 200, answer.text
    served_predictions = answer.json()["predictions"]
    model = OnnxModel(cls_pipeline["onnx_path"])
    adapter = load_adapter(model.metadata)
    items = [adapter.decode(record) for record in RECORDS]
    local = adapter.postprocess(model.run(adapter.batch(items)), items, k=5)
    assert [p["label"] for p in served_predictions] == [p["label"] for p in local]
    for got, want in zip(served_predictions, local):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)


def test_predict_url_gives_the_local_rows(cli, served, cls_pipeline, tmp_path):
    """`aiaas predict --url`: CSV rows (text cells, an ID and the empty target column too) sent as records."""
    table = new_rows(tmp_path)
    local = cli("predict", "tabular-cls", str(table), "--model", f"run={cls_pipeline['run_id']}").stdout
    remote = cli("predict", "tabular-cls", str(table), "--url", served.url).stdout
    local_rows = [json.loads(line) for line in local.splitlines() if line.strip()]
    remote_rows = [json.loads(line) for line in remote.splitlines() if line.strip()]
    assert len(remote_rows) == 3 and not any("error" in row for row in remote_rows), remote_rows
    assert [r["label"] for r in remote_rows] == [r["label"] for r in local_rows]
    assert [r["score"] for r in remote_rows] == pytest.approx([r["score"] for r in local_rows], abs=1e-5)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"age": 30, "member": True, "plan": "P1"}, "city"),  # required, missing
        ({"age": "old", "city": "paris", "member": True, "plan": "P1"}, "age"),
        ({"age": 30, "city": "paris", "member": True, "plan": "P1", "agee": 3}, "agee"),
        ({"age": 30, "city": "paris", "member": "maybe", "plan": "P1"}, "member"),
        ({"signup": "last week", "city": "paris", "member": True, "plan": "P1"}, "signup"),
    ],
)
def test_bad_records_are_422_naming_the_field(served, record, field):
    answer = predict(served, {"records": [RECORDS[0], record]})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(served, number):
    body = '{"records": [{"age": NUMBER, "city": "paris", "member": true, "plan": "P1"}]}'.replace("NUMBER", number)
    headers = {"content-type": "application/json"}
    answer = requests.post(f"{served.url}/predict", data=body, headers=headers, timeout=30)
    assert answer.status_code == 422 and "age" in answer.json()["error"]


def test_no_server_errors_under_fuzzing(served):
    assert_no_5xx(served.url, examples=60, paths="^/predict$", expect={"/predict"})
