"""Pairs -> the dataset dir: splits, the shared tokenizer (trained on the train split), padded id arrays.

Written per split: ``{split}_src.npy`` / ``{split}_tgt.npy`` (int32, padded with 0 to data.max_source_tokens /
data.max_target_tokens; targets end with [EOS]) and ``{split}_pairs.jsonl`` (the texts, for BLEU and samples), plus
``tokenizer.json``. Pairs longer than the limits are skipped and reported; copies of a training source are dropped
from val/test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.common.data.splits import SPLITS
from aiaas_recipes.seq2seq import tokens
from aiaas_recipes.seq2seq.sources import Pair


def assign_splits(pairs: list[Pair], val: float, test: float, seed: int) -> dict[str, list[Pair]]:
    """Pairs by split: val/test as the data names them, else a seeded share of the others (its training pairs and
    those it names no split for); the rest train."""
    named = {name: [p for p in pairs if p.split == name] for name in SPLITS if name != "train"}
    named["train"] = []
    free = [p for p in pairs if p.split not in named or p.split == "train"]
    order = np.random.default_rng(seed).permutation(len(free))
    cut = 0
    for name, share in (("test", test), ("val", val)):
        if named[name] or not free:
            continue
        count = min(max(int(round(len(free) * share)), 1), max(len(free) - cut - 1, 0))
        named[name] = [free[i] for i in order[cut : cut + count]]
        cut += count
    named["train"] += [free[i] for i in order[cut:]]
    return named


def _drop_copies(parts: dict[str, list[Pair]]) -> int:
    seen = {p.source for p in parts["train"]}
    dropped = 0
    for name in ("val", "test"):
        kept = [p for p in parts[name] if p.source not in seen]
        dropped += len(parts[name]) - len(kept)
        parts[name] = kept
    return dropped


def _padded(rows: list[list[int]], width: int, pad: int) -> np.ndarray:
    out = np.full((len(rows), width), pad, dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def _encode_split(tokenizer, pairs: list[Pair], data_cfg: Any, skipped: list[dict], specials: dict):
    """The split's pairs that fit the token limits, and their arrays (targets end with the end token once)."""
    src_max, tgt_max = int(data_cfg.max_source_tokens), int(data_cfg.max_target_tokens)
    eos, with_specials = int(specials["eos_id"]), bool(specials["source_specials"])
    sources = tokens.encode(tokenizer, [p.source for p in pairs], with_specials)
    targets = tokens.encode(tokenizer, [p.target for p in pairs], with_specials)
    targets = [t[:-1] if t and t[-1] == eos else t for t in targets]
    kept, src, tgt = [], [], []
    for pair, s, t in zip(pairs, sources, targets):
        if len(s) > src_max or len(t) + 1 > tgt_max:
            skipped.append(
                {
                    "file": pair.where,
                    "reason": f"too long: {len(s)} source / {len(t)} target tokens "
                    f"(data.max_source_tokens={src_max}, data.max_target_tokens={tgt_max} with the end)",
                }
            )
            continue
        kept.append(pair)
        src.append(s)
        tgt.append([*t, eos])
    pad = int(specials["pad_id"])
    return kept, {"src": _padded(src, src_max, pad), "tgt": _padded(tgt, tgt_max, pad)}


def _too_long_chars(pairs: list[Pair], data_cfg: Any, skipped: list[dict]) -> list[Pair]:
    """Pairs within data.max_chars per side (a far too long line is not tokenized at all)."""
    limit = int(data_cfg.max_chars)
    kept = []
    for pair in pairs:
        longest = max(len(pair.source), len(pair.target))
        if longest > limit:
            skipped.append({"file": pair.where, "reason": f"too long: {longest} characters (data.max_chars={limit})"})
        else:
            kept.append(pair)
    return kept


def build(pairs: list[Pair], skipped: list[dict], out_dir: Path, data_cfg: Any, hub: dict | None = None) -> dict:
    """Write the dataset dir; the manifest (without "source", which the recipe adds). ``hub``: a hub model's
    tokenizer and special ids (hub.tokenizer_info), used instead of training one."""
    from aiaas_cli.errors import UserError

    pairs = _too_long_chars(pairs, data_cfg, skipped)
    if data_cfg.get("max_rows") and len(pairs) > int(data_cfg.max_rows):
        pick = np.sort(
            np.random.default_rng(int(data_cfg.split.seed)).permutation(len(pairs))[: int(data_cfg.max_rows)]
        )
        pairs = [pairs[i] for i in pick]
    split = data_cfg.split
    parts = assign_splits(pairs, float(split.val), float(split.test), int(split.seed))
    copies = _drop_copies(parts)
    if len(parts["train"]) < 2:
        raise UserError(f"only {len(parts['train'])} usable training pairs", "check data.path and the skipped lines")
    if hub:
        tokenizer, specials = tokens.load(hub["tokenizer"]), hub["specials"]
    else:
        texts = [side for p in parts["train"] for side in (p.source, p.target)]
        tokenizer = tokens.train(texts, int(data_cfg.tokenizer.vocab_size), int(data_cfg.tokenizer.min_frequency))
        specials = tokens.own_specials()
    (out_dir / tokens.FILE).write_text(tokenizer.to_str(), encoding="utf-8")
    counts, lengths = {}, {}
    for name, part in parts.items():
        kept, arrays = _encode_split(tokenizer, part, data_cfg, skipped, specials)
        for key, array in arrays.items():
            np.save(out_dir / f"{name}_{key}.npy", array)
        with (out_dir / f"{name}_pairs.jsonl").open("w", encoding="utf-8") as handle:
            for pair in kept:
                handle.write(json.dumps({"source": pair.source, "target": pair.target, "where": pair.where}) + "\n")
        counts[name] = len(kept)
        lengths[name] = [
            float((arrays[k] != specials["pad_id"]).sum(1).mean()) if len(kept) else 0.0 for k in ("src", "tgt")
        ]
    src_len, tgt_len = lengths["train"]
    return {
        "splits": counts,
        "skipped": skipped,
        "skipped_what": "unusable pair(s)",
        "duplicates": {"copies_dropped_from_val_test": copies},
        "vocab_size": int(hub["vocab_size"]) if hub else tokenizer.get_vocab_size(),
        "specials": specials,
        **({"hub": hub["name"]} if hub else {}),
        "max_source_tokens": int(data_cfg.max_source_tokens),
        "max_target_tokens": int(data_cfg.max_target_tokens),
        "mean_tokens": {"source": round(src_len, 2), "target": round(tgt_len, 2)},
        # a target much shorter than its source: summaries, scored against lead-N sentences too
        "summaries": bool(tgt_len < 0.5 * src_len),
    }


def read_pairs(dataset_dir: Path, split: str) -> list[dict]:
    """The split's {"source", "target", "where"} records, in array order."""
    path = Path(dataset_dir) / f"{split}_pairs.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_arrays(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return tuple(np.load(Path(dataset_dir) / f"{split}_{key}.npy", mmap_mode="r") for key in ("src", "tgt"))
