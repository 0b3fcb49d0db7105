"""BLEU and chrF (sacreBLEU) and ROUGE-1/2/L (rouge-score) of a network's decodes on one split, beside baselines:
the source copied as it is, and for summaries the lead-N sentences (N: the most that helps on the split); the
worst examples (lowest sentence chrF) go into the report and an artifact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from aiaas_recipes.common.report import baseline_entry, compare_table
from aiaas_recipes.seq2seq import decode, tokens
from aiaas_recipes.seq2seq.dataset import load_arrays, read_pairs

HEADLINE = ("bleu", "chrf")
ROUGE = ("rouge1", "rouge2", "rougeL")
EXAMPLES = 10


def scores(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (0-100, sacreBLEU's defaults) and mean ROUGE F1 (0-100)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    out = {
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
    }
    scorer = rouge_scorer.RougeScorer(list(ROUGE), use_stemmer=False)
    found = [scorer.score(r, h) for r, h in zip(references, hypotheses)]
    for key in ROUGE:
        out[key] = float(100 * np.mean([f[key].fmeasure for f in found])) if found else 0.0
    return out


def lead(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text``."""
    return " ".join(re.split(r"(?<=[.!?])\s+", text.strip())[:n])


def worst(pairs: list[dict], hypotheses: list[str], limit: int = EXAMPLES) -> list[dict]:
    """The ``limit`` examples with the lowest sentence chrF (the ones a person should look at first)."""
    import sacrebleu

    rows = [
        {
            "where": p["where"],
            "source": p["source"],
            "reference": p["target"],
            "hypothesis": h,
            "chrf": round(float(sacrebleu.sentence_chrf(h, [p["target"]]).score), 2),
        }
        for p, h in zip(pairs, hypotheses)
    ]
    rows.sort(key=lambda row: (row["chrf"], row["where"]))
    return [row for row in rows[:limit] if row["hypothesis"] != row["reference"]]


def baselines(sources: list[str], references: list[str], summaries: bool) -> dict[str, dict]:
    found = {"copy source": scores(references, sources)}
    if summaries:
        best = max(
            (scores(references, [lead(s, n) for s in sources]) | {"n": n} for n in (1, 2, 3)), key=lambda s: s["rougeL"]
        )
        found[f"lead-{best.pop('n')}"] = best
    return found


def evaluate_split(network, dataset_dir: Path, manifest: dict, split: str, meta: dict) -> dict:
    from aiaas_recipes.seq2seq.export import feeds_for, specials, torch_decode

    src, _ = load_arrays(dataset_dir, split)
    pairs = read_pairs(dataset_dir, split)
    tokenizer = tokens.load((Path(dataset_dir) / tokens.FILE).read_text(encoding="utf-8"))
    beam = int(meta.get("decoding", {}).get("beam_size", 1))
    outputs = torch_decode(
        network.eval(), meta, feeds_for(src, beam, int(manifest["max_target_tokens"]), specials(meta)["pad_id"])
    )
    hypotheses = [tokens.decode(tokenizer, ids) for ids in decode.sequences(outputs)]
    references, sources = [p["target"] for p in pairs], [p["source"] for p in pairs]
    report = {**scores(references, hypotheses), "sentences": len(pairs), "beam_size": beam}
    report["exact_match"] = float(np.mean([h == r for h, r in zip(hypotheses, references)])) if pairs else 0.0
    report["worst"] = worst(pairs, hypotheses)
    found = baselines(sources, references, bool(manifest.get("summaries")))
    name, best = max(found.items(), key=lambda item: item[1]["bleu"])
    report["baseline"] = baseline_entry(name, best)
    keys = (*HEADLINE, *ROUGE)
    report["compare"] = compare_table(f"{split} split ({len(pairs)} pairs)", {"model": report, **found}, keys)
    return report


def worst_table(report: dict):
    from rich.table import Table

    table = Table(title="Worst examples (lowest chrF)")
    for column in ("source", "reference", "hypothesis", "chrf"):
        table.add_column(column, justify="right" if column == "chrf" else "left", overflow="fold")
    for row in report.get("worst", [])[:5]:
        table.add_row(row["source"][:80], row["reference"][:80], row["hypothesis"][:80], f"{row['chrf']:.1f}")
    return table


def write_worst(report: dict, out_dir: Path) -> Path:
    path = Path(out_dir) / "worst_examples.json"
    path.write_text(json.dumps(report.get("worst", []), indent=2, ensure_ascii=False), encoding="utf-8")
    return path
