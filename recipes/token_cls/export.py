"""What the export stage needs from token-cls: example ids, names, dynamic axes, metadata, held-out rows, scores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.common.text.export import INPUT_NAME, OUTPUT_NAME, ids_export_spec
from aiaas_recipes.token_cls.dataset import load_split


@dataclass
class Targets:
    """The true tags of exported sample rows and the tag names (what `score_outputs` needs)."""

    tags: np.ndarray  # (N, T) tag index on first sub-tokens, -100 elsewhere
    names: list[str]

    def __len__(self) -> int:
        return len(self.tags)


def export_spec(network, meta: dict) -> ExportSpec:
    """A (2, max_length) example with symbolic batch and sequence axes; the tokenizer rides in the metadata."""
    own = {"labels": list(meta["tags"]), "types": list(meta["types"])}
    return ids_export_spec(meta, {0: "batch", 1: "sequence"}, own)


def samples(dataset_dir: Path, split: str, limit: int, names: list[str], seed: int = 0) -> tuple[dict, Targets]:
    """A seeded subset of ``split``'s rows, cut to their longest row: the parity check then runs at another
    sequence length than the export's example (the sequence axis must really be symbolic)."""
    arrays = load_split(dataset_dir, split)
    pick = np.sort(np.random.default_rng(seed).permutation(len(arrays["ids"]))[:limit])
    if "len" in arrays:  # a hub model's rows: ids and attention mask
        from aiaas_recipes.token_cls.hub import samples as hub_samples

        feeds, tags, _ = hub_samples(arrays, pick)
        return feeds, Targets(tags, list(names))
    ids = arrays["ids"][pick].astype(np.int64)
    longest = max(int((ids != 0).sum(1).max()), 1) if len(ids) else 1
    return {INPUT_NAME: ids[:, :longest]}, Targets(arrays["tags"][pick][:, :longest].astype(np.int64), list(names))


def compare(expected: dict, actual: dict) -> Parity:
    """The share of sentences whose best tag is the same at every position (the largest logit difference is
    reported)."""
    from aiaas_recipes.common.parity import max_abs, sequences

    want, got = np.asarray(expected[OUTPUT_NAME]), np.asarray(actual[OUTPUT_NAME])
    return sequences(list(want.argmax(-1)), list(got.argmax(-1)), "tag_agreement", max_abs(want, got))


def score(outputs: dict, targets: Targets) -> float:
    """Entity F1 of raw outputs, each row decoded as a sentence (judges int8 quantization)."""
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    from aiaas_recipes.token_cls.decode import Decoder, word_tags

    pairs = word_tags(Decoder(targets.names), np.asarray(outputs[OUTPUT_NAME]), targets.tags)
    gold, predicted = zip(*pairs) if pairs else ((), ())
    return float(f1_score(list(gold), list(predicted), mode="strict", scheme=IOB2, zero_division=0))
