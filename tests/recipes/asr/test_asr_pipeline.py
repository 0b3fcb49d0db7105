"""A user's folder of transcribed recordings in mixed formats, with a corrupt, an empty, a 30-second and an M4A
file and an empty transcript, through every stage; `predict` on the folder, then the served model over HTTP
answers exactly what local `predict` wrote, with no torch in the service's processes and no 5xx for
fuzzed requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from conftest import Server
from processes import torch_loaded
from schemafuzz import assert_no_5xx
from speechfiles import write_mixed, write_problems

# one optimiser step of a small network: its greedy paths are still varied, so equal texts mean something
QUICK = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.early_stopping.enabled=false",
    "model.channels=16",
    "model.hidden=16",
    "model.layers=1",
    "data.batch_size=4",
]


@pytest.mark.slow
def test_own_recordings_pipeline_predict_and_serve(cli, tmp_path):
    root = tmp_path / "clips"
    write_mixed(root, count=12)
    problems = write_problems(root)
    out = cli.json("pipeline", "asr", f"data.path={root}", *QUICK)
    assert {"wer", "cer", "examples", "baseline"} <= set(out["metrics"])
    assert out["parity"]["transcript_agreement"] == 1.0
    manifest = json.loads((Path(out["dataset_dir"]) / "manifest.json").read_text())
    assert {Path(s["file"]).name for s in manifest["skipped"]} == problems.keys()

    lines = cli("predict", "asr", str(root), "--model", f"run={out['run_id']}").stdout.splitlines()
    rows = {Path(r["input"]).name: r for r in map(json.loads, lines)}
    unreadable = {"corrupt.wav", "empty.wav", "voice.m4a"}  # silent_text.wav and long.wav are fine audio
    assert {name for name, r in rows.items() if "error" in r} == unreadable
    assert rows["long.wav"]["duration_s"] == pytest.approx(30.0)  # transcribed in windows, not refused
    assert all(w["start_s"] < w["end_s"] <= 30.0 for w in rows["long.wav"]["words"])
    assert any(r.get("text") for r in rows.values())  # the comparison below is not between empty strings

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        for name, local in rows.items():
            with (root / name).open("rb") as handle:
                answer = requests.post(f"{server.url}/predict", files={"audio": handle}, timeout=60)
            if name in unreadable:
                assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
                continue
            assert answer.status_code == 200, answer.text
            assert answer.json() == {key: local[key] for key in ("text", "duration_s", "words")}, name
        clip = (root / "000.wav").read_bytes()
        batch = requests.post(f"{server.url}/predict_batch", files=[("audios", clip), ("audios", clip)], timeout=60)
        assert batch.status_code == 200 and [b["text"] for b in batch.json()] == [rows["000.wav"]["text"]] * 2
        assert torch_loaded(server.process.pid) == []
        _fuzz(server.url)
    finally:
        server.stop()


def _fuzz(url: str) -> None:
    """Schemathesis-generated requests (odd multipart fields, random bytes as audio) never get a 5xx."""
    assert_no_5xx(url, examples=20, expect={"/predict", "/predict_batch"})
