"""Evaluation of text-gen: perplexity on the held-out rows, exact match of greedy answers to the held-out
instructions (by task), beside a token trigram model trained on the train split; sample generations."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.text_gen import dataset
from aiaas_recipes.text_gen.export import TorchGraph, decoder_spec, prompt_feeds
from aiaas_recipes.text_gen.serving import complete

ANSWER_TOKENS = 24  # greedy tokens per held-out instruction: the built-in answers need a few
SAMPLES = 8


def perplexity(net: Any, dataset_dir: Path, split: str, batch: int = 64) -> float:
    """exp(mean next-token loss) over the split's counted labels (documents: every token; instructions: answers)."""
    import torch

    from aiaas_recipes.text_gen.model import lm_loss, row_logits

    ids, labels = np.load(dataset_dir / f"{split}_ids.npy"), np.load(dataset_dir / f"{split}_labels.npy")
    lengths = np.load(dataset_dir / f"{split}_len.npy")
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(ids), batch):
            part = slice(start, start + batch)
            target = torch.from_numpy(labels[part].astype(np.int64))
            logits = row_logits(net, torch.from_numpy(ids[part].astype(np.int64)), torch.from_numpy(lengths[part]))
            total += float(lm_loss(logits, target, reduction="sum"))
            count += int((target[:, 1:] != dataset.IGNORE).sum())
    return float(math.exp(min(total / max(count, 1), 50.0)))


class Trigram:
    """A token trigram model with backoff to bigrams and unigrams (add-one at the bottom): the baseline."""

    def __init__(self, rows: np.ndarray, lengths: np.ndarray, vocab: int):
        self.vocab = vocab
        self.tri, self.bi, self.uni = defaultdict(Counter), defaultdict(Counter), Counter()
        for row, n in zip(rows, lengths):
            seq = [int(t) for t in row[:n]]
            for i, token in enumerate(seq):
                self.uni[token] += 1
                if i >= 1:
                    self.bi[seq[i - 1]][token] += 1
                if i >= 2:
                    self.tri[(seq[i - 2], seq[i - 1])][token] += 1
        self.total = sum(self.uni.values())

    def prob(self, context: list[int], token: int) -> float:
        tri = self.tri.get(tuple(context[-2:])) if len(context) >= 2 else None
        if tri:
            return 0.9 * tri[token] / sum(tri.values()) + 0.1 * self._bigram(context, token)
        return self._bigram(context, token)

    def _bigram(self, context: list[int], token: int) -> float:
        uni = (self.uni[token] + 1) / (self.total + self.vocab)
        bi = self.bi.get(context[-1]) if context else None
        return 0.9 * bi[token] / sum(bi.values()) + 0.1 * uni if bi else uni

    def next(self, context: list[int]) -> int:
        for table in (self.tri.get(tuple(context[-2:])), self.bi.get(context[-1] if context else -1)):
            if table:
                return table.most_common(1)[0][0]
        return self.uni.most_common(1)[0][0]

    def generate(self, prompt: list[int], eos: int, limit: int) -> list[int]:
        out: list[int] = []
        while len(out) < limit:
            token = self.next(prompt + out)
            if token == eos:
                break
            out.append(token)
        return out

    def perplexity(self, ids: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> float:
        logp, count = 0.0, 0
        for row, label, n in zip(ids, labels, lengths):
            seq = [int(t) for t in row[:n]]
            for i in range(1, int(n)):
                if label[i] != dataset.IGNORE:
                    logp += math.log(self.prob(seq[:i], seq[i]))
                    count += 1
        return float(math.exp(min(-logp / max(count, 1), 50.0)))


def exact_match(texts: list[str], examples: list[dict]) -> tuple[float, dict[str, float]]:
    hits = [t.strip() == e["answer"].strip() for t, e in zip(texts, examples)]
    by_task: dict[str, list[bool]] = defaultdict(list)
    for hit, e in zip(hits, examples):
        by_task[e.get("task") or "all"].append(hit)
    return (float(np.mean(hits)) if hits else 0.0), {k: float(np.mean(v)) for k, v in sorted(by_task.items())}


def evaluate(net: Any, meta: dict, dataset_dir: Path, manifest: dict, split: str) -> dict:
    from tokenizers import Tokenizer

    root = Path(dataset_dir)
    tok = Tokenizer.from_str(meta["tokenizer"])
    eos, pad = int(meta["tokens"]["eos_id"]), int(meta["tokens"]["pad_id"])
    examples = dataset.read_examples(root, split)
    prompts = [tok.encode(e["prompt"], add_special_tokens=False).ids for e in examples]
    texts = []
    if prompts:
        tokens = complete(TorchGraph(net), decoder_spec(net, meta), prompt_feeds(prompts, pad, ANSWER_TOKENS))["tokens"]
        texts = [tok.decode([int(t) for t in row if t >= 0], skip_special_tokens=True) for row in tokens]
    score, by_task = exact_match(texts, examples)
    train = [np.load(root / f"train_{name}.npy") for name in ("ids", "len")]
    trigram = Trigram(train[0], train[1], int(manifest["vocab"]))
    held = [np.load(root / f"{split}_{name}.npy") for name in ("ids", "labels", "len")]
    base_texts = [tok.decode(trigram.generate(p, eos, ANSWER_TOKENS), skip_special_tokens=True) for p in prompts]
    base_score, base_by_task = exact_match(base_texts, examples)
    report = {
        "exact_match": score,
        "perplexity": perplexity(net, root, split),
        "instructions": len(examples),
        "exact_match_by_task": by_task,
        "baseline": {
            "name": "token trigram",
            "exact_match": base_score,
            "perplexity": trigram.perplexity(*held),
            "exact_match_by_task": base_by_task,
        },  # fmt: skip
        "samples": [
            {"prompt": e["prompt"], "answer": e["answer"], "output": t, "baseline": b}
            for e, t, b in list(zip(examples, texts, base_texts))[:SAMPLES]
        ],  # fmt: skip
    }
    report["compare"] = {
        "title": "text-gen vs token trigram",
        "columns": ["model", "baseline"],
        "rows": {k: [round(report[k], 4), round(report["baseline"][k], 4)] for k in ("exact_match", "perplexity")},
    }
    return report


def write_samples(report: dict, path: Path) -> Path:
    """The sample generations beside the answers, as a Markdown table a person reads."""
    lines = ["| prompt | answer | model | baseline |", "|---|---|---|---|"]
    for s in report.get("samples", []):
        cells = [str(s[k]).replace("\n", " ").replace("|", "\\|") for k in ("prompt", "answer", "output", "baseline")]
        lines.append("| " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
