"""`aiaas predict`: files and folders in, one JSON line / CSV row out, from a model file, a run, or a service."""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aiaas_cli import workspace
from aiaas_cli.errors import ConfigError
from aiaas_cli.serving.runtime import Predictor


@pytest.fixture(scope="module")
def model_path(exported_run) -> Path:
    return workspace.run_dir(exported_run) / "model.onnx"


@pytest.fixture()
def inputs(tmp_path, held_out_images) -> tuple[Path, dict[str, str]]:
    """A folder of 24 held-out digits (some in a sub-folder), a hidden file, and one file that is not an image."""
    folder = tmp_path / "in"
    (folder / "more").mkdir(parents=True)
    (folder / ".cache").mkdir()
    truth = {}
    for i, (path, label) in enumerate(held_out_images[:24]):
        target = (folder / "more" if i % 2 else folder) / f"{label}-{path.name}"
        shutil.copy(path, target)
        truth[str(target)] = label
    (folder / ".cache" / "hidden.png").write_bytes(b"skipped")
    (folder / "notes.png").write_text("not an image")
    return folder, truth


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_folder_to_jsonl_on_stdout(cli, model_path, inputs):
    folder, truth = inputs
    result = cli("predict", "image-cls", str(folder), "--model", str(model_path), "--top-k", "3")
    rows = lines(result.stdout)
    assert len(rows) == len(truth) + 1  # the hidden file is skipped, the bad one reported
    bad = [r for r in rows if "error" in r]
    assert [r["input"] for r in bad] == [str(folder / "notes.png")] and "not an image" in bad[0]["error"]
    good = [r for r in rows if "error" not in r]
    assert {r["input"] for r in good} == set(truth)
    for row in good:
        assert set(row) == {"input", "label", "score", "topk"} and len(row["topk"]) == 3
        assert row["topk"][0] == {"label": row["label"], "score": row["score"]}
    assert sum(r["label"] == truth[r["input"]] for r in good) >= 0.9 * len(good)
    assert "1 of 25 input(s) could not be used" in result.stderr


def test_predictions_equal_the_runtime(cli, model_path, inputs):
    folder, truth = inputs
    files = sorted(truth)
    rows = lines(cli("predict", "image-cls", *files, "--model", str(model_path), "--batch-size", "5").stdout)
    expected = Predictor(model_path).predict([Path(f).read_bytes() for f in files], k=5)
    assert [{"predictions": r["topk"]} for r in rows] == expected


