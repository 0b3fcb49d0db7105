"""A user's LJSpeech folder in another voice (with a broken file and a row without audio) through every stage;
then `predict` on a sentence file, and the served model over HTTP: the served WAV equals the local one byte for
byte, and its length is within 20% of the held-out recording's."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import requests
import soundfile
from conftest import Server
from schemafuzz import assert_no_5xx

from aiaas_recipes.tts.builtin import write_corpus
from aiaas_recipes.tts.dataset import load_split
from aiaas_recipes.tts.evaluation import reference_audio

QUICK = [
    "trainer.max_epochs=16",
    "trainer.early_stopping.enabled=false",
    "model.dim=48",
    "model.layers=2",
    "data.batch_size=8",
    "data.align_rounds=4",
    "synthesis.griffin_lim_iterations=8",
]


@pytest.fixture(scope="module")
def pipeline(cli, tmp_path_factory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("voice") / "corpus"
    write_corpus(root, 36, seed=1, voice_name="en+f3")  # not the built-in voice
    (root / "wavs" / "broken.wav").write_bytes(b"RIFF, but not audio")
    with (root / "metadata.csv").open("a") as table:
        table.write("broken|A broken file.|A broken file.\nnofile|No audio here.|No audio here.\n")
    return cli.json("pipeline", "tts", f"data.path={root}", *QUICK), root


@pytest.mark.slow
def test_own_voice_pipeline_predict_and_serve(pipeline, cli, tmp_path, record_property):
    out, root = pipeline
    assert {"mcd", "duration_error", "f0_rmse"} <= out["metrics"].keys()
    assert {"mcd", "duration_error", "f0_rmse"} <= out["metrics"]["baseline"].keys()
    assert out["parity"]["utterance_agreement"] == 1.0
    dataset = Path(out["dataset_dir"])
    manifest = json.loads((dataset / "manifest.json").read_text())
    skipped = " ".join(s["file"] for s in manifest["skipped"])
    assert "broken.wav" in skipped and "metadata.csv" in skipped and len(manifest["skipped"]) == 2

    held_out = load_split(dataset, "test")[0]
    reference_seconds = len(reference_audio(held_out, manifest)) / manifest["rate"]
    sentences = tmp_path / "sentences.txt"
    sentences.write_text(held_out["text"] + "\n")
    cli("predict", "tts", str(sentences), "--model", f"run={out['run_id']}", "--output", f"{tmp_path / 'out'}/")
    row = json.loads((tmp_path / "out" / "predictions.jsonl").read_text())
    local = Path(row["file"]).read_bytes()  # one WAV per line, beside the records
    assert Path(row["file"]).parent == tmp_path / "out" and local == base64.b64decode(row["audio_base64"])

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        answer = requests.post(f"{server.url}/predict", json={"text": held_out["text"], "speed": 1.0}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("audio/wav")
        assert answer.content == local  # Griffin-Lim is seeded: the same mel gives the same samples
        samples, rate = soundfile.read(io.BytesIO(answer.content))
        record_property("served_over_reference_seconds", len(samples) / rate / reference_seconds)
        assert abs(len(samples) / rate / reference_seconds - 1) <= 0.2, (len(samples) / rate, reference_seconds)
        for bad in ({"text": ""}, {"text": 42}, {"text": ["a"]}, {"text": "word " * 100}, {"speed": 1.0}):
            refused = requests.post(f"{server.url}/predict", json=bad, timeout=30)
            assert 400 <= refused.status_code < 500, (bad, refused.status_code, refused.text)
        as_json = requests.post(f"{server.url}/predict", json={"text": held_out["text"], "format": "json"}, timeout=60)
        assert base64.b64decode(as_json.json()["audio_base64"]) == local
        via_url = json.loads(cli("predict", "tts", str(sentences), "--url", server.url).stdout.splitlines()[0])
        assert base64.b64decode(via_url["audio_base64"]) == local
        assert_no_5xx(server.url, examples=15)  # each answer synthesises speech: fewer cases than elsewhere
    finally:
        server.stop()
