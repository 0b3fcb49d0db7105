"""Turn labelled texts into the dataset dir: split, leakage removed, a tokenizer trained on train, id arrays.

Files per split: ``{split}_ids.npy`` (N, max_length) token ids padded with 0, ``{split}_len.npy`` tokens kept,
``{split}_y.npy`` class indices, ``{split}_texts.jsonl`` the raw texts (for the baseline and the report);
plus ``tokenizer.json`` and what the manifest says. With a hub model (model=hf) the ids are its own tokenizer's,
special tokens included and padded with its pad id; ``{split}_types.npy`` holds token type ids when it takes them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLITS, split_by_class
from aiaas_recipes.common.text import tokenizer
from aiaas_recipes.common.text.tokenizer import TOKENIZER_FILE
from aiaas_recipes.text_cls import sources
from aiaas_recipes.text_cls.sources import Table


def check_settings(data_cfg) -> None:
    """Reject settings that would give empty inputs or overlapping splits."""
    val, test = data_cfg.split.val, data_cfg.split.test
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be fractions summing to less than 1")
    for key in ("max_length", "tokenizer.vocab_size"):
        value = data_cfg.max_length if key == "max_length" else data_cfg.tokenizer.vocab_size
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise ConfigError(f"data.{key}={value} must be an integer of at least 2")
    if data_cfg.tokenizer.kind not in tokenizer.KINDS:
        raise ConfigError(f"data.tokenizer.kind={data_cfg.tokenizer.kind} is not one of {', '.join(tokenizer.KINDS)}")
    if data_cfg.max_rows is not None and (not isinstance(data_cfg.max_rows, int) or data_cfg.max_rows < 1):
        raise ConfigError(f"data.max_rows={data_cfg.max_rows} must be a positive integer or null")


def source(data_cfg) -> tuple[Path, str, str]:
    """The input file or folder, its format and encoding: the user's data.path, else the built-in corpus."""
    if data_cfg.path:
        path = Path(str(data_cfg.path)).expanduser().resolve()
        return path, sources.detect_format(path, data_cfg.format), str(data_cfg.encoding)
    path, encoding = sources.builtin_file(str(data_cfg.builtin))
    return path, "csv", encoding


def load_table(data_cfg) -> tuple[Table, dict]:
    """The usable rows (sampled down to data.max_rows, de-duplicated for the built-in corpus) and where from."""
    path, fmt, encoding = source(data_cfg)
    table = sources.read(path, fmt, data_cfg, encoding)
    if not table.texts:
        raise ConfigError(f"no usable rows in {path}", "each row needs a non-empty text and a label")
    dropped = 0
    if data_cfg.dedupe or not data_cfg.path:
        table, dropped = _drop_duplicates(table)
    if data_cfg.max_rows is not None and len(table.texts) > data_cfg.max_rows:
        pick = np.sort(np.random.default_rng(data_cfg.split.seed).permutation(len(table.texts))[: data_cfg.max_rows])
        table = Table([table.texts[i] for i in pick], [table.labels[i] for i in pick],
                      [table.where[i] for i in pick], table.skipped)  # fmt: skip
    return table, {"source": str(path), "format": fmt, "encoding": encoding, "deduplicated_rows": dropped}


def _drop_duplicates(table: Table) -> tuple[Table, int]:
    seen: set[str] = set()
    kept = Table(skipped=table.skipped)
    for text, label, where in zip(table.texts, table.labels, table.where):
        if text not in seen:
            seen.add(text)
            kept.texts.append(text)
            kept.labels.append(label)
            kept.where.append(where)
    return kept, len(table.texts) - len(kept.texts)


def duplicates(texts: list[str], labels: list[str]) -> dict:
    """Exact duplicate texts, and those whose copies disagree on the label."""
    by_text: dict[str, set[str]] = {}
    for text, label in zip(texts, labels):
        by_text.setdefault(text, set()).add(label)
    counts = Counter(texts)
    return {
        "duplicate_groups": sum(1 for n in counts.values() if n > 1),
        "duplicate_rows": sum(n - 1 for n in counts.values() if n > 1),
        "conflicting_label_groups": sum(1 for labels in by_text.values() if len(labels) > 1),
    }


def remove_leakage(texts: list[str], parts: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """Drop from val and test every text that an earlier split (train, then val) already holds."""
    seen = {texts[i] for i in parts["train"]}
    removed = {}
    for name in ("val", "test"):
        keep = np.asarray([i for i in parts[name] if texts[i] not in seen], dtype=np.int64)
        removed[name] = len(parts[name]) - len(keep)
        parts[name] = keep
        seen.update(texts[i] for i in keep)
    return parts, {"removed_from_val": removed["val"], "removed_from_test": removed["test"]}


def _write_split(out_dir: Path, name: str, idx: np.ndarray, texts: list[str], labels: np.ndarray, encoded) -> None:
    np.save(out_dir / f"{name}_ids.npy", encoded.ids.astype(np.int32))  # half the disk of int64; widened on load
    np.save(out_dir / f"{name}_len.npy", encoded.lengths.astype(np.int32))
    if getattr(encoded, "types", None) is not None:
        np.save(out_dir / f"{name}_types.npy", encoded.types.astype(np.int8))
    np.save(out_dir / f"{name}_y.npy", labels[idx])
    with (out_dir / f"{name}_texts.jsonl").open("w", encoding="utf-8") as handle:
        # ASCII escapes: no raw U+2028/U+0085 that a line splitter would break a text on
        handle.writelines(json.dumps(texts[i]) + "\n" for i in idx)


def read_texts(dataset_dir: Path, split: str) -> list[str]:
    """The raw texts of ``split``, in the order of its arrays."""
    lines = (Path(dataset_dir) / f"{split}_texts.jsonl").read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines if line]


