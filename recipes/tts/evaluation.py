"""Evaluation of a tts model on held-out recordings: MCD with DTW (the mel-cepstral-distance package), per-phoneme
duration error and log-F0 RMSE (Praat's pitch tracker through parselmouth), beside the copy-synthesis baseline (the
true mels through the same Griffin-Lim vocoder), so the user sees what the vocoder costs and what the model does."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common.audio import decoding
from aiaas_recipes.common.report import compare_table
from aiaas_recipes.tts.dataset import load_split
from aiaas_recipes.tts.vocoder import Frames, griffin_lim, wav_bytes

EVAL_LIMIT = 12  # held-out utterances scored (each vocoded twice; the package's DTW is pure Python: ~1-5 s each)
SAMPLES = 3  # utterances kept as WAV samples and mel plots
KINDS = ("reference", "model", "copy")


def reference_audio(row: dict, manifest: dict) -> np.ndarray:
    """The held-out recording as preprocessing saw it (resampled, trimmed)."""
    rate = int(manifest["rate"])
    samples = decoding.load(Path(row["path"]).read_bytes(), rate, 0.0, float("inf"))
    trim = manifest.get("trim_db")
    return decoding.trim_silence(samples, rate, float(trim)) if trim is not None else samples


def log_f0(samples: np.ndarray, rate: int) -> np.ndarray:
    """Natural-log F0 per 10 ms frame, NaN where unvoiced (Praat's autocorrelation pitch tracker)."""
    import parselmouth

    pitch = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=rate).to_pitch(
        time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0
    )
    f0 = pitch.selected_array["frequency"]
    return np.where(f0 > 0, np.log(np.maximum(f0, 1e-3)), np.nan)


def f0_error(reference: np.ndarray, other: np.ndarray) -> tuple[float, int]:
    """(sum of squared log-F0 differences, frames) over frames voiced in both; ``other`` is stretched linearly to
    the reference's length first (a synthesised utterance may be longer or shorter)."""
    if len(reference) == 0 or len(other) == 0:
        return 0.0, 0
    stretched = other[np.minimum((np.arange(len(reference)) * len(other)) // len(reference), len(other) - 1)]
    both = ~np.isnan(reference) & ~np.isnan(stretched)
    return float(((reference[both] - stretched[both]) ** 2).sum()), int(both.sum())


def mcd(reference: Path, other: Path) -> float:
    from mel_cepstral_distance import compare_audio_files

    return float(compare_audio_files(reference, other, aligning="dtw")[0])


def predict_row(network: Any, row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(standardised mel (frames, n_mels), durations) of the trained network at speed 1."""
    import torch

    with torch.inference_mode():
        mel, frames, durations = network(
            torch.from_numpy(row["ids"][None]), torch.tensor([len(row["ids"])]), torch.ones(1)
        )
    return mel[0, : int(frames[0])].numpy(), durations[0].numpy()


def score_row(network: Any, row: dict, manifest: dict, folder: Path, iterations: int) -> dict:
    """Write the reference, model and copy-synthesis WAVs of one utterance into ``folder``; return its figures."""
    frames = Frames.of(manifest)
    mean, std = np.asarray(manifest["mel_mean"]), np.asarray(manifest["mel_std"])
    mel, durations = predict_row(network, row)
    waves = {
        "reference": reference_audio(row, manifest),
        "model": griffin_lim(mel * std + mean, frames, iterations),
        "copy": griffin_lim(row["mel"] * std + mean, frames, iterations),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for kind, samples in waves.items():
        (folder / f"{kind}.wav").write_bytes(wav_bytes(samples, frames.rate))
    np.save(folder / "mel_model.npy", mel)
    np.save(folder / "mel_true.npy", row["mel"])
    pitch = {kind: log_f0(samples, frames.rate) for kind, samples in waves.items()}
    frame_ms = 1000.0 * frames.hop / frames.rate
    return {
        "mcd": mcd(folder / "reference.wav", folder / "model.wav"),
        "copy_mcd": mcd(folder / "reference.wav", folder / "copy.wav"),
        "duration_ms": float(np.abs(durations - row["durations"]).mean() * frame_ms),
        "f0": f0_error(pitch["reference"], pitch["model"]),
        "copy_f0": f0_error(pitch["reference"], pitch["copy"]),
        "length_ratio": len(waves["model"]) / max(len(waves["reference"]), 1),
    }


def _rmse(pairs: list[tuple[float, int]]) -> float:
    total, count = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return float(np.sqrt(total / count)) if count else float("nan")


def evaluate_split(network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
    """Figures over up to EVAL_LIMIT utterances of ``split``; the first SAMPLES kept for write_samples."""
    rows = load_split(dataset_dir, split)[:EVAL_LIMIT]
    iterations = int(getattr(network, "aiaas_meta", {}).get("serving", {}).get("griffin_lim_iterations", 32))
    workdir = Path(tempfile.mkdtemp(prefix="aiaas-tts-eval-"))
    scores = [
        score_row(network, row, manifest, workdir / f"{i:02d}_{row['id']}", iterations) for i, row in enumerate(rows)
    ]
    for folder in sorted(workdir.iterdir())[SAMPLES:]:
        shutil.rmtree(folder)
    model = {
        "mcd": float(np.mean([s["mcd"] for s in scores])),
        "duration_error": float(np.mean([s["duration_ms"] for s in scores])),
        "f0_rmse": _rmse([s["f0"] for s in scores]),
    }
    baseline = {
        "name": "copy-synthesis (true mels, same Griffin-Lim)",
        "mcd": float(np.mean([s["copy_mcd"] for s in scores])),
        "duration_error": 0.0,  # the aligned durations themselves
        "f0_rmse": _rmse([s["copy_f0"] for s in scores]),
    }
    columns = {"model": model, baseline["name"]: baseline}
    return {
        **model,
        "baseline": baseline,
        "length_ratio": float(np.mean([s["length_ratio"] for s in scores])),
        "utterances": len(rows),
        "units": {"mcd": "dB (DTW-aligned)", "duration_error": "ms per phoneme", "f0_rmse": "natural log of Hz"},
        "compare": compare_table(f"tts on {len(rows)} {split} utterances", columns, model),
        "sample_dir": str(workdir),
    }  # fmt: skip


def plot_mels(folder: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    for axis, name, title in zip(axes, ("mel_true.npy", "mel_model.npy"), ("true (aligned)", "predicted")):
        axis.imshow(np.load(folder / name).T, origin="lower", aspect="auto", cmap="magma")
        axis.set_title(f"{folder.name[3:]}: {title} log-mel (standardised)")
    axes[1].set_xlabel("frame")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def write_samples(report: dict, out_dir: Path) -> list[Path]:
    """The kept utterances' WAVs (reference, model, copy-synthesis) and mel plots, flat in ``out_dir``."""
    workdir = Path(report.get("sample_dir", ""))
    if not report.get("sample_dir") or not workdir.is_dir():
        return []
    written = []
    for folder in sorted(workdir.iterdir()):
        for kind in KINDS:
            written.append(Path(shutil.copy(folder / f"{kind}.wav", out_dir / f"{folder.name}_{kind}.wav")))
        plot_mels(folder, out_dir / f"{folder.name}_mels.png")
        written.append(out_dir / f"{folder.name}_mels.png")
    shutil.rmtree(workdir, ignore_errors=True)
    return written
