"""A user's folder of recordings in mixed formats, with a corrupt, an empty, a too short, a 30-second and an
M4A file, through every stage; then `predict` on the folder, and the served model over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from audiofiles import write_mixed, write_problems, write_tone
from conftest import Server
from schemafuzz import assert_no_5xx

QUICK = ["trainer.max_epochs=3", "trainer.early_stopping.enabled=false", "model.channels=[8,16]", "data.batch_size=4"]


@pytest.mark.slow
def test_own_recordings_pipeline_predict_and_serve(cli, tmp_path):
    root = write_mixed(tmp_path / "clips", per_class=14)
    problems = write_problems(root / "mid")
    out = cli.json("pipeline", "audio-cls", f"data.path={root}", *QUICK)
    assert out["metrics"]["per_class"].keys() == {"high", "low", "mid"}
    assert 0.0 <= out["metrics"]["accuracy"] <= 1.0 and "baseline" in out["metrics"]  # too few steps to judge
    assert out["parity"]["top1_agreement"] == 1.0
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    assert {Path(s["file"]).name for s in manifest["skipped"]} == problems.keys()

    lines = cli("predict", "audio-cls", str(root), "--model", f"run={out['run_id']}").stdout.splitlines()
    rows = {Path(r["input"]).parts[-2:]: r for r in map(json.loads, lines)}  # names repeat across classes
    assert {name[-1] for name, r in rows.items() if "error" in r} == problems.keys()
    assert all(r["label"] in {"high", "low", "mid"} for r in rows.values() if "error" not in r)

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        for path in sorted((root / "low").iterdir())[:4]:  # every format the folder cycles through
            with path.open("rb") as handle:
                answer = requests.post(f"{server.url}/predict", files={"audio": handle}, data={"k": "5"}, timeout=30)
            assert answer.status_code == 200, answer.text
            local = rows[path.parts[-2:]]
            assert answer.json()["predictions"][0]["label"] == local["label"]
            assert answer.json()["predictions"][0]["score"] == pytest.approx(local["score"], abs=1e-5)
        for name in problems:
            data = (root / "mid" / name).read_bytes()
            answer = requests.post(f"{server.url}/predict", files={"audio": (name, data)}, timeout=30)
            assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        tone = write_tone(tmp_path / "t.wav", 2400.0).read_bytes()
        batch = requests.post(f"{server.url}/predict_batch", files=[("audios", tone), ("audios", tone)], timeout=30)
        assert batch.status_code == 200 and len(batch.json()) == 2
        assert_no_5xx(server.url)
    finally:
        server.stop()
