"""text-cls: tokenizer throughput (batched vs one at a time), and model macro-F1 vs the TF-IDF baseline.

Throughput: the recipe's ``tokenizer.encode`` (one ``encode_batch_fast`` call, Rust threads, then a padded id
array) against a plain Python loop calling ``Tokenizer.encode`` per text and filling the same array; same
tokenizer (WordPiece, trained on the built-in corpus' train split by `aiaas preprocess`), same texts, medians
of alternating rounds. Quality: `aiaas pipeline text-cls` with the default config on the full built-in corpus
(de-duplicated, stratified split, leakage removed); the report's TF-IDF + logistic regression is trained and
scored on the same split. Target: model macro-F1 within 3 points of the baseline, or better.

    .venv/bin/python -m benchmarks.bench_text                  (--run ID --home DIR reuse a finished pipeline run)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from aiaas_recipes.common.text import tokenizer
from aiaas_recipes.text_cls.dataset import read_texts

AIAAS = str(Path(sys.executable).with_name("aiaas"))
ROUNDS, F1_GAP = 5, 0.03


def encode_one_by_one(tok, texts: list[str], max_length: int) -> np.ndarray:
    """The plain loop: what a per-request tokenizer call costs."""
    ids = np.zeros((len(texts), max_length), dtype=np.int64)
    for row, text in enumerate(texts):
        kept = tok.encode(text, add_special_tokens=False).ids[:max_length]
        ids[row, : len(kept)] = kept
    return ids


def throughput(dataset: Path, max_length: int) -> tuple[float, float, bool]:
    """Median texts/s of the batched encoding and of the loop, and whether their ids agree."""
    tok = tokenizer.load((dataset / "tokenizer.json").read_text())
    texts = [t for split in ("train", "val", "test") for t in read_texts(dataset, split)]
    batched, loop = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fast = tokenizer.encode(tok, texts, max_length).ids
        batched.append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        slow = encode_one_by_one(tok, texts, max_length)
        loop.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(batched), statistics.median(loop), bool((fast == slow).all())


def pipeline(home: Path) -> dict:
    env = {**os.environ, "AIAAS_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run([AIAAS, "pipeline", "text-cls", "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    result["wall_s"] = time.perf_counter() - start
    return result


def finished_run(home: Path, run_id: str) -> dict:
    """The metrics and dataset of a pipeline run already in ``home``."""
    os.environ["AIAAS_HOME"] = str(home)
    from aiaas_cli import config, recipes, tracking

    tracking.configure(config.compose(recipes.load("text-cls"), []))
    dataset = tracking.get_run(run_id).data.tags["aiaas.dataset_dir"]
    report = json.loads((home / "runs" / run_id / "evaluation" / "metrics.json").read_text())
    return {"run_id": run_id, "dataset_dir": dataset, "metrics": report, "wall_s": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an AIAAS_HOME holding a finished text-cls pipeline run")
    parser.add_argument("--run", help="that run's id (skips training)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-text-") as tmp:
        result = finished_run(args.home, args.run) if args.run else pipeline(Path(tmp))
        dataset = Path(result["dataset_dir"])
        manifest = json.loads((dataset / "manifest.json").read_text())
        fast, slow, same = throughput(dataset, manifest["max_length"])
    metrics = result["metrics"]
    model_f1, base_f1 = metrics["macro_f1"], metrics["baseline"]["macro_f1"]
    sizes = {name: sum(counts.values()) for name, counts in manifest["counts"].items()}
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; run {result['run_id']}")  # fmt: skip
    vocab, lengths = manifest["tokenizer"]["vocab_size"], manifest["length_percentiles"]
    print(f"built-in corpus after de-duplication: {sizes}; max_length {manifest['max_length']}, "
          f"vocab {vocab}, tokens per text {lengths}\n")  # fmt: skip
    rows = [
        ("tokenize+encode, batched (recipe), texts/s", f"{fast:,.0f}", "", ""),
        ("tokenize+encode, Python loop, texts/s", f"{slow:,.0f}", "", ""),
        ("ratio batched / loop", f"{fast / slow:.2f}x", "> 1", "PASS" if fast > slow else "FAIL"),
        ("same ids both ways", str(same), "True", "PASS" if same else "FAIL"),
        ("model macro-F1 (test)", f"{model_f1:.4f}", "", ""),
        ("TF-IDF + LR macro-F1 (test)", f"{base_f1:.4f}", "", ""),
        ("model - baseline, points", f"{100 * (model_f1 - base_f1):+.2f}", f">= {-100 * F1_GAP:.0f}",
         "PASS" if model_f1 >= base_f1 - F1_GAP else "FAIL"),
        ("model accuracy / baseline accuracy", f"{metrics['accuracy']:.4f} / {metrics['baseline']['accuracy']:.4f}",
         "", ""),
    ]  # fmt: skip
    print(f"{'measure':<44}{'value':>18}  {'target':<8}result")
    for name, value, target, verdict in rows:
        print(f"{name:<44}{value:>18}  {target:<8}{verdict}")
    if result["wall_s"]:
        print(f"\naiaas pipeline text-cls (preprocess, train, evaluate with baseline): {result['wall_s']:.0f} s")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
