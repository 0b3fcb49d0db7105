"""Training throughput of a hub-style model inside `aiaas train text-cls model=hf` against a hand-written PyTorch loop.

The model: a BERT config made here (4 layers, width 128, random init, saved with save_pretrained; no internet for a
real hub download) and a WordPiece tokenizer trained on the corpus, loaded by model.name=<folder> as a hub model is.
Both sides train on the same arrays that `aiaas preprocess` wrote (the model's own tokenizer), with the same batch
size, batch order (seed + epoch), batches cut to their longest text, AdamW, gradient clipping at 1.0 and threads;
the sides alternate in one process because the machine is noisy. samples/s is the median of the epochs after the
first. Target: aiaas / plain >= 0.95.

    .venv/bin/python -m benchmarks.bench_hub_train      (--rows 1200 --epochs 3 --repeats 2; --check exits 1 on FAIL)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

AIAAS = str(Path(sys.executable).with_name("aiaas"))
RATIO_TARGET = 0.95
TOPICS = {
    "sports": "goal match team coach score league striker referee keeper derby",
    "food": "pasta sauce bake recipe garlic oven dessert spicy butter salad",
    "tech": "laptop server code chip battery network kernel robot cloud screen",
}
FILLER = ["the", "a", "today", "really", "was", "quite", "and", "very", "my", "new", "of", "in", "on"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1200, help="texts in the generated corpus")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per training; the first is warm-up")
    parser.add_argument("--repeats", type=int, default=2, help="trainings per side, alternated")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    return parser.parse_args()


def write_corpus(path: Path, rows: int) -> list[str]:
    rng, texts = random.Random(0), []
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(rows):
            label = list(TOPICS)[i % len(TOPICS)]
            words = rng.choices(TOPICS[label].split(), k=rng.randint(4, 20)) + rng.choices(FILLER, k=rng.randint(3, 20))
            rng.shuffle(words)
            texts.append(" ".join(words) + f" #{i}")
            writer.writerow([texts[-1], label])
    return texts


def make_model(folder: Path, texts: list[str], layers: int, width: int) -> None:
    """A BERT config and WordPiece tokenizer saved as a hub model folder (random weights: throughput only)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizers.BertNormalizer(), pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=specials))
    ids = {name: tok.token_to_id(name) for name in ("[CLS]", "[SEP]")}
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=list(ids.items()))
    tokenizer = BertTokenizerFast(tokenizer_object=tok)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=width, num_hidden_layers=layers,
                        num_attention_heads=max(width // 64, 2), intermediate_size=4 * width)  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def overrides(folder: Path, corpus: Path, args) -> list[str]:
    return [
        "model=hf", f"model.name={folder}", f"data.path={corpus}", "data.max_length=64",
        f"data.batch_size={args.batch}", "data.balance=none", "scheduler=none", "loss.label_smoothing=0",
        f"trainer.max_epochs={args.epochs}", "trainer.early_stopping.enabled=false", "trainer.gradient_clip_val=1.0",
        "optim.lr=0.0005", "optim.weight_decay=0.01",
    ]  # fmt: skip


def aiaas_train(cfg_overrides: list[str], log) -> list[float]:
    """One `aiaas train` in this process; the per-epoch samples/s its Throughput callback logged to MLflow."""
    from mlflow.tracking import MlflowClient

    from aiaas_cli import config, lifecycle, recipes

    recipe = recipes.load("text-cls")
    with contextlib.redirect_stderr(log):
        run_id = lifecycle.train(config.compose(recipe, cfg_overrides), recipe)["run_id"]
    history = MlflowClient().get_metric_history(run_id, "train_samples_per_sec")
    return [m.value for m in sorted(history, key=lambda m: m.step)]


def plain_train(cfg_overrides: list[str], dataset_dir: Path) -> list[float]:
    """The loop one writes by hand over the same arrays: from_pretrained, AdamW, clipping, same batches."""
    from transformers import AutoModelForSequenceClassification

    from aiaas_cli import config, recipes

    cfg = config.compose(recipes.load("text-cls"), cfg_overrides)
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    ids = torch.from_numpy(np.load(dataset_dir / "train_ids.npy").astype(np.int64))
    lengths = torch.from_numpy(np.load(dataset_dir / "train_len.npy").astype(np.int64))
    types = torch.from_numpy(np.load(dataset_dir / "train_types.npy").astype(np.int64))
    labels = torch.from_numpy(np.load(dataset_dir / "train_y.npy")).long()
    torch.manual_seed(cfg.seed)
    model = AutoModelForSequenceClassification.from_pretrained(str(cfg.model.name), num_labels=len(manifest["classes"]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    model.train()
    rates = []
    for epoch in range(cfg.trainer.max_epochs):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(cfg.seed + epoch))
        start = time.perf_counter()
        for batch in order.split(cfg.data.batch_size):
            longest = int(lengths[batch].max())
            mask = (torch.arange(longest)[None, :] < lengths[batch, None]).long()
            out = model(input_ids=ids[batch, :longest], attention_mask=mask, token_type_ids=types[batch, :longest])
            loss = F.cross_entropy(out.logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        rates.append(len(labels) / (time.perf_counter() - start))
    return rates


def median_after_first(rates: list[float]) -> float:
    return statistics.median(rates[1:] or rates)


def main() -> int:
    args = parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-hub-") as tmp:
        root = Path(tmp)
        os.environ["AIAAS_HOME"] = str(root / "home")
        texts = write_corpus(root / "texts.csv", args.rows)
        make_model(root / "bert", texts, args.layers, args.width)
        cfg_overrides = overrides(root / "bert", root / "texts.csv", args)
        done = subprocess.run([AIAAS, "preprocess", "text-cls", *cfg_overrides, "--json"], capture_output=True,
                              text=True, check=True, env=os.environ)  # fmt: skip
        dataset_dir = Path(json.loads(done.stdout)["dataset_dir"])
        n_train = len(np.load(dataset_dir / "train_y.npy"))
        reps = []
        with (root / "train.log").open("w") as log:
            for repeat in range(args.repeats):
                sides = {
                    "aiaas": lambda: aiaas_train(cfg_overrides, log),
                    "plain": lambda: plain_train(cfg_overrides, dataset_dir),
                }  # noqa: E501
                order = ["aiaas", "plain"] if repeat % 2 == 0 else ["plain", "aiaas"]
                rep = {side: sides[side]() for side in order}
                reps.append(rep)
                shown = "; ".join(f"{s} {', '.join(f'{r:.1f}' for r in rep[s])}" for s in ("aiaas", "plain"))
                print(f"  repeat {repeat + 1} ({' then '.join(order)}): samples/s per epoch {shown}", flush=True)
    aiaas = statistics.median(median_after_first(r["aiaas"]) for r in reps)
    plain = statistics.median(median_after_first(r["plain"]) for r in reps)
    ratio = statistics.median(median_after_first(r["aiaas"]) / median_after_first(r["plain"]) for r in reps)
    print(
        f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average {load_start:.1f} "
        f"at start, {os.getloadavg()[0]:.1f} at end; torch {torch.__version__}, {torch.get_num_threads()} threads\n"
        f"BERT {args.layers} layers x {args.width} (random init), {n_train} training texts, max_length 64, "
        f"batch {args.batch}, {args.epochs} epochs x {args.repeats} repeats per side\n"
    )
    ok = ratio >= RATIO_TARGET
    print(f"{'aiaas train samples/s':<40}{aiaas:>10.1f}")
    print(f"{'plain loop samples/s':<40}{plain:>10.1f}")
    print(f"{'ratio aiaas / plain (paired median)':<40}{ratio:>10.3f}  >= {RATIO_TARGET}  {'PASS' if ok else 'FAIL'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
