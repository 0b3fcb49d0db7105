"""text-cls through the CLI: own data with odd columns, skipped rows, --strict, leakage, encodings,
the pipeline with its baseline, ONNX export with parity, and predict over CSV/JSONL/TXT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from textfiles import make_rows, write_csv

from aiaas_recipes.text_cls.recipe import recipe

# A tiny Transformer (named: the default model=auto would serve tfidf here): the topics are learnt in a few seconds.
TINY = [
    "model=text_transformer", "model.width=32", "model.layers=1", "model.heads=2", "model.ff=64",
    "data.tokenizer.vocab_size=400",
    "data.max_length=16", "data.batch_size=32", "optim.lr=0.005", "trainer.max_epochs=4",
    "trainer.early_stopping.enabled=false",
]  # fmt: skip


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def half_written(home: Path) -> list[str]:
    datasets = home / "datasets"
    return [p.name for p in datasets.iterdir() if ".tmp-" in p.name] if datasets.exists() else []


@pytest.fixture(scope="module")
def user_csv(tmp_path_factory) -> Path:
    """240 rows under custom column names, 24 exact duplicates, 3 empty texts and 2 rows without a label."""
    rows = make_rows(240)
    rows += rows[:24] + [("", "food"), ("  ", "tech"), ("", "sports"), ("no label", ""), ("none either", "")]
    return write_csv(tmp_path_factory.mktemp("texts") / "reviews.csv", rows, header=("body", "topic"))


COLUMNS = ["data.text_column=body", "data.label_column=topic"]


@pytest.fixture(scope="module")
def text_run(cli, user_csv, session_home) -> dict:
    return cli.json("pipeline", "text-cls", f"data.path={user_csv}", *COLUMNS, *TINY)


@pytest.fixture(scope="module")
def exported(cli, text_run) -> dict:
    return cli.json("export", "text-cls", f"run={text_run['run_id']}")


@pytest.mark.slow  # shares the ~40 s pipeline run
def test_pipeline_reports_model_next_to_baseline(text_run):
    metrics = text_run["metrics"]
    assert metrics["accuracy"] > 0.8 and metrics["macro_f1"] > 0.8
    assert set(metrics["baseline"]) >= {"accuracy", "macro_f1", "per_class"} and metrics["baseline"]["accuracy"] > 0.8
    report = json.loads(Path(text_run["metrics_file"]).read_text())
    assert report["compare"]["rows"]["macro_f1"] == [metrics["macro_f1"], metrics["baseline"]["macro_f1"]]
    assert all({"text", "true", "predicted"} <= set(m) for m in report["misclassified"])
    assert (Path(text_run["metrics_file"]).parent / "confusion_matrix.png").is_file()


@pytest.mark.slow  # shares the ~40 s pipeline run
def test_manifest_counts_skipped_duplicates_and_leakage(text_run):
    dataset = Path(text_run["dataset_dir"])
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert [s["reason"] for s in manifest["skipped"]].count("empty text") == 3
    assert [s["reason"] for s in manifest["skipped"]].count("missing label") == 2
    assert manifest["duplicates"]["duplicate_rows"] == 24
    removed = manifest["duplicates"]["removed_from_test"] + manifest["duplicates"]["removed_from_val"]
    assert manifest["duplicates"]["removed_from_test"] > 0
    assert sum(sum(c.values()) for c in manifest["counts"].values()) == 264 - removed

    def texts(split):
        return {json.loads(line) for line in (dataset / f"{split}_texts.jsonl").read_text().splitlines()}

    assert not texts("test") & (texts("train") | texts("val"))  # no leakage left
    assert set(manifest["length_percentiles"]) == {"p50", "p90", "p95", "p99", "max"}
    assert np.load(dataset / "train_ids.npy").shape[1] == 16
    samples = recipe.sample_inputs(dataset, manifest, limit=2)
    assert [name for name, _ in samples] == ["test_texts.jsonl:1", "test_texts.jsonl:2"]
    assert all(isinstance(text, str) and text for _, text in samples)


def test_tokenizer_is_trained_on_train_only(cli, user_csv):
    result = cli.json("preprocess", "text-cls", f"data.path={user_csv}", *COLUMNS, "data.tokenizer.min_frequency=1",
                      "data.tokenizer.vocab_size=3000")  # fmt: skip
    dataset = Path(result["dataset_dir"])
    vocab = json.loads((dataset / "tokenizer.json").read_text())["model"]["vocab"]

    def numbers(split):  # every text ends in its row number; a 3-digit one is a whole word only that row has
        lines = (dataset / f"{split}_texts.jsonl").read_text().splitlines()
        return {n for n in (json.loads(line).rsplit("#", 1)[1] for line in lines) if len(n) == 3}

    train, test = numbers("train"), numbers("test") - numbers("train") - numbers("val")
    assert train & set(vocab) and test and not test & set(vocab)


def test_skipped_rows_warn_and_strict_fails_cleanly(cli, user_csv, fresh_home):
    result = cli("preprocess", "text-cls", f"data.path={user_csv}", *COLUMNS, "data.max_length=8")
    assert "skipped 5 row(s), e.g. reviews.csv:266: empty text" in result.stderr
    strict = cli("preprocess", "text-cls", f"data.path={user_csv}", *COLUMNS, "data.max_length=9", "--strict",
                 expect=1)  # fmt: skip
    assert len(error_lines(strict)) == 1 and "--strict" in error_lines(strict)[0]
    assert "Traceback" not in strict.stderr and not half_written(fresh_home)


def test_a_tweet_with_broken_quoting_is_skipped_and_strict_names_its_line(cli, tmp_path, fresh_home):
    """Issue 13 #11: a real tweet TSV line (a quote opened, closed, then more text) no longer ends the run."""
    rows = [f"{text}\t{label}" for text, label in make_rows(60)]
    rows.insert(20, '"Brilliant" match today, what a goal\tsports')  # line 22 of the file
    path = tmp_path / "tweets.tsv"
    path.write_text("text\tlabel\n" + "\n".join(rows) + "\n")
    out = cli.json("preprocess", "text-cls", f"data.path={path}", "data.max_length=8")
    assert out["skipped"] == 1 and sum(out["split_sizes"].values()) == 60
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    assert manifest["skipped"][0]["file"] == "tweets.tsv:22" and "broken quoting" in manifest["skipped"][0]["reason"]
    strict = cli("preprocess", "text-cls", f"data.path={path}", "data.max_length=9", "--strict", expect=1)
    assert len(error_lines(strict)) == 1 and "tweets.tsv:22" in error_lines(strict)[0]


