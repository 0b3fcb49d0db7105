"""Annotated sentences -> the dataset dir: splits, spans checked against the words, a tokenizer trained on train.

Files per split: ``{split}_ids.npy`` (R, max_length) sub-token ids padded with 0, ``{split}_tags.npy`` the tag
index on each word's first sub-token and -100 elsewhere, ``{split}_sentence.npy`` the sentence each row
belongs to (a long sentence takes several rows), ``{split}_records.jsonl`` the texts and their entities; plus
``tokenizer.json`` and what the manifest says.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.splits import SPLITS
from aiaas_recipes.common.text.tokenizer import TOKENIZER_FILE
from aiaas_recipes.token_cls import builtin, encoding, sources
from aiaas_recipes.token_cls import tags as tagging
from aiaas_recipes.token_cls.records import Record, RecordError

IGNORE = -100  # the loss and the metrics skip this position (a word's later sub-tokens, padding)


def check_settings(data_cfg) -> None:
    """Reject settings that would give empty inputs or overlapping splits."""
    val, test = data_cfg.split.val, data_cfg.split.test
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"data.split.val={val} and data.split.test={test} must be fractions summing to less than 1")
    for key, value in (("max_length", data_cfg.max_length), ("tokenizer.vocab_size", data_cfg.tokenizer.vocab_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 4:
            raise ConfigError(f"data.{key}={value} must be an integer of at least 4")
    for split in SPLITS:
        size = data_cfg.builtin[split]
        if not isinstance(size, int) or size < (1 if split == "train" else 0):
            raise ConfigError(f"data.builtin.{split}={size} must be a whole number of sentences")


def source(data_cfg) -> Path | None:
    """The user's file or folder (data.path), or None for the built-in corpus."""
    if not data_cfg.path:
        return None
    path = Path(str(data_cfg.path)).expanduser().resolve()
    if not path.exists():
        raise ConfigError(f"data.path={path} does not exist")
    return path


def carve(pool: list[Record], missing: list[str], split_cfg) -> dict[str, list[Record]]:
    """A seeded random cut of ``pool`` into train and the ``missing`` held-out splits."""
    order = np.random.default_rng(split_cfg.seed).permutation(len(pool))
    parts, taken = {}, 0
    for name in missing:
        count = int(round(len(pool) * float(split_cfg[name])))
        parts[name] = [pool[i] for i in order[taken : taken + count]]
        taken += count
    parts["train"] = [pool[i] for i in order[taken:]]
    return parts


def user_splits(path: Path, data_cfg) -> tuple[dict[str, list[Record]], dict]:
    """The user's sentences by split: files named train/dev/test keep theirs, the rest is cut at random."""
    by_split = sources.read(path, data_cfg)
    skipped = [item for corpus in by_split.values() for item in corpus.skipped]
    pool = [*by_split.get(None, sources.Corpus()).records, *by_split.get("train", sources.Corpus()).records]
    named = {name: by_split[name].records for name in ("val", "test") if name in by_split}
    parts = {**carve(pool, [n for n in ("val", "test") if n not in named], data_cfg.split), **named}
    schemes = sorted({s for corpus in by_split.values() for s in corpus.schemes})
    repaired = sum(corpus.repaired for corpus in by_split.values())
    return parts, {"source": str(path), "skipped": skipped, "schemes": schemes, "repaired_tags": repaired}


def aligned(parts: dict[str, list[Record]], skipped: list[dict], segmenter=None) -> dict[str, list[Record]]:
    """Drop sentences without words or with an entity that starts or ends inside a word (reported); words as
    ``segmenter`` (a hub model's tokenizer) splits them, else as the recipe's own tokenizer does."""
    segmenter, kept = segmenter or encoding.segmenter(), {}
    for name, records in parts.items():
        kept[name] = []
        for record in records:
            try:
                word_entities(encoding.word_spans(segmenter, record.text), record)
                kept[name].append(record)
            except RecordError as exc:
                skipped.append({"file": record.where or f"{name} sentence", "reason": str(exc)})
    return kept


