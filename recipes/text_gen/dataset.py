"""The dataset dir of text-gen: per split, rows of token ids with their loss labels (documents packed into blocks,
instructions one per row with the loss on the answer only), the held-out instructions as text for exact match, and
the tokenizer with its chat template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError
from aiaas_recipes.text_gen import chat, sources, tokens
from aiaas_recipes.text_gen.sources import Corpus, Example

IGNORE = -100  # labels the loss skips: prompts and padding
TOKENIZER_FILE = "tokenizer.json"
SPLITS = ("train", "val", "test")


def check_settings(data_cfg: Any) -> None:
    if int(data_cfg.block_size) < 8:
        raise ConfigError(f"data.block_size must be at least 8, got {data_cfg.block_size}")
    if data_cfg.path and not Path(str(data_cfg.path)).expanduser().exists():
        raise ConfigError(f"data.path={data_cfg.path} does not exist")
    if float(data_cfg.split.val) + float(data_cfg.split.test) >= 1:
        raise ConfigError("data.split.val + data.split.test must be below 1")


def read_splits(data_cfg: Any, skipped: list[dict]) -> dict[str, Corpus]:
    if not data_cfg.path:
        return sources.builtin(int(data_cfg.split.seed), data_cfg.get("max_rows"))
    corpus = sources.read(Path(str(data_cfg.path)).expanduser(), str(data_cfg.encoding), skipped)
    if not corpus.documents and not corpus.examples:
        from aiaas_cli.errors import UserError

        raise UserError(f"no text or instruction found in {data_cfg.path}", "give .txt files or .jsonl instructions")
    return sources.split(corpus, float(data_cfg.split.val), float(data_cfg.split.test), int(data_cfg.split.seed))


def prompt_text(info: dict, messages: list[dict]) -> str:
    """The conversation rendered with the model's chat template, up to the opening of the assistant's turn."""
    return chat.render(info["chat_template"], messages, True, bos_token=info["bos_token"], eos_token=info["eos_token"])


def training_texts(corpus: Corpus, info: dict) -> list[str]:
    """What a new tokenizer learns from: the documents and the rendered instructions with their answers."""
    return corpus.documents + [prompt_text(info, e.messages) + e.answer for e in corpus.examples]


def encode_example(tok: Any, info: dict, example: Example) -> tuple[list[int], list[int]]:
    """(ids, labels) of one instruction: the prompt's labels ignored, the answer's and the end token's kept."""
    prompt = tok.encode(prompt_text(info, example.messages), add_special_tokens=False).ids
    answer = tok.encode(example.answer, add_special_tokens=False).ids + [info["eos_id"]]
    return prompt + answer, [IGNORE] * len(prompt) + answer


def pack(tok: Any, documents: list[str], eos: int, block: int) -> list[list[int]]:
    """The documents' ids, each ended by the end token, cut into blocks (a last short block is kept)."""
    stream: list[int] = []
    for encoding in tok.encode_batch([d for d in documents], add_special_tokens=False):
        stream += encoding.ids + [eos]
    return [stream[i : i + block] for i in range(0, len(stream), block) if len(stream[i : i + block]) > 1]


def rows_of(tok: Any, info: dict, corpus: Corpus, block: int, skipped: list[dict], split: str) -> tuple:
    ids = pack(tok, corpus.documents, info["eos_id"], block)
    labels = [list(row) for row in ids]
    for number, example in enumerate(corpus.examples, 1):
        row, label = encode_example(tok, info, example)
        if len(row) > block:
            skipped.append({"file": f"{split} instruction {number}", "reason": f"{len(row)} tokens > data.block_size"})
            continue
        ids.append(row)
        labels.append(label)
    return ids, labels


def write_rows(out_dir: Path, split: str, ids: list[list[int]], labels: list[list[int]], pad: int, block: int) -> int:
    longest = max([len(r) for r in ids] + [1])
    width = min(block, longest)
    array = np.full((len(ids), width), pad, dtype=np.int32)
    target = np.full((len(ids), width), IGNORE, dtype=np.int32)
    lengths = np.zeros(len(ids), dtype=np.int32)
    for i, (row, label) in enumerate(zip(ids, labels)):
        array[i, : len(row)], target[i, : len(row)], lengths[i] = row, label, len(row)
    np.save(out_dir / f"{split}_ids.npy", array)
    np.save(out_dir / f"{split}_labels.npy", target)
    np.save(out_dir / f"{split}_len.npy", lengths)
    return len(ids)


def write_examples(out_dir: Path, split: str, info: dict, examples: list[Example]) -> None:
    """The held-out instructions as text: prompt as rendered, and the answer exact match compares with."""
    with (out_dir / f"{split}_examples.jsonl").open("w", encoding="utf-8") as handle:
        for e in examples:
            record = {"prompt": prompt_text(info, e.messages), "answer": e.answer, "task": e.task,
                      "messages": e.messages}  # fmt: skip
            handle.write(json.dumps(record) + "\n")


def read_examples(dataset_dir: Path, split: str) -> list[dict]:
    path = Path(dataset_dir) / f"{split}_examples.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build(cfg: Any, out_dir: Path, hub_info: dict | None) -> dict:
    """Write the dataset dir; ``hub_info``: a hub model's tokenizer (tokens.hub), else a BPE is trained here."""
    from tokenizers import Tokenizer

    data_cfg = cfg.data
    check_settings(data_cfg)
    skipped: list[dict] = []
    splits = read_splits(data_cfg, skipped)
    if hub_info is None:
        base = {"chat_template": None, "bos_token": "", "eos_token": tokens.EOS}
        info = tokens.own(training_texts(splits["train"], base), int(data_cfg.tokenizer.vocab_size))
    else:
        info = hub_info
    tok = Tokenizer.from_str(info["tokenizer"])
    (out_dir / TOKENIZER_FILE).write_text(info["tokenizer"], encoding="utf-8")
    block, counts = int(data_cfg.block_size), {}
    for split in SPLITS:
        ids, labels = rows_of(tok, info, splits[split], block, skipped, split)
        counts[split] = write_rows(out_dir, split, ids, labels, info["pad_id"], block)
        write_examples(out_dir, split, info, splits[split].examples)
    if counts["train"] == 0:
        from aiaas_cli.errors import UserError

        raise UserError("no training rows: every text was unreadable or longer than data.block_size")
    return {
        "splits": counts,
        "skipped": skipped,
        "skipped_what": "unusable line(s) or file(s)",
        "block_size": block,
        "vocab": tok.get_vocab_size(),
        "documents": {s: len(splits[s].documents) for s in SPLITS},
        "examples": {s: len(splits[s].examples) for s in SPLITS},
        "tokens": {key: info[key] for key in ("eos_id", "pad_id", "chat_template", "eos_token", "bos_token")},
        "hub": hub_info is not None,
    }