def test_run_model_and_output_files(cli, model_path, inputs, exported_run, tmp_path):
    folder, truth = inputs
    by_path = lines(cli("predict", "image-cls", str(folder), "--model", str(model_path)).stdout)
    cli("predict", "image-cls", str(folder), "--model", f"run={exported_run}", "-o", str(tmp_path / "p.jsonl"))
    assert lines((tmp_path / "p.jsonl").read_text()) == by_path
    cli("predict", "image-cls", str(folder), "--model", f"run={exported_run}", "-o", str(tmp_path / "p.csv"), "-k", "2")
    with open(tmp_path / "p.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["input"] for r in table] == [r["input"] for r in by_path]
    for row, line in zip(table, by_path):
        if "error" in line:
            assert row["error"] == line["error"] and row["label"] == ""
        else:
            assert row["label"] == line["label"] and float(row["score"]) == pytest.approx(line["score"])
            assert json.loads(row["topk"]) == line["topk"][:2]
    assert not list(tmp_path.glob(".p.*tmp-*"))


def test_json_is_one_object_with_the_predictions_inside(cli, model_path, inputs, tmp_path):
    """Issue 13 #9: `predict --json` as the README promises for every command."""
    folder, truth = inputs
    by_line = lines(cli("predict", "image-cls", str(folder), "--model", str(model_path)).stdout)
    out = cli.json("predict", "image-cls", str(folder), "--model", str(model_path))
    assert out == {"inputs": len(truth) + 1, "failed": 1, "predictions": by_line}
    written = cli.json("predict", "image-cls", str(folder), "--model", str(model_path), "-o", str(tmp_path / "p.jsonl"))
    assert written == {"inputs": len(truth) + 1, "failed": 1, "output": str(tmp_path / "p.jsonl")}
    failed = cli("predict", "image-cls", str(folder / "notes.png"), "--model", str(model_path), "--json", expect=1)
    assert json.loads(failed.stdout) == {"error": "none of the 1 input(s) could be used", "exit_code": 1}


def test_missing_and_unreadable_inputs(cli, model_path, inputs, tmp_path):
    folder, _ = inputs
    result = cli(
        "predict",
        "image-cls",
        str(folder / "notes.png"),
        str(tmp_path / "nope.png"),
        "--model",
        str(model_path),
        expect=1,
    )
    assert [r["error"] for r in lines(result.stdout)] == ["not an image (unrecognised format)", "no such file"]
    assert "none of the 2 input(s) could be used" in result.stderr


def test_run_without_export_says_export_it_first(cli, trained_run, tmp_path, inputs):
    run_id = cli.json("preprocess", "image-cls")["run_id"]
    result = cli("predict", "image-cls", str(inputs[0]), "--model", f"run={run_id}", expect=1)
    assert f"export it first: aiaas export image-cls run={run_id}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "missing.onnx"], "does not exist"),
        ([], "say which model to use"),
        (["--model", "MODEL", "-o", "out.txt"], "--output must end in .jsonl or .csv"),
        (["--model", "MODEL", "--save", "rendered"], "image_cls.serving renders nothing per prediction"),
    ],
)
def test_usage_errors_exit_2(cli, model_path, inputs, args, message):
    args = [str(model_path) if a == "MODEL" else a for a in args]
    result = cli("predict", "image-cls", str(inputs[0]), *args, expect=2)
    assert message in result.stderr


def test_no_service_at_url_is_one_line(cli, inputs):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = cli("predict", "image-cls", str(inputs[0]), "--url", url, expect=1)
    assert f"no service answers at {url}" in result.stderr


def test_predict_does_not_import_torch(model_path, inputs, exported_run):
    code = (
        "import sys\n"
        "from aiaas_cli.cli import app\n"
        f"try:\n    app(['predict', 'image-cls', {str(inputs[0])!r}, '--model', 'run={exported_run}'])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "assert 'torch' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(lines(done.stdout)) == 25


@pytest.mark.slow
def test_url_mode_matches_local_predictions(cli, server, model_path, inputs):
    folder, _ = inputs
    local = lines(cli("predict", "image-cls", str(folder), "--model", str(model_path), "-k", "3").stdout)
    remote = lines(cli("predict", "image-cls", str(folder), "--url", server.url, "-k", "3").stdout)
    assert [r["input"] for r in remote] == [r["input"] for r in local]
    for mine, theirs in zip(local, remote):
        if "error" in mine:
            assert "error" in theirs
        else:
            assert theirs["label"] == mine["label"] and theirs["score"] == pytest.approx(mine["score"], abs=1e-5)
            assert [t["label"] for t in theirs["topk"]] == [t["label"] for t in mine["topk"]]


def test_top_k_above_the_exported_models_own_limit_is_refused_not_cut():
    from types import SimpleNamespace

    from aiaas_cli.stages.predict import Request, answers_per_input

    module = SimpleNamespace()  # a serving module without MAX_K: the model's baked-in top-k is the limit
    with pytest.raises(ConfigError, match="above recommend's limit of 100"):
        answers_per_input(Request("recommend", ["u1"], top_k=101), module, model_limit=100)
    assert answers_per_input(Request("recommend", ["u1"], top_k=100), module, model_limit=100) == 100
    assert answers_per_input(Request("recommend", ["u1"], top_k=7), module) == 7