def word_entities(spans: np.ndarray, record: Record) -> list[tuple[int, int, str]]:
    """The record's entities as word ranges; raises RecordError when one does not fall on word boundaries."""
    if len(spans) == 0:
        raise RecordError("no words in the text")
    firsts = {int(start): i for i, start in enumerate(spans[:, 0])}
    lasts = {int(end): i for i, end in enumerate(spans[:, 1])}
    found = []
    for start, end, kind in record.entities:
        if start not in firsts or end not in lasts:
            piece = record.text[start:end]
            raise RecordError(f"entity {start}-{end} ({piece!r}, {kind}) starts or ends inside a word")
        found.append((firsts[start], lasts[end] + 1, kind))
    return found


def remove_leakage(parts: dict[str, list[Record]]) -> tuple[dict[str, list[Record]], dict]:
    """Drop from val and test every sentence an earlier split (train, then val) already holds."""
    seen = {record.text for record in parts["train"]}
    removed = {}
    for name in ("val", "test"):
        kept = [record for record in parts.get(name, []) if record.text not in seen]
        removed[f"removed_from_{name}"] = len(parts.get(name, [])) - len(kept)
        parts[name] = kept
        seen.update(record.text for record in kept)
    return parts, removed


def encode_split(encode, records: list[Record], names: list[str], max_length: int) -> dict[str, np.ndarray]:
    """Rows of sub-token ids, the tag of each word on its first sub-token, and the sentence of each row (and the
    tokens in each row, for a hub model's attention mask). ``encode``: texts -> their ``Encoded`` rows."""
    index = {name: i for i, name in enumerate(names)}
    encoded = encode([r.text for r in records])
    total = sum(len(e.rows) for e in encoded)
    ids = np.zeros((total, max_length), dtype=np.int32)
    labels = np.full((total, max_length), IGNORE, dtype=np.int16)
    sentence = np.zeros(total, dtype=np.int32)
    row = 0
    for number, (record, enc) in enumerate(zip(records, encoded)):
        word_tags = tagging.from_spans(len(enc.spans), word_entities(enc.spans, record))
        ids[row : row + len(enc.rows)] = enc.rows
        labels[row + enc.positions[:, 0], enc.positions[:, 1]] = [index[t] for t in word_tags]
        sentence[row : row + len(enc.rows)] = number
        row += len(enc.rows)
    arrays = {"ids": ids, "tags": labels, "sentence": sentence}
    if encoded and getattr(encoded[0], "lengths", None) is not None:
        arrays["len"] = np.concatenate([e.lengths for e in encoded]).astype(np.int32)
    return arrays


def _write_split(out_dir: Path, name: str, arrays: dict[str, np.ndarray], records: list[Record]) -> None:
    for key, array in arrays.items():
        np.save(out_dir / f"{name}_{key}.npy", array)
    with (out_dir / f"{name}_records.jsonl").open("w", encoding="utf-8") as handle:
        # ASCII escapes: no raw U+2028/U+0085 that a line splitter would break a text on
        handle.writelines(json.dumps(record.to_json()) + "\n" for record in records)


def read_records(dataset_dir: Path, split: str) -> list[Record]:
    """The sentences of ``split``, in the order of its rows."""
    text = (Path(dataset_dir) / f"{split}_records.jsonl").read_text(encoding="utf-8")
    return [Record.from_json(json.loads(line)) for line in text.split("\n") if line]


def load_split(dataset_dir: Path, split: str) -> dict[str, np.ndarray]:
    """The split's sub-token ids, tags and sentence numbers, memory-mapped."""
    from aiaas_recipes.common.data.rows import open_split

    hub = ("len",) if (Path(dataset_dir) / f"{split}_len.npy").exists() else ()  # a hub model's row lengths
    return open_split(dataset_dir, split, ("ids", "tags", "sentence", *hub))


