"""The torch-free serving half: records to feeds, outputs to predictions, files to records, HTTP types."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.tabular import http_types, serving

SCHEMA = {
    "columns": [
        {"name": "age", "kind": "numeric", "required": True, "features": [{"name": "age", "fill": 40.0}]},
        {"name": "member", "kind": "boolean", "required": False, "features": [{"name": "member", "fill": 0.0}]},
        {
            "name": "signup",
            "kind": "date",
            "required": False,
            "format": "%Y-%m-%d",
            "parts": ["year", "month"],
            "features": [{"name": "signup.year"}, {"name": "signup.month"}],
        },
        {"name": "city name", "kind": "categorical", "required": True, "vocabulary": ["paris", "lyon"]},
    ]
}
METADATA = {"task": "classification", "labels": ["no", "yes"], "schema": SCHEMA, "inputs": ["numeric", "categorical"]}


def test_adapter_records_to_feeds_and_predictions():
    adapter = serving.build_adapter(METADATA, max_pixels=10)
    records = [
        {"age": 41, "member": "yes", "signup": "2024-03-01", "city name": "Paris "},
        {"age": "30", "member": None, "city name": "Marseille"},  # an unseen city: "unknown"
    ]
    rows = [adapter.decode(record) for record in records]
    feeds = adapter.batch(rows)
    assert feeds["numeric"].dtype == np.float32 and feeds["categorical"].dtype == np.int64
    np.testing.assert_array_equal(feeds["numeric"][0], [41, 1, 2024, 3])
    assert np.isnan(feeds["numeric"][1, 1:]).all() and feeds["categorical"][:, 0].tolist() == [2, 0]
    outputs = {"probabilities": np.array([[0.2, 0.8], [0.9, 0.1]], dtype=np.float32)}
    answer = adapter.postprocess(outputs, rows, k=1)
    assert answer[0] == {
        "label": "yes",
        "score": pytest.approx(0.8),
        "probabilities": pytest.approx({"no": 0.2, "yes": 0.8}),
    }
    row = serving.to_row("t.csv:2", records[0], answer[0])
    assert row["input"] == "t.csv:2" and row["city name"] == "Paris " and row["probability_yes"] == pytest.approx(0.8)
    assert serving.http_predictions(serving.http_response(answer)) == answer


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"member": "yes", "city name": "paris"}, "age"),  # required, missing
        ({"age": "forty", "city name": "paris"}, "age"),
        ({"age": 1, "member": "maybe", "city name": "paris"}, "member"),
        ({"age": 1, "signup": "yesterday", "city name": "paris"}, "signup"),
        ({"age": 1e300, "city name": "paris"}, "age"),  # beyond float32
    ],
)
def test_adapter_names_the_bad_field(record, field):
    with pytest.raises(BadInput, match=f"field '{field}'") as error:
        serving.build_adapter(METADATA).decode(record)
    assert error.value.status == 422


def test_regression_adapter():
    adapter = serving.build_adapter({**METADATA, "task": "regression", "labels": []})
    rows = [adapter.decode({"age": 1, "city name": "x"})]
    answer = adapter.postprocess({"value": np.array([[3.5]], dtype=np.float32)}, rows, k=5)
    assert answer == [{"value": 3.5}]
    assert serving.to_row("a", {"age": 1}, answer[0]) == {"input": "a", "age": 1, "value": 3.5}


def test_read_inputs_rows_of_csv_jsonl_and_parquet(tmp_path):
    import pandas as pd

    (tmp_path / "a.csv").write_text("age;city name;extra\n41;Paris;x\n\n30;NA;y;z\n29;lyon;\n")
    (tmp_path / "b.jsonl").write_text('{"age": 3, "city name": "lyon"}\nnot json\n')
    pd.DataFrame({"age": [5.0], "signup": pd.to_datetime(["2024-01-02"])}).to_parquet(tmp_path / "c.parquet")
    pairs = list(serving.read_inputs([tmp_path / "a.csv", tmp_path / "b.jsonl", tmp_path / "c.parquet"]))
    names = [name.rsplit("/", 1)[-1] for name, _ in pairs]
    assert names == ["a.csv:2", "a.csv:4", "a.csv:5", "b.jsonl:1", "b.jsonl:2", "c.parquet:row 1"]
    payloads = [payload for _, payload in pairs]
    assert payloads[0] == {"age": "41", "city name": "Paris", "extra": "x"}
    assert isinstance(payloads[1], BadInput) and payloads[2]["city name"] == "lyon" and payloads[2]["extra"] is None
    assert isinstance(payloads[4], BadInput) and payloads[5]["signup"].startswith("2024-01-02")
    assert serving.http_request("a.csv:2", payloads[0], 5) == {"json": {"records": [payloads[0]], "ignore_extra": True}}
    assert serving.http_predictions({"predictions": [{"value": 1.0}]}) == [{"value": 1.0}]


def test_request_schema_lists_every_column_with_its_type():
    record = http_types.record_model(SCHEMA)
    schema = record.model_json_schema(by_alias=True)
    properties = schema["properties"]
    assert list(properties) == ["age", "member", "signup", "city name"]
    assert properties["age"]["type"] == "number" and sorted(schema["required"]) == ["age", "city name"]
    assert {"type": "boolean"} in properties["member"]["anyOf"] and schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("record", "where"),
    [
        ({"city name": "paris"}, "records[0].age: Field required"),
        ({"age": "old", "city name": "paris"}, "records[0].age:"),
        ({"age": 1, "city name": "paris", "agee": 2}, "records[0].agee: not a field"),
        ({"age": float("nan"), "city name": "paris"}, "records[0].age:"),
        ({"age": float("inf"), "city name": "paris"}, "records[0].age:"),
        ({"age": 1, "member": [1], "city name": "paris"}, "records[0].member:"),
    ],
)
def test_validation_names_the_field(record, where):
    message = http_types.validate(http_types.record_model(SCHEMA), [record], ignore_extra=False, max_records=10)
    assert isinstance(message, str) and message.startswith(where)


def test_validation_accepts_optional_numbers_as_text_and_ignores_extra_on_request():
    record = http_types.record_model(SCHEMA)
    clean = http_types.validate(record, [{"age": "41", "city name": 75001, "id": 3}], ignore_extra=True, max_records=10)
    assert clean == [{"age": 41.0, "member": None, "signup": None, "city name": "75001"}]
    assert http_types.validate(record, [], False, 10) == "no records in the request"
    assert "limit is 1" in http_types.validate(record, [{}, {}], False, 1)


def test_serving_module_imports_no_torch_pandas_or_sklearn():
    code = (
        "import sys, aiaas_recipes.tabular.serving, aiaas_recipes.tabular.http_types;"
        "print([m for m in ('torch', 'pandas', 'sklearn', 'skl2onnx') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().replace("'", '"')) == []
