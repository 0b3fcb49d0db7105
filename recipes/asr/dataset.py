"""Decode, normalise, split and featurise the recordings: per split, every utterance's log-mels end to end
(``{split}_x.npy``, frames x mels), their lengths, transcripts and files, plus a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.asr import text as chars
from aiaas_recipes.asr.frontend import utterance_features
from aiaas_recipes.asr.sources import Item
from aiaas_recipes.common.audio import decoding, features
from aiaas_recipes.common.audio.recordings import decode_each, read_limits

SPLITS = ("train", "val", "test")


def front_end(data_cfg) -> dict:
    """Sample rate and log-mel settings (25 ms windows, 10 ms hops), and the serving window in frames."""
    rate = int(data_cfg.sample_rate)
    win, hop = int(round(0.025 * rate)), int(round(0.010 * rate))
    window = features.frame_count(int(round(float(data_cfg.window_seconds) * rate)), win, hop)
    return {"rate": rate, "n_mels": int(data_cfg.n_mels), "win": win, "hop": hop, "n_fft": int(data_cfg.n_fft),
            "window_frames": window}  # fmt: skip


def _load(item: Item, front: dict, limits: dict) -> tuple[np.ndarray, str]:
    transcript = chars.normalize(item.text)
    if not transcript:
        raise decoding.BadAudio("empty transcript")
    mel = utterance_features(decoding.load(item.path.read_bytes(), front["rate"], **limits), front)
    if chars.output_frames(mel.shape[1]) < len(transcript):
        raise decoding.BadAudio(f"transcript of {len(transcript)} characters is too long for its audio")
    return mel, transcript


def split_groups(items: list[Item], val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Splits from the data when it names train and test; otherwise a seeded split that keeps each speaker (or,
    unknown, each recording) in one split."""
    given = np.asarray([item.split or "" for item in items])
    if {"train", "test"} <= set(given.tolist()) and all(given != ""):
        parts = {name: np.flatnonzero(given == name) for name in SPLITS}
        if len(parts["val"]) == 0:  # no val given: hold out some of train
            rng = np.random.default_rng(seed)
            train = rng.permutation(parts["train"])
            n_val = max(1, int(round(len(train) * val))) if len(train) > 1 else 0
            parts["val"], parts["train"] = np.sort(train[:n_val]), np.sort(train[n_val:])
        return parts
    groups = [item.speaker or str(item.path) for item in items]
    order = np.random.default_rng(seed).permutation(sorted(set(groups)))
    want = {"test": test * len(items), "val": val * len(items)}
    assigned, counts = {}, {"test": 0, "val": 0}
    for group in order:
        size = groups.count(group)
        split = next((s for s in ("test", "val") if counts[s] + size / 2 <= want[s]), "train")
        counts[split] = counts.get(split, 0) + size
        assigned[group] = split
    names = np.asarray([assigned[g] for g in groups])
    return {name: np.flatnonzero(names == name) for name in SPLITS}


def _write_split(out_dir: Path, name: str, loaded: list, kept: list[Item]) -> None:
    mels = [mel for mel, _ in loaded]
    x = np.concatenate([mel.T for mel in mels]) if mels else np.zeros((0, 1), np.float32)
    np.save(out_dir / f"{name}_x.npy", x.astype(np.float32))
    np.save(out_dir / f"{name}_lengths.npy", np.asarray([mel.shape[1] for mel in mels], dtype=np.int64))
    (out_dir / f"{name}_texts.txt").write_text("".join(t + "\n" for _, t in loaded), encoding="utf-8")
    (out_dir / f"{name}_files.txt").write_text("".join(f"{item.path}\n" for item in kept), encoding="utf-8")


def build(items: list[Item], out_dir: Path, data_cfg) -> dict:
    """Write every split's arrays into ``out_dir``; return the manifest."""
    front, limits = front_end(data_cfg), read_limits(data_cfg)
    loaded, skipped = decode_each(items, lambda item: _load(item, front, limits))
    keep = [i for i, one in enumerate(loaded) if one is not None]
    kept = [items[i] for i in keep]
    split_cfg = data_cfg.split
    parts = split_groups(kept, float(split_cfg.val), float(split_cfg.test), int(split_cfg.seed))
    if len(parts["train"]) == 0 or len(parts["test"]) == 0:
        raise ConfigError(f"{len(kept)} usable recording(s) leave no train or test split", "see the skipped files")
    alphabet = chars.alphabet_of([loaded[keep[i]][1] for i in parts["train"]])
    warnings = []
    for name, idx in parts.items():
        _write_split(out_dir, name, [loaded[keep[i]] for i in idx], [kept[i] for i in idx])
        unseen = sorted({ch for i in idx for ch in loaded[keep[i]][1]} - set(alphabet))
        if unseen:
            warnings.append(f"{name} transcripts use characters never seen in training: {''.join(unseen)!r}")
    seconds = {name: round(sum(loaded[keep[i]][0].shape[1] for i in idx) * front["hop"] / front["rate"], 1)
               for name, idx in parts.items()}  # fmt: skip
    return {
        "alphabet": alphabet,
        "splits": {name: len(idx) for name, idx in parts.items()},
        "seconds": seconds,
        **front,
        **limits,
        "window_seconds": float(data_cfg.window_seconds),
        "skipped": skipped,
        "skipped_what": "unusable recording(s)",
        "warnings": warnings,
    }


def load_split(dataset_dir: Path, split: str) -> tuple[list[np.ndarray], list[str]]:
    """Every utterance's (n_mels, frames) log-mels (views of the memory-mapped frames: padding a batch reads only its
    utterances) and its transcript."""
    x = np.load(Path(dataset_dir) / f"{split}_x.npy", mmap_mode="r")
    lengths = np.load(Path(dataset_dir) / f"{split}_lengths.npy")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    mels = [x[s : s + n].T for s, n in zip(starts, lengths)]
    texts = (Path(dataset_dir) / f"{split}_texts.txt").read_text(encoding="utf-8").splitlines()
    return mels, texts
