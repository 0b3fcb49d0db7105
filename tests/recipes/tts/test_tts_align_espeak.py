"""The aligner checked against espeak-ng's own timing: for espeak-made speech, its word events give the sample
offset where each word starts; the monotonic alignment search, which sees only the audio and the phonemes, must
put word starts close to them (much closer than spreading the phonemes evenly)."""

from __future__ import annotations

import ctypes

import numpy as np
import soundfile
from omegaconf import OmegaConf

from aiaas_recipes.common.audio.espeak import _CALLBACK, speaker
from aiaas_recipes.tts import align, builtin, dataset, sources, text

WORD_EVENT, END_OF_LIST = 1, 0


class Event(ctypes.Structure):  # espeak_EVENT (speak_lib.h)
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of the text
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


def say_with_word_times(line: str) -> tuple[np.ndarray, list[int]]:
    """espeak's samples for ``line`` and the ms at which each word starts."""
    engine, chunks, starts = speaker(), [], []

    def collect(wav, count, events) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        event = ctypes.cast(events, ctypes.POINTER(Event))
        i = 0
        while event[i].type != END_OF_LIST:
            if event[i].type == WORD_EVENT:
                starts.append(event[i].audio_position)
            i += 1
        return 0

    callback = _CALLBACK(collect)
    engine.lib.espeak_SetSynthCallback(callback)
    try:
        engine.say(line, builtin.VOICE, builtin.RATE_WPM, builtin.PITCH)  # its own collector is not called
    finally:
        engine.lib.espeak_SetSynthCallback(engine._callback)
    return np.concatenate(chunks).astype(np.float32) / 32768.0, starts


def word_starts_ms(symbols: list[str], durations: np.ndarray, hop_ms: float) -> list[float]:
    """Where each word's first phoneme starts, from per-token durations."""
    edges = np.concatenate([[0], np.cumsum(durations)])
    breaks = {text.SPACE, *text.PUNCTUATION}
    return [
        edges[i] * hop_ms for i, s in enumerate(symbols) if s not in breaks and (i == 0 or symbols[i - 1] in breaks)
    ]


def test_word_starts_found_by_alignment_match_espeak_events(tmp_path, record_property):
    rng = np.random.default_rng(3)
    (tmp_path / "wavs").mkdir()
    lines, events = [], {}
    for n in range(12):
        sentence = builtin.sentence(rng)
        samples, starts = say_with_word_times(sentence)
        soundfile.write(tmp_path / "wavs" / f"s{n}.wav", samples, speaker().rate, subtype="PCM_16")
        lines.append(f"s{n}|{sentence}|{text.normalize(sentence)}")
        events[f"s{n}"] = starts
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n")
    data = OmegaConf.create({
        "sample_rate": 16000, "n_fft": 512, "hop": 128, "n_mels": 64, "min_seconds": 0.3, "max_seconds": 15,
        "trim_db": None, "language": "en-us", "align_rounds": 5, "split": {"val": 0.0, "test": 0.0, "seed": 0},
    })  # fmt: skip
    items, skipped = sources.scan(tmp_path)
    out = tmp_path / "dataset"
    out.mkdir()
    dataset.build(items, skipped, out, data)
    hop_ms = 1000 * 128 / 16000
    found, even = [], []
    for row in dataset.load_split(out, "train") + dataset.load_split(out, "test") + dataset.load_split(out, "val"):
        symbols = text.tokens(row["text"], "en-us")
        truth = events[row["id"]]
        ours = word_starts_ms(symbols, row["durations"], hop_ms)
        spread = word_starts_ms(symbols, align.uniform(len(symbols), len(row["mel"])), hop_ms)
        if len(ours) == len(truth):  # espeak may join words ("of the"); compare where the words line up
            found += list(np.abs(np.array(ours) - truth))
            even += list(np.abs(np.array(spread) - truth))
    record_property("median_word_start_error_ms", {"aligned": np.median(found), "even": np.median(even)})
    assert len(found) > 50
    assert np.median(found) < 40 and np.median(found) < np.median(even) / 2, (np.median(found), np.median(even))
