"""Reading tables, inferring column kinds, fitting on train only, and the dataset dir (no training here)."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from omegaconf import OmegaConf
from tablefiles import clean_columns, write_csv, write_messy

from aiaas_cli.errors import ConfigError, UserError
from aiaas_recipes.tabular import dataset, infer, read, values
from aiaas_recipes.tabular.encode import MISSING, UNKNOWN, Encoder


def data_cfg(path=None, target=None, **extra) -> dict:
    cfg = {
        "path": str(path) if path else None,
        "builtin": "wine",
        "target": target,
        "format": None,
        "encoding": None,
        "delimiter": None,
        "column_types": {},
        "max_categories": 50,
        "min_category_count": 1,
        "split": {"val": 0.15, "test": 0.15, "seed": 42},
        "batch_size": 32,
    }
    return OmegaConf.create({**cfg, **extra})


@pytest.mark.parametrize("cell", ["", " ", "NA", "n/a", "N/A", "?", "null", "NULL", "nan", None, float("nan")])
def test_missing_spellings(cell):
    assert values.is_missing(cell)


@pytest.mark.parametrize("cell", ["0", "no", "Paris", 0, 0.0, False])
def test_values_that_are_not_missing(cell):
    assert not values.is_missing(cell)


def test_numbers_booleans_dates_categories():
    assert values.to_number(" 3.5 ") == 3.5 and values.to_number(7) == 7.0
    for bad in ("12a", "inf", "1_000", True, "1e400"):
        with pytest.raises(ValueError):
            values.to_number(bad)
    assert [values.to_bool(v) for v in ("Yes", "NO", " true ", "f", 1, False)] == [1, 0, 1, 0, 1, 0]
    with pytest.raises(ValueError):
        values.to_bool("maybe")
    moment = values.to_datetime("2024-03-09", "%Y-%m-%d")
    assert values.date_parts(moment, ["year", "month", "day", "weekday"]) == [2024, 3, 9, 5]
    assert values.to_datetime("2024-03-09T10:00:00", "%d/%m/%Y").hour == 10  # ISO always accepted
    assert values.category_key(" Paris ") == values.category_key("PARIS") == "paris"
    assert values.category_key(3.0) == values.category_key("3") == "3"


def test_delimiter_and_encoding_are_sniffed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("name;city\nA;Orléans\nB;Paris\n".encode("cp1252"))
    table = read.read_file(path)
    assert table.info == {"format": "csv", "encoding": "cp1252", "delimiter": ";"}
    assert table.columns["city"] == ["Orléans", "Paris"]
    path.write_bytes("\ufeffa\tb\n1\t2\n".encode())
    table = read.read_file(path)
    assert table.info["delimiter"] == "\t" and list(table.columns) == ["a", "b"]  # BOM stripped


def test_broken_lines_are_listed_with_their_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4,5\n\n6,7\n")
    table = read.read_file(path)
    assert table.where == ["t.csv:2", "t.csv:5"]
    assert table.skipped == [{"file": "t.csv:3", "reason": "3 fields, the header has 2"}]


def test_parquet_and_builtins(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"x": [1.5, None, 3.0], "when": pd.to_datetime(["2024-01-01", "2024-02-01", None])})
    frame.to_parquet(tmp_path / "t.parquet")
    table = read.read_file(tmp_path / "t.parquet")
    assert table.columns["x"][1] is None and isinstance(table.columns["when"][0], datetime)
    digits = read.builtin("digits")
    assert len(digits.columns) == 65 and digits.target == "target" and digits.rows == 1797
    with pytest.raises(ConfigError, match="not one of"):
        read.builtin("iris")


def test_kinds_and_dropped_columns():
    n = 30
    columns = {
        "id": [str(i) for i in range(n)],
        "ref": [f"X{i * 7}" for i in range(n)],
        "flag": ["Yes", "no"] * (n // 2),
        "when": [f"2024-01-{i % 28 + 1:02d}" for i in range(n)],
        "city": ["Paris", "Lyon", "NA"] * (n // 3),
        "size": [str(i % 4) for i in range(n)],
        "const": ["FR"] * n,
        "empty": ["", "NA"] * (n // 2),
    }
    kept, dropped = infer.infer(columns, {"size": "categorical"})
    assert {c.name: c.kind for c in kept} == {
        "flag": "boolean",
        "when": "date",
        "city": "categorical",
        "size": "categorical",
    }
    reasons = {d["column"]: d["reason"] for d in dropped}
    assert set(reasons) == {"id", "ref", "const", "empty"}
    assert reasons["const"].startswith("constant") and reasons["empty"].startswith("empty")
    assert "identifier" in reasons["id"] and "identifier" in reasons["ref"]
    with pytest.raises(ConfigError, match="nope"):
        infer.infer(columns, {"nope": "numeric"})
    with pytest.raises(ConfigError, match="is not one of"):
        infer.infer(columns, {"size": "text"})


def test_messy_table_is_repaired_and_reported(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    cfg = data_cfg(write_messy(tmp_path / "messy.csv"), "churn", column_types={"spend": "drop"})
    manifest = dataset.build("classification", cfg, out)
    assert manifest["read"] == {"format": "csv", "encoding": "cp1252", "delimiter": ";"}
    dropped = {d["column"]: d["reason"] for d in manifest["dropped_columns"]}
    assert set(dropped) == {"customer_id", "ref", "country", "spend"}
    assert manifest["skipped_rows"] == {"missing target": 5, "broken line (wrong number of fields)": 1}
    assert len(manifest["skipped"]) == 6 and manifest["classes"] == ["no", "yes"]
    kinds = {row["name"]: row["kind"] for row in manifest["columns"]}
    assert kinds == {
        "age": "numeric",
        "income": "numeric",
        "city": "categorical",
        "member": "boolean",
        "signup": "date",
        "plan": "categorical",
    }
    assert any("merged into one category 'paris'" in w for w in manifest["warnings"])
    assert any("'income': 1 unreadable" in w for w in manifest["warnings"])
    schema = json.loads((out / "schema.json").read_text())
    city = next(c for c in schema["columns"] if c["name"] == "city")
    assert sorted(city["vocabulary"]) == ["lyon", "nantes", "orléans", "paris"]
    numeric = np.load(out / "train_numeric.npy")
    assert numeric.dtype == np.float32 and numeric.shape[1] == manifest["inputs"]["numeric"] == 1 + 1 + 1 + 4
    assert np.isnan(numeric).any()  # missing values stay NaN: the model imputes them
    sizes = {split: len(np.load(out / f"{split}_y.npy")) for split in ("train", "val", "test")}
    assert sizes == manifest["splits"] and sum(sizes.values()) == 240 - 5


def test_transforms_are_fitted_on_train_only(tmp_path):
    columns = clean_columns(n=200)
    columns["color"][:] = ["red"] * 200
    columns["color"][7] = "purple"  # one row only: in val or test it must not enter the vocabulary
    columns["x1"][7] = 1000.0
    path = write_csv(tmp_path / "t.csv", columns)
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build("classification", data_cfg(path, "label", split={"val": 0.2, "test": 0.2, "seed": 3}), out)
    schema = dataset.read_schema(out)
    train_x1 = np.load(out / "train_numeric.npy")[:, 0]
    x1 = next(c for c in schema["columns"] if c["name"] == "x1")["features"][0]
    assert x1["fill"] == pytest.approx(float(np.median(train_x1)))
    assert x1["mean"] == pytest.approx(float(train_x1.mean()), rel=1e-5)
    color = next(c for c in schema["columns"] if c["name"] == "color")
    in_train = 1000.0 in train_x1
    assert ("purple" in color["vocabulary"]) == in_train
    assert manifest["counts"]["train"]["high"] > 0


def test_strict_rows_and_target_errors(tmp_path):
    columns = clean_columns(n=40)
    columns["grade"] = columns.pop("label")  # not a name that is guessed as the target
    path = write_csv(tmp_path / "t.csv", columns)
    with pytest.raises(ConfigError, match="data.target is not set"):
        dataset.build("classification", data_cfg(path, None), tmp_path)
    with pytest.raises(ConfigError, match="not a column"):
        dataset.build("classification", data_cfg(path, "nope"), tmp_path)
    with pytest.raises(UserError, match="40 distinct values") as error:
        dataset.build("classification", data_cfg(path, "x1"), tmp_path)
    assert "tabular-reg" in error.value.hint
    with pytest.raises(UserError, match="numeric value"):
        dataset.build("regression", data_cfg(path, "color"), tmp_path)


def test_encoder_unknown_missing_and_required():
    schema = {
        "columns": [
            {"name": "age", "kind": "numeric", "required": True, "features": [{"name": "age"}]},
            {"name": "ok", "kind": "boolean", "required": False, "features": [{"name": "ok"}]},
            {"name": "city", "kind": "categorical", "required": False, "vocabulary": ["paris", "lyon"]},
        ]
    }
    encoder = Encoder(schema)
    numeric, categorical = encoder.encode_record({"age": "41", "ok": None, "city": "Marseille", "extra": 1})
    assert numeric[0] == 41 and np.isnan(numeric[1]) and categorical.tolist() == [UNKNOWN]
    assert encoder.encode_record({"age": 1, "city": " LYON"})[1].tolist() == [3]
    assert encoder.encode_record({"age": 1, "city": "N/A"})[1].tolist() == [MISSING]
    with pytest.raises(ValueError, match="field 'age'.*required"):
        encoder.encode_record({"city": "paris"})
    with pytest.raises(ValueError, match="field 'age'.*not a number"):
        encoder.encode_record({"age": "old"})


def test_rare_categories_are_capped_and_reported(tmp_path):
    columns = clean_columns(n=120)
    columns["shop"] = [f"shop{i % 40}" if i % 3 else "main" for i in range(120)]
    path = write_csv(tmp_path / "t.csv", columns)
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build("classification", data_cfg(path, "label", max_categories=5, min_category_count=2), out)
    shop = next(c for c in dataset.read_schema(out)["columns"] if c["name"] == "shop")
    assert shop["vocabulary"][0] == "main" and len(shop["vocabulary"]) == 5 and shop["capped"] > 0
    assert any("'shop'" in w and "encoded as unknown" in w for w in manifest["warnings"])


def test_parquet_table_with_typed_columns(tmp_path):
    import pandas as pd

    n = 60
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "active": rng.random(n) < 0.5,
            "seen": pd.date_range("2024-01-01 08:00", periods=n, freq="7h"),
            "kind": rng.choice(["a", "b"], n),
            "label": rng.choice(["x", "y"], n),
        }
    )
    frame.loc[3, "amount"] = None
    frame.to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "ds"
    out.mkdir()
    manifest = dataset.build("classification", data_cfg(tmp_path / "t.parquet", "label"), out)
    kinds = {row["name"]: row["kind"] for row in manifest["columns"]}
    assert kinds == {"amount": "numeric", "active": "boolean", "seen": "date", "kind": "categorical"}
    seen = next(c for c in dataset.read_schema(out)["columns"] if c["name"] == "seen")
    assert seen["format"] == "iso" and seen["parts"][-1] == "hour"  # times of day: the hour is a feature
    records = dataset.read_records(out)
    assert records and isinstance(records[0]["record"]["seen"], str)  # JSON-ready, as a client sends it
