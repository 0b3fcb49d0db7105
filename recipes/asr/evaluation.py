"""WER and CER (jiwer) of a network on one split, the worst utterances as examples, and a constant baseline
(every utterance transcribed as the training split's most frequent transcript)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.asr import text as chars
from aiaas_recipes.asr.dataset import load_split
from aiaas_recipes.asr.frontend import pad
from aiaas_recipes.common.report import add_baseline

EXAMPLES = 10  # worst utterances kept in the report


@torch.inference_mode()
def transcribe(network: torch.nn.Module, mels: list[np.ndarray], alphabet: list[str], batch_size: int = 32) -> list:
    """Greedy transcripts of (n_mels, frames) log-mels, batched by length (padding does not change outputs)."""
    order = np.argsort([m.shape[1] for m in mels], kind="stable")
    out: list[str] = [""] * len(mels)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        features, lengths = pad([mels[i] for i in rows])
        log_probs = network(torch.from_numpy(features), torch.from_numpy(lengths)).float().numpy()
        for i, row, n in zip(rows, log_probs, chars.output_frames(lengths)):
            out[i] = chars.greedy_decode(row, n, alphabet)
    return out


def scores(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus WER and CER (jiwer: edits over all reference words / characters)."""
    import jiwer

    return {"wer": float(jiwer.wer(references, hypotheses)), "cer": float(jiwer.cer(references, hypotheses))}


def worst(files: list[str], references: list[str], hypotheses: list[str], limit: int = EXAMPLES) -> list[dict]:
    """The ``limit`` utterances with the most word errors per reference word (then character errors)."""
    import jiwer

    rows = [
        {"file": f, "reference": r, "hypothesis": h, "wer": float(jiwer.wer(r, h)), "cer": float(jiwer.cer(r, h))}
        for f, r, h in zip(files, references, hypotheses)
    ]
    rows.sort(key=lambda row: (-row["wer"], -row["cer"], row["file"]))
    return [row for row in rows[:limit] if row["wer"] > 0 or row["cer"] > 0]


def baseline(dataset_dir: Path, references: list[str]) -> dict:
    """WER and CER of transcribing every utterance as the training split's most frequent transcript."""
    _, train = load_split(dataset_dir, "train")
    constant = Counter(train).most_common(1)[0][0]
    return scores(references, [constant] * len(references))


def evaluate_split(network, dataset_dir: Path, manifest: dict, split: str) -> dict:
    mels, references = load_split(dataset_dir, split)
    hypotheses = transcribe(network.eval(), mels, manifest["alphabet"])
    files = (Path(dataset_dir) / f"{split}_files.txt").read_text(encoding="utf-8").splitlines()
    report = {**scores(references, hypotheses), "utterances": len(references)}
    report["examples"] = worst(files, references, hypotheses)
    found = baseline(dataset_dir, references)
    return add_baseline(report, found, "most frequent training transcript", f"{split} split", ("wer", "cer"))


def examples_table(report: dict):
    from rich.table import Table

    table = Table(title="Worst utterances")
    for column in ("reference", "hypothesis", "wer"):
        table.add_column(column, justify="right" if column == "wer" else "left")
    for row in report.get("examples", []):
        table.add_row(row["reference"], row["hypothesis"], f"{row['wer']:.2f}")
    return table


def write_examples(report: dict, out_dir: Path) -> Path:
    """The worst utterances as a JSON artifact."""
    import json

    path = Path(out_dir) / "worst_utterances.json"
    path.write_text(json.dumps(report.get("examples", []), indent=2), encoding="utf-8")
    return path