def length_percentiles(lengths: np.ndarray) -> dict[str, int]:
    """Tokens per text (before truncation) at the usual percentiles: pick data.max_length from these."""
    if len(lengths) == 0:
        return {}
    points = {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "max": 100}
    return {name: int(np.percentile(lengths, q)) for name, q in points.items()}


def _own_tokenizer(data_cfg, texts: list[str], out_dir: Path):
    """A subword tokenizer trained on the train split's ``texts``; (encode function, manifest entry)."""
    tok_cfg = data_cfg.tokenizer
    tok = tokenizer.train(texts, tok_cfg.kind, tok_cfg.vocab_size, tok_cfg.min_frequency, tok_cfg.lowercase)
    (out_dir / TOKENIZER_FILE).write_text(tok.to_str())
    entry = {"file": TOKENIZER_FILE, "kind": tok_cfg.kind, "vocab_size": tok.get_vocab_size()}
    return (lambda batch: tokenizer.encode(tok, batch, data_cfg.max_length)), entry


def _hub_tokenizer(hub, out_dir: Path):
    """A hub model's own tokenizer (``hub_tokens.HubTokenizer``); (encode function, manifest entry)."""
    from aiaas_recipes.common.text import hub_tokens

    (out_dir / TOKENIZER_FILE).write_text(hub.tokenizer.to_str())
    entry = {"file": TOKENIZER_FILE, "kind": "hub", "vocab_size": hub.tokenizer.get_vocab_size()}
    return (lambda batch: hub_tokens.encode(hub, batch)), entry


def build(data_cfg, out_dir: Path, hub=None, hub_info: dict | None = None) -> dict:
    """Read, split, de-leak, tokenize and write the dataset dir; return the manifest. ``hub``: a hub model's own
    tokenizer (``hub_tokens.HubTokenizer``) instead of one trained here; ``hub_info`` goes into the manifest."""
    check_settings(data_cfg)
    table, origin = load_table(data_cfg)
    classes = sorted(set(table.labels))
    if len(classes) < 2:
        raise ConfigError(f"the data has only {len(classes)} label(s): {', '.join(classes)}", "need at least two")
    index = {name: i for i, name in enumerate(classes)}
    labels = np.asarray([index[label] for label in table.labels], dtype=np.int64)
    parts = split_by_class(labels, data_cfg.split.val, data_cfg.split.test, data_cfg.split.seed)
    parts, leakage = remove_leakage(table.texts, parts)
    dups = duplicates(table.texts, table.labels)
    if dups["duplicate_rows"]:
        console.info(f"{dups['duplicate_rows']} exact duplicate text(s) in {dups['duplicate_groups']} group(s), "
                     f"{dups['conflicting_label_groups']} with conflicting labels")  # fmt: skip
    if leakage["removed_from_test"] or leakage["removed_from_val"]:
        console.info(f"removed {leakage['removed_from_test']} test and {leakage['removed_from_val']} val text(s) "
                     "that already appear in train or val (leakage)")  # fmt: skip
    if hub is None:
        encode, entry = _own_tokenizer(data_cfg, [table.texts[i] for i in parts["train"]], out_dir)
    else:
        encode, entry = _hub_tokenizer(hub, out_dir)
    stats = {}
    for name in SPLITS:
        encoded = encode([table.texts[i] for i in parts[name]])
        _write_split(out_dir, name, parts[name], table.texts, labels, encoded)
        stats[name] = encoded
    train = stats["train"]
    return {
        **origin,
        "classes": classes,
        "counts": {
            n: dict(zip(classes, np.bincount(labels[idx], minlength=len(classes)).tolist())) for n, idx in parts.items()
        },
        "splits": {n: len(idx) for n, idx in parts.items()},
        "rows": len(table.texts) + len(table.skipped),
        "skipped": table.skipped,
        "skipped_what": "row(s)",
        "duplicates": {**dups, **leakage, "cross_split_groups": 0},  # 0: the crossing copies were removed
        "tokenizer": entry,
        **({"hub": hub_info} if hub_info else {}),
        "max_length": int(data_cfg.max_length),
        "length_percentiles": length_percentiles(train.full_lengths),
        "truncated_share": float(train.truncated.mean()) if len(train.lengths) else 0.0,
    }
