"""The tts front end and data: text normalisation, phoneme tokens, the LJSpeech reader's skipped rows, and the
monotonic alignment search."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from aiaas_recipes.tts import align, sources, text


def test_normalize_speaks_numbers_money_abbreviations_and_symbols():
    said = text.normalize("Dr. Smith paid $5.50 for 3 apples & 12% of 1,000 at 7.25 o'clock.")
    assert said == (
        "doctor Smith paid five dollars 50 cents for three apples and twelve percent of one thousand "
        "at seven point two five o'clock."
    ).replace("50 cents", "fifty cents")
    assert text.say_number(1984) == "one thousand nine hundred eighty four"
    assert text.say_number(2000000) == "two million"


def test_tokens_keep_stress_spaces_and_punctuation():
    symbols = text.tokens("Hello, world! 42?", "en-us")
    assert "ˈ" in symbols  # primary stress as a token
    assert [s for s in symbols if s in text.PUNCTUATION] == [",", "!", "?"]
    assert symbols.count(text.SPACE) >= 1  # "forty two": two words
    ids = text.encode(symbols, [text.PAD, text.UNK, "h"])
    assert ids[0] == 2 and set(ids) <= {1, 2}  # unknown symbols map to <unk>


def _wav(path, seconds=0.5):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.zeros(int(16000 * seconds), np.float32), 16000)


def test_ljspeech_reader_skips_bad_rows_and_reports_why(tmp_path):
    for name in ("a", "b", "c"):
        _wav(tmp_path / "wavs" / f"{name}.wav")
    (tmp_path / "metadata.csv").write_text(
        "a|Text A|text a\n"  # ok (normalized column used)
        "b|Only two fields\n"  # ok: no normalized column
        "a|again|again\n"  # duplicate id
        "missing|No audio|no audio\n"  # no wavs/missing.wav
        "c|\n"  # empty text
        "too|many|fields|here\n"
    )
    found, skipped = sources.scan(tmp_path)
    assert [(u.id, u.text) for u in found] == [("a", "text a"), ("b", "Only two fields")]
    reasons = " ".join(s["reason"] for s in skipped)
    assert len(skipped) == 4
    assert "twice" in reasons and "no audio file" in reasons and "empty" in reasons and "4 field" in reasons


def test_pairs_reader_needs_a_transcript(tmp_path):
    _wav(tmp_path / "one.wav")
    (tmp_path / "one.txt").write_text("  the  first\n")
    _wav(tmp_path / "two.wav")
    found, skipped = sources.scan(tmp_path)
    assert [(u.id, u.text) for u in found] == [("one", "the first")]
    assert skipped[0]["file"].endswith("two.wav")


def test_maximum_path_recovers_a_clear_alignment():
    truth = np.array([3, 1, 5, 2])
    owner = np.repeat(np.arange(4), truth)
    score = np.where(np.arange(4)[:, None] == owner[None, :], 0.0, -5.0)
    assert align.maximum_path(score).tolist() == truth.tolist()
    durations = align.maximum_path(np.zeros((4, 4)))
    assert durations.tolist() == [1, 1, 1, 1]  # as many frames as phonemes: one each


def test_hard_em_alignment_finds_durations_from_frames_alone():
    rng = np.random.default_rng(0)
    means = rng.normal(0, 3, (6, 8))
    pairs, truths = [], []
    for _ in range(12):
        ids = rng.permutation(6)  # no symbol twice in a row: every boundary is visible
        truth = rng.integers(2, 9, 6)
        frames = means[np.repeat(ids, truth)] + rng.normal(0, 0.5, (truth.sum(), 8))
        pairs.append((ids, frames))
        truths.append(truth)
    found = align.align_corpus(pairs, 6, rounds=4)
    exact = np.mean([np.mean(f == t) for f, t in zip(found, truths)])
    start = np.mean([np.mean(align.uniform(len(t), t.sum()) == t) for t in truths])
    assert all(f.sum() == len(p[1]) and f.min() >= 1 for f, p in zip(found, pairs))
    assert exact > 0.9 and start < 0.5, (exact, start)  # from uniform durations to the true ones


@pytest.mark.parametrize("bad", ["", "   ", 3, None])
def test_empty_or_non_string_text_is_refused(bad):
    from aiaas_cli.serving.runtime import BadInput
    from aiaas_recipes.tts.serving import SpeechAdapter

    meta = {"vocabulary": [text.PAD, text.UNK], "language": "en-us", "rate": 16000, "n_fft": 512, "hop": 128,
            "n_mels": 4, "mel_mean": [0] * 4, "mel_std": [1] * 4, "griffin_lim_iterations": 1, "max_phonemes": 20,
            "max_characters": 30}  # fmt: skip
    adapter = SpeechAdapter(meta)
    with pytest.raises(BadInput) as refused:
        adapter.decode({"text": bad})
    assert 400 <= refused.value.status < 500
    with pytest.raises(BadInput, match="above the limit") as long:
        adapter.decode("word " * 10)
    assert long.value.status == 413
    with pytest.raises(BadInput, match="speed"):
        adapter.decode({"text": "hi", "speed": 9})
    assert adapter.decode({"text": "hi", "speed": 1.5})["speed"] == 1.5


def test_split_arrays_round_trip_with_the_frames_memory_mapped(tmp_path):
    import json

    from aiaas_recipes.tts import dataset

    rng = np.random.default_rng(0)
    rows = [
        {"ids": rng.integers(2, 9, n), "mel": rng.normal(size=(3 * n, 4)).astype(np.float32), "durations": [3] * n}
        for n in (2, 5, 1)
    ]
    dataset.write_split(tmp_path, "train", rows)
    (tmp_path / "train.json").write_text(json.dumps([{"id": str(i)} for i in range(3)]))
    loaded = dataset.load_split(tmp_path, "train")
    assert [row["id"] for row in loaded] == ["0", "1", "2"]
    assert all(isinstance(row["mel"], np.memmap) for row in loaded)  # frames read when a batch needs them
    for want, got in zip(rows, loaded):
        assert np.array_equal(want["mel"], got["mel"]) and np.array_equal(want["ids"], got["ids"])
        assert np.array_equal(want["durations"], got["durations"]) and got["ids"].flags.writeable