def test_non_utf8_input_names_the_line(cli, tmp_path, fresh_home):
    path = write_csv(tmp_path / "old.csv", make_rows(30) + [("crème brûlée recipe", "food")], encoding="latin-1")
    failed = cli("preprocess", "text-cls", f"data.path={path}", expect=1)
    assert error_lines(failed) == [
        "error: old.csv:32: bytes that are not utf-8 (invalid continuation byte) "
        "(convert the file to UTF-8, or name its encoding, e.g. data.encoding=latin-1)"
    ]
    assert not half_written(fresh_home)
    assert cli.json("preprocess", "text-cls", f"data.path={path}", "data.encoding=latin-1")["skipped"] == 0


def test_builtin_corpus_sample(cli):
    result = cli.json("preprocess", "text-cls", "data.max_rows=300", "data.tokenizer.vocab_size=500")
    assert result["classes"] == ["negative", "neutral", "positive"]
    assert sum(result["split_sizes"].values()) == 300


@pytest.mark.slow  # shares the ~40 s pipeline run
def test_export_is_dynamic_and_matches_torch(exported, text_run):
    assert exported["parity"]["top1_agreement"] == 1.0 and exported["parity"]["max_abs_diff"] < 1e-3
    session = ort.InferenceSession(exported["onnx_path"], providers=["CPUExecutionProvider"])
    assert [str(d) for d in session.get_inputs()[0].shape] == ["batch", "sequence"]
    meta = json.loads(session.get_modelmeta().custom_metadata_map["aiaas"])
    assert (
        meta["max_length"] == 16 and meta["tokenizer"].startswith("{") and meta["labels"] == ["food", "sports", "tech"]
    )
    ids = np.load(Path(text_run["dataset_dir"]) / "test_ids.npy")[:3].astype(np.int64)
    full = session.run(None, {"input_ids": ids})[0]
    cut = session.run(None, {"input_ids": ids[:, : int((ids != 0).sum(1).max())]})[0]
    np.testing.assert_allclose(full, cut, atol=1e-4)  # a shorter sequence axis gives the same logits


@pytest.mark.slow  # shares the ~40 s pipeline run
def test_predict_over_csv_jsonl_and_txt(cli, exported, text_run, tmp_path):
    (tmp_path / "in.csv").write_text("id,text\n1,goal striker team match\n2,\n")
    (tmp_path / "in.jsonl").write_text('{"text": "pasta garlic sauce oven"}\n')
    (tmp_path / "in.txt").write_text("laptop server kernel chip\n" + "referee " * 40 + "\n")
    out = tmp_path / "out.jsonl"
    files = [str(tmp_path / name) for name in ("in.csv", "in.jsonl", "in.txt")]
    cli("predict", "text-cls", *files, "--model", f"run={text_run['run_id']}", "--output", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["input"]).name for r in rows] == ["in.csv:2", "in.csv:3", "in.jsonl:1", "in.txt:1", "in.txt:2"]
    assert [r.get("label") for r in rows] == ["sports", None, "food", "tech", "sports"]
    assert rows[1]["error"] == "empty text"
    assert rows[0]["truncated"] is False and rows[4]["truncated"] is True and rows[4]["tokens"] == 40
