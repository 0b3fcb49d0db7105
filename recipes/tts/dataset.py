"""Preprocess a speech corpus: audio read and resampled (common/audio/decoding.py), text to phoneme ids, log-mels,
durations by monotonic alignment, a seeded split; arrays per split as .npy files plus the utterances in JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import UserError
from aiaas_recipes.common.audio import decoding
from aiaas_recipes.tts import align, text
from aiaas_recipes.tts.sources import Utterance
from aiaas_recipes.tts.vocoder import Frames, log_mel

SPLITS = ("train", "val", "test")


def frames_of(data: Any) -> Frames:
    return Frames(int(data.sample_rate), int(data.n_fft), int(data.hop), int(data.n_mels))


def read_one(item: Utterance, data: Any, frames: Frames) -> tuple[list[str], np.ndarray]:
    """(phoneme symbols, log-mel frames) of one recording; raises BadAudio or ValueError saying why it is unusable."""
    samples = decoding.load(item.path.read_bytes(), frames.rate, float(data.min_seconds), float(data.max_seconds))
    if data.trim_db is not None:
        samples = decoding.trim_silence(samples, frames.rate, float(data.trim_db))
    symbols = text.tokens(item.text, str(data.language))
    if not symbols:
        raise ValueError("the text has no pronounceable words")
    mel = log_mel(samples, frames)
    if len(mel) < len(symbols):
        raise ValueError(f"{len(mel)} frames for {len(symbols)} phonemes: the audio is too short for its text")
    return symbols, mel


def split_names(count: int, split: Any) -> np.ndarray:
    """A seeded split label per utterance; val and test get at least one each when there are 3 or more."""
    order = np.random.default_rng(int(split.seed)).permutation(count)
    n_test = max(int(round(count * float(split.test))), 1 if count >= 3 else 0)
    n_val = max(int(round(count * float(split.val))), 1 if count >= 3 else 0)
    names = np.full(count, "train", dtype=object)
    names[order[:n_test]] = "test"
    names[order[n_test : n_test + n_val]] = "val"
    return names


SPLIT_ARRAYS = ("ids", "id_len", "mels", "mel_len", "durations")


def write_split(out_dir: Path, split: str, rows: list[dict]) -> None:
    """``{split}_{name}.npy``: each array concatenated over the utterances, with the per-utterance lengths."""
    ids = [row["ids"] for row in rows]
    arrays = {
        "ids": np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64),
        "id_len": np.array([len(i) for i in ids], np.int64),
        "mels": np.concatenate([r["mel"] for r in rows]).astype(np.float32) if rows else np.zeros((0, 1), np.float32),
        "mel_len": np.array([len(r["mel"]) for r in rows], np.int64),
        "durations": np.concatenate([r["durations"] for r in rows]).astype(np.int64) if rows else np.zeros(0, np.int64),
    }
    for name, array in arrays.items():
        np.save(out_dir / f"{split}_{name}.npy", array)


def build(items: list[Utterance], skipped: list[dict], out_dir: Path, data: Any) -> dict:
    """Write ``{split}_{name}.npy`` and ``{split}.json`` into ``out_dir``; return the manifest."""
    frames, rows = frames_of(data), []
    for item in items:
        try:
            symbols, mel = read_one(item, data, frames)
        except (decoding.BadAudio, ValueError, OSError) as exc:
            skipped.append({"file": str(item.path), "reason": str(exc)})
            continue
        rows.append({"item": item, "symbols": symbols, "mel": mel})
    if len(rows) < 3:
        raise UserError(f"only {len(rows)} usable recording(s) (need 3 or more)", "see the skipped files listed")
    vocabulary = [text.PAD, text.UNK, *sorted({s for row in rows for s in row["symbols"]})]
    names = split_names(len(rows), data.split)
    train_mels = np.concatenate([row["mel"] for row, name in zip(rows, names) if name == "train"])
    mean, std = train_mels.mean(0), train_mels.std(0) + 1e-3
    for row in rows:
        row["ids"] = np.array(text.encode(row["symbols"], vocabulary), np.int64)
        row["mel"] = ((row["mel"] - mean) / std).astype(np.float32)
    durations = align.align_corpus([(r["ids"], r["mel"]) for r in rows], len(vocabulary), int(data.align_rounds))
    counts = {}
    for split in SPLITS:
        chosen = [dict(row, durations=d) for row, d, name in zip(rows, durations, names) if name == split]
        write_split(out_dir, split, chosen)
        utterances = [{"id": r["item"].id, "path": str(r["item"].path), "text": r["item"].text} for r in chosen]
        (out_dir / f"{split}.json").write_text(json.dumps(utterances, indent=1))
        counts[split] = len(chosen)
    return {
        "splits": counts,
        "skipped": skipped,
        "skipped_what": "unusable recording(s) or metadata row(s)",
        "vocabulary": vocabulary,
        "language": str(data.language),
        "trim_db": None if data.trim_db is None else float(data.trim_db),
        "mel_mean": mean.tolist(),
        "mel_std": std.tolist(),
        **frames.as_dict(),
        "mean_frames": float(np.mean([len(r["mel"]) for r in rows])),
        "mean_log_duration": float(np.mean(np.log1p(np.concatenate(durations)))),
    }


def load_split(dataset_dir: Path, split: str) -> list[dict]:
    """The utterances of ``split``: ids, standardised mel (frames, n_mels; views of the memory-mapped frames, so a
    batch reads only its utterances), durations, text and audio path."""
    arrays = {name: np.load(dataset_dir / f"{split}_{name}.npy", mmap_mode="r") for name in SPLIT_ARRAYS}
    info = json.loads((dataset_dir / f"{split}.json").read_text())
    id_cut, mel_cut = np.cumsum(arrays["id_len"])[:-1], np.cumsum(arrays["mel_len"])[:-1]
    # phoneme ids and durations are small: copied, so torch can wrap them as they are
    ids, durations = np.split(np.array(arrays["ids"]), id_cut), np.split(np.array(arrays["durations"]), id_cut)
    mels = np.split(arrays["mels"], mel_cut)
    return [dict(meta, ids=i, mel=m, durations=d) for meta, i, m, d in zip(info, ids, mels, durations)]
