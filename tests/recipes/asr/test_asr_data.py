"""asr data: transcript layouts, every audio format, bad files skipped and reported, speaker-disjoint splits,
windows for long recordings, greedy CTC decoding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from speechfiles import spoken, write_manifest, write_mixed, write_problems

from aiaas_cli.errors import ConfigError
from aiaas_recipes.asr import builtin, dataset, frontend, sources
from aiaas_recipes.asr import text as chars

DATA = OmegaConf.load(Path(__file__).parents[3] / "conf" / "data" / "speech.yaml")


def test_text_is_normalised_and_decoded_greedily():
    assert chars.normalize("  Call ALICE, at 7:30!  It’s late. ") == "call alice at 7 30 it's late"
    alphabet = chars.alphabet_of(["ab ba"])
    assert alphabet == [" ", "a", "b"] and chars.encode("ab c", alphabet) == [2, 3, 1]
    frames = np.full((8, 4), -9.0)
    for t, best in enumerate([2, 2, 0, 2, 1, 3, 3, 0]):  # a a _ a ' ' b b _ -> "aa b"
        frames[t, best] = 0.0
    assert chars.greedy_decode(frames, 8, alphabet) == "aa b"
    assert chars.greedy_decode(frames, 3, alphabet) == "a"  # only the first `length` frames count
    words = chars.greedy_words(frames, 8, alphabet, seconds_per_frame=0.04, offset=1.0)
    assert words == [{"word": "aa", "start_s": 1.0, "end_s": 1.16}, {"word": "b", "start_s": 1.2, "end_s": 1.24}]


def test_generated_test_sentences_are_new_word_sequences():
    split = builtin.sentences(builtin.BUILTINS["sentences"], seed=0)
    assert not set(split["test"]) & set(split["train"]) and not set(split["val"]) & set(split["train"])
    assert len({w for text in split["train"] for w in text.split()}) >= 80
    assert builtin.sentences(builtin.BUILTINS["sentences"], seed=0) == split  # deterministic


def test_every_layout_is_found(tmp_path):
    rows = write_mixed(tmp_path / "pairs", count=4)
    assert {(i.path.name, i.text.strip()) for i in sources.scan(tmp_path / "pairs")} == {
        (name, text.upper() + "!") for name, text in rows
    }
    csv_path = write_manifest(tmp_path / "pairs", rows)
    assert [i.text for i in sources.scan(tmp_path / "pairs")] == [t for _, t in rows]  # the manifest wins
    assert sources.scan(csv_path)[0].path == (tmp_path / "pairs" / rows[0][0]).resolve()
    jsonl = tmp_path / "pairs" / "list.jsonl"
    jsonl.write_text("".join(json.dumps({"path": n, "text": t, "speaker": "s1"}) + "\n" for n, t in rows))
    assert {i.speaker for i in sources.scan(jsonl)} == {"s1"}
    libri = tmp_path / "libri" / "84" / "121"
    libri.mkdir(parents=True)
    for i in range(3):
        (libri / f"84-121-{i:04d}.flac").write_bytes((tmp_path / "pairs" / rows[4 % 4][0]).read_bytes())
    (libri / "84-121.trans.txt").write_text("".join(f"84-121-{i:04d} HELLO THERE {i}\n" for i in range(3)))
    items = sources.scan(tmp_path / "libri")
    assert [i.text for i in items] == ["HELLO THERE 0", "HELLO THERE 1", "HELLO THERE 2"]
    assert {i.speaker for i in items} == {"84"}
    with pytest.raises(ConfigError, match="path' and 'text"):
        (tmp_path / "bad.csv").write_text("file,words\na.wav,hi\n")
        sources.scan(tmp_path / "bad.csv")


def test_mixed_formats_are_read_and_problems_reported(tmp_path):
    root = tmp_path / "clips"
    write_mixed(root, count=12)
    problems = write_problems(root)
    manifest = dataset.build(sources.scan(root), tmp_path, DATA)
    assert {Path(s["file"]).name: s["reason"] for s in manifest["skipped"]}.keys() == problems.keys()
    for skip in manifest["skipped"]:
        assert problems[Path(skip["file"]).name] in skip["reason"], skip
    assert sum(manifest["splits"].values()) == 12 and manifest["splits"]["test"] >= 1
    mels, texts = dataset.load_split(tmp_path, "train")
    assert len(mels) == manifest["splits"]["train"] and all(m.shape[0] == DATA.n_mels for m in mels)
    assert all(isinstance(m, np.memmap) for m in mels)  # views of the memory-mapped frames, never loaded whole
    assert all(t == chars.normalize(t) and t for t in texts)  # "CALL ALICE!" was normalised


def test_splits_keep_each_speaker_in_one_split():
    items = [sources.Item(Path(f"{s}-{i}.wav"), "hi", None, f"s{s}") for s in range(10) for i in range(5)]
    parts = dataset.split_groups(items, val=0.2, test=0.2, seed=0)
    speakers = {name: {items[i].speaker for i in idx} for name, idx in parts.items()}
    assert all(len(idx) for idx in parts.values())
    assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["val"]


def test_long_recordings_are_cut_into_windows_at_quiet_points():
    front = {"rate": 16000, "n_mels": 40, "win": 400, "hop": 160, "n_fft": 512, "window_frames": 598}
    speech = spoken("call alice", 16000)
    assert len(speech) < 16000  # with 1 s pauses, every 1.5 s a cut may search holds some pause
    pause = np.zeros(16000, np.float32)
    recording = np.concatenate([speech, pause] * 12)  # about 20 s
    parts = frontend.windows(recording, front)
    assert len(parts) >= 4 and all(mel.shape[1] <= front["window_frames"] for _, mel in parts)
    starts = [start for start, _ in parts]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < len(recording) / 16000
    cuts = frontend.cut_points(recording, 16000, (598 - 1) * 160 + 400)
    energy = np.array([np.mean(recording[c : c + 160] ** 2) for c in cuts])
    assert energy.max() < 1e-8  # every cut falls in a pause, none inside a word
    assert len(frontend.windows(speech, front)) == 1


def test_strict_preprocess_fails_on_a_bad_file(cli, tmp_path):
    root = tmp_path / "clips"
    write_mixed(root, count=6)
    (root / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    (root / "corrupt.txt").write_text("call alice")
    failed = cli("preprocess", "asr", f"data.path={root}", "strict=true", expect=1)
    assert "corrupt.wav" in failed.stderr and "Traceback" not in failed.stderr


def test_service_adapter_refuses_bad_uploads_with_4xx():
    import io

    import soundfile

    from aiaas_cli.serving.runtime import BadInput
    from aiaas_recipes.asr.serving import build_adapter

    meta = {"alphabet": [" ", "a"], "rate": 16000, "n_mels": 40, "win": 400, "hop": 160, "n_fft": 512}
    adapter = build_adapter({**meta, "window_frames": 598, "min_seconds": 0.2, "max_seconds": 20.0}, max_seconds=60)

    def wav(seconds: float) -> bytes:
        buffer = io.BytesIO()
        soundfile.write(buffer, np.zeros(int(8000 * seconds), np.float32), 8000, format="WAV")
        return buffer.getvalue()

    statuses = {}
    for name, payload in {"long": wav(61), "junk": b"not audio at all", "empty": b"", "text": "a.wav"}.items():
        with pytest.raises(BadInput) as caught:
            adapter.decode(payload)
        statuses[name] = caught.value.status
    assert statuses == {"long": 413, "junk": 400, "empty": 400, "text": 400}
    recording = adapter.decode(wav(45))  # above training's 20 s, within the upload limit: windows
    assert recording.duration_s == 45.0 and len(recording.windows) >= 8
    feeds = adapter.batch([recording, adapter.decode(wav(1))])
    assert feeds["features"].shape[0] == len(recording.windows) + 1 and feeds["features"].shape[2] == 598
