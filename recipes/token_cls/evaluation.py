"""Entity-level precision/recall/F1 per type (seqeval, strict IOB2) of a network on one split, next to a
lexicon baseline: each word's most frequent tag in the train split (O for a word never seen there).

Scores are over words as the tokenizer's pre-tokenizer splits them; the entities' words are exactly their
character spans (the dataset checks that), so an entity counts as found only with the exact span and type.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from aiaas_recipes.common.report import add_baseline, scores_table
from aiaas_recipes.token_cls import encoding
from aiaas_recipes.token_cls import tags as tagging
from aiaas_recipes.token_cls.dataset import load_split, read_records, word_entities
from aiaas_recipes.token_cls.decode import Decoder, log_softmax

EXAMPLES = 8  # sentences with a wrong or missed entity shown in the report
HEADLINE = ("f1", "precision", "recall")


@torch.inference_mode()
def row_logits(network: torch.nn.Module, arrays: dict[str, np.ndarray], batch_size: int = 256) -> list[np.ndarray]:
    """Each row's logits over its real length (one (T, L) array per row), batches cut to their longest row. A hub
    model's rows ("len" among ``arrays``) also get their attention mask."""
    ids = arrays["ids"]
    lengths = np.asarray(arrays["len"]) if "len" in arrays else (ids != 0).sum(1)
    out: list[np.ndarray] = []
    for start in range(0, len(ids), batch_size):
        stop = start + batch_size
        longest = max(int(lengths[start:stop].max()), 1)
        inputs = [ids[start:stop, :longest].astype(np.int64)]
        if "len" in arrays:
            inputs.append((np.arange(longest)[None, :] < lengths[start:stop, None]).astype(np.int64))
        out.extend(network(*(torch.from_numpy(x) for x in inputs)).float().numpy())
    return out


def sentence_tags(network, dataset_dir: Path, split: str, names: list[str]) -> tuple[list, list]:
    """Gold and predicted BIO word tags per sentence, the rows of a long sentence decoded as one sequence."""
    arrays, decoder = load_split(dataset_dir, split), Decoder(names)
    logits = row_logits(network.eval(), arrays)
    scores: dict[int, list[np.ndarray]] = defaultdict(list)
    gold: dict[int, list[str]] = defaultdict(list)
    for row, sentence in enumerate(arrays["sentence"].tolist()):
        columns = np.flatnonzero(arrays["tags"][row] >= 0)
        scores[sentence].append(log_softmax(logits[row][columns].astype(np.float64)))
        gold[sentence] += [names[t] for t in arrays["tags"][row][columns]]
    order = sorted(gold)
    return [gold[s] for s in order], [decoder.tags(np.concatenate(scores[s])) for s in order]


def lexicon_tags(dataset_dir: Path, split: str) -> tuple[list, list]:
    """Gold tags and the lexicon baseline's tags per sentence of ``split``."""
    segmenter = encoding.segmenter()

    def words_and_tags(record):
        spans = encoding.word_spans(segmenter, record.text)
        words = [record.text[s:e] for s, e in spans.tolist()]
        return words, tagging.from_spans(len(words), word_entities(spans, record))

    seen: dict[str, Counter] = defaultdict(Counter)
    for record in read_records(dataset_dir, "train"):
        for word, tag in zip(*words_and_tags(record)):
            seen[word][tag] += 1
    gold, predicted = [], []
    for record in read_records(dataset_dir, split):
        words, tags = words_and_tags(record)
        guess = [seen[w].most_common(1)[0][0] if w in seen else tagging.OUTSIDE for w in words]
        gold.append(tags)
        predicted.append(tagging.to_bio(guess).tags)
    return gold, predicted


def scores(gold: list, predicted: list) -> dict:
    """Micro precision/recall/F1 over entities and the same per type (seqeval, strict IOB2)."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    per_type = {
        kind: {
            "precision": float(r["precision"]),
            "recall": float(r["recall"]),
            "f1": float(r["f1-score"]),
            "support": int(r["support"]),
        }  # fmt: skip
        for kind, r in report.items()
        if not kind.endswith(" avg")
    }
    totals = {"f1": float(micro["f1-score"]), "precision": float(micro["precision"]), "recall": float(micro["recall"])}
    return {**totals, "per_type": per_type, "entities": int(micro["support"])}


def mistakes(records, gold: list, predicted: list) -> list[dict]:
    """A few sentences whose predicted entities differ from the true ones."""
    shown = []
    for record, want, got in zip(records, gold, predicted):
        if want != got and len(shown) < EXAMPLES:
            shown.append({"text": record.text[:300], "true": want, "predicted": got})
    return shown


def evaluate_split(network, dataset_dir: Path, manifest: dict, split: str) -> dict:
    gold, predicted = sentence_tags(network, dataset_dir, split, manifest["tags"])
    report = scores(gold, predicted)
    baseline = scores(*lexicon_tags(dataset_dir, split))
    title = "Model vs lexicon baseline (entity level, same split)"
    add_baseline(report, baseline, "lexicon (most frequent tag of each train word)", title, HEADLINE, whole=True)
    report["mistakes"] = mistakes(read_records(dataset_dir, split), gold, predicted)
    return report


def per_type_table(report: dict):
    """A rich table: precision, recall, F1 and support per entity type, the micro figures as its caption."""
    caption = f"precision {report['precision']:.4f}   recall {report['recall']:.4f}   F1 {report['f1']:.4f}"
    return scores_table("Entities per type (strict, exact span and type)", "type", report.get("per_type", {}), caption)
