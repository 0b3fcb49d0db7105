"""What the export stage needs from asr: an example batch, names, dynamic axes, metadata, held-out samples,
how close ONNX is to torch (log-probs on real frames, and the decoded text) and a WER of raw outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.asr import text as chars
from aiaas_recipes.asr.dataset import load_split
from aiaas_recipes.asr.frontend import pad
from aiaas_recipes.asr.serving import INPUT_NAMES, OUTPUT_NAME


@dataclass
class Targets:
    """The transcripts of exported samples and the alphabet (what decoding and `score_outputs` need)."""

    texts: list[str]
    lengths: np.ndarray  # input frames per sample
    alphabet: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def export_spec(meta: dict) -> ExportSpec:
    """A (2, n_mels, 160) example with one padded row; symbolic batch and time axes."""
    import torch

    features, lengths = torch.zeros(2, int(meta["n_mels"]), 160), torch.tensor([160, 100])
    keys = ("alphabet", "rate", "n_mels", "win", "hop", "n_fft", "window_frames", "min_seconds", "max_seconds")
    metadata = {key: meta[key] for key in keys}
    if meta.get("trim_db") is not None:  # BentoML metadata takes no None
        metadata["trim_db"] = meta["trim_db"]
    return ExportSpec(
        example_inputs=(features, lengths),
        input_names=list(INPUT_NAMES),
        output_names=[OUTPUT_NAME],
        dynamic_axes={
            "features": {0: "batch", 2: "time"},
            "lengths": {0: "batch"},
            OUTPUT_NAME: {0: "batch", 1: "frames"},
        },
        metadata={**metadata, "model": meta.get("model", {}).get("_target_")},
    )


def samples(dataset_dir: Path, split: str, limit: int, alphabet: list[str], seed: int = 0) -> tuple[dict, Targets]:
    """A seeded subset of ``split``, padded to its longest utterance (another time length than the example's)."""
    mels, texts = load_split(dataset_dir, split)
    pick = np.sort(np.random.default_rng(seed).permutation(len(mels))[:limit])
    features, lengths = pad([mels[i] for i in pick])
    return dict(zip(INPUT_NAMES, (features, lengths))), Targets([texts[i] for i in pick], lengths, alphabet)


def decode_all(log_probs: np.ndarray, lengths: np.ndarray, alphabet: list[str]) -> list[str]:
    return [chars.greedy_decode(row, n, alphabet) for row, n in zip(log_probs, chars.output_frames(lengths))]


def _greedy_ids(log_probs: np.ndarray) -> list[np.ndarray]:
    """Per sample: the greedy CTC transcript as class ids (best class per frame, repeats merged, blanks dropped)."""
    best = np.asarray(log_probs).argmax(-1)
    return [row[(row != chars.BLANK) & np.concatenate([[True], row[1:] != row[:-1]])] for row in best]


def compare(expected: dict, actual: dict) -> Parity:
    """The share of samples whose greedy transcript is the same (the largest log-prob difference is reported)."""
    from aiaas_recipes.common.parity import max_abs, sequences

    want, got = expected[OUTPUT_NAME], actual[OUTPUT_NAME]
    return sequences(_greedy_ids(want), _greedy_ids(got), "transcript_agreement", max_abs(want, got))


def score(outputs: dict, targets: Targets) -> float:
    """WER of greedy transcripts of raw outputs (judges int8 quantization)."""
    from aiaas_recipes.asr.evaluation import scores

    hypotheses = decode_all(np.asarray(outputs[OUTPUT_NAME]), targets.lengths, targets.alphabet)
    return scores(targets.texts, hypotheses)["wer"]