def _splits_and_origin(data_cfg) -> tuple[dict[str, list[Record]], dict]:
    path = source(data_cfg)
    if path is None:
        sizes = {split: int(data_cfg.builtin[split]) for split in SPLITS}
        origin = {"source": "built-in template sentences (the test split's names are never seen in training)"}
        corpus = builtin.generate(sizes, int(data_cfg.builtin.seed), bool(data_cfg.builtin.unseen_templates))
        return corpus, {**origin, "skipped": [], "repaired_tags": 0}
    return user_splits(path, data_cfg)


def build(data_cfg, out_dir: Path, hub=None, hub_info: dict | None = None) -> dict:
    """Read, split, check, de-leak, tokenize and write the dataset dir; return the manifest. ``hub``: a hub model's
    own tokenizer (``hub_tokens.HubTokenizer``) instead of one trained here; ``hub_info`` goes into the manifest."""
    check_settings(data_cfg)
    parts, origin = _splits_and_origin(data_cfg)
    parts = aligned(parts, origin["skipped"], hub.tokenizer if hub else None)
    parts, leakage = remove_leakage(parts)
    if not parts["train"]:
        raise ConfigError("no usable training sentences", "see the skipped sentences and their reasons above")
    counts = {name: Counter(kind for r in records for _, _, kind in r.entities) for name, records in parts.items()}
    types = sorted(set().union(*counts.values()))
    if not types:
        raise ConfigError("the data holds no entities", "tag some words B-TYPE/I-TYPE, or give entities spans")
    warnings = _warnings(origin, counts, types)
    tok, encode, kind = _encoder(data_cfg, parts["train"], hub)
    (out_dir / TOKENIZER_FILE).write_text(tok.to_str(), encoding="utf-8")
    names, rows = tagging.tag_names(types), {}
    for name in SPLITS:
        arrays = encode_split(encode, parts[name], names, int(data_cfg.max_length))
        _write_split(out_dir, name, arrays, parts[name])
        rows[name] = len(arrays["ids"])
    return {
        **origin,
        "types": types,
        "tags": names,
        "splits": {name: len(parts[name]) for name in SPLITS},
        "rows": rows,
        "entities": {name: {t: counts[name].get(t, 0) for t in types} for name in SPLITS},
        "skipped_what": "sentence(s)",
        "duplicates": {**leakage, "cross_split_groups": 0},  # 0: the crossing copies were removed
        "tokenizer": {"file": TOKENIZER_FILE, "kind": kind, "vocab_size": tok.get_vocab_size()},
        **({"hub": hub_info} if hub_info else {}),
        "max_length": int(data_cfg.max_length),
        "warnings": warnings,
    }


def _encoder(data_cfg, train: list[Record], hub):
    """(tokenizer, texts -> their rows, kind): a WordPiece tokenizer trained on ``train``, or a hub model's own."""
    from functools import partial

    if hub is not None:
        from aiaas_recipes.token_cls import hub_encoding

        return hub.tokenizer, partial(hub_encoding.encode_many, hub), "hub"
    tok = encoding.train((r.text for r in train), data_cfg.tokenizer.vocab_size, data_cfg.tokenizer.min_frequency)
    return tok, partial(encoding.encode_many, tok, max_length=int(data_cfg.max_length)), "wordpiece"


def _warnings(origin: dict, counts: dict[str, Counter], types: list[str]) -> list[str]:
    lines = []
    if origin.get("repaired_tags"):
        lines.append(f"repaired {origin['repaired_tags']} I- tag(s) that continued no entity (read as B-)")
    unseen = [t for t in types if not counts["train"].get(t)]
    if unseen:
        lines.append(f"entity type(s) {', '.join(unseen)} never occur in the train split: the model cannot learn them")
    return lines  # the preprocess stage shows them
