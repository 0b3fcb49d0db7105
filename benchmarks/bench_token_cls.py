"""token-cls: entity F1 on the built-in test split (names never seen in training), model vs lexicon baseline.

Runs `aiaas pipeline token-cls` with the default config (or ``--model ner_transformer``) on the built-in
template sentences; the test split's people, places and organisation stems come from pools disjoint from
the train split's, which the script checks (share of test entity strings, and of their words, found among the
train split's entities). The report's lexicon baseline (each word's most frequent train tag) is scored on the
same split with the same seqeval strict entity matching. Target: model entity F1 >= 0.85.

    .venv/bin/python -m benchmarks.bench_token_cls                 (--model ner_transformer; extra overrides after --)
    .venv/bin/python -m benchmarks.bench_token_cls --home DIR --run ID    (reuse a finished pipeline run)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from aiaas_recipes.token_cls.dataset import read_records

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TARGET_F1 = 0.85


def pipeline(home: Path, overrides: list[str]) -> dict:
    env = {**os.environ, "AIAAS_HOME": str(home)}
    start = time.perf_counter()
    command = [AIAAS, "pipeline", "token-cls", *overrides, "export.register=false", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas pipeline failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    result["wall_s"] = time.perf_counter() - start
    return result


def finished_run(home: Path, run_id: str) -> dict:
    """The metrics and dataset of a pipeline run already in ``home``."""
    os.environ["AIAAS_HOME"] = str(home)
    from aiaas_cli import config, recipes, tracking

    tracking.configure(config.compose(recipes.load("token-cls"), []))
    dataset = tracking.get_run(run_id).data.tags["aiaas.dataset_dir"]
    metrics = json.loads((home / "runs" / run_id / "evaluation" / "metrics.json").read_text())
    return {"run_id": run_id, "dataset_dir": dataset, "metrics": metrics, "wall_s": None}


def unseen(dataset: Path) -> dict[str, tuple[float, float]]:
    """Per type: the share of test entities whose text occurs among train entities, and of their words."""

    def entities(split):
        return [(r.text[s:e], k) for r in read_records(dataset, split) for s, e, k in r.entities]

    train = entities("train")
    seen_texts = {text for text, _ in train}
    seen_words = {word for text, _ in train for word in text.split()}
    shares = {}
    for kind in sorted({k for _, k in train}):
        test = [text for text, k in entities("test") if k == kind]
        words = [word for text in test for word in text.split()]
        shares[kind] = (
            sum(text in seen_texts for text in test) / max(len(test), 1),
            sum(word in seen_words for word in words) / max(len(words), 1),
        )
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an AIAAS_HOME holding a finished token-cls pipeline run")
    parser.add_argument("--run", help="that run's id (skips training)")
    parser.add_argument("--model", default="ner_bilstm", help="ner_bilstm or ner_transformer")
    parser.add_argument("overrides", nargs="*", help="more config overrides (after --)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-ner-") as tmp:
        overrides = [f"model={args.model}", *args.overrides]
        result = finished_run(args.home, args.run) if args.run else pipeline(Path(tmp), overrides)
        dataset = Path(result["dataset_dir"])
        manifest = json.loads((dataset / "manifest.json").read_text())
        shares = unseen(dataset)
    metrics, baseline = result["metrics"], result["metrics"]["baseline"]
    shown = "" if args.run else " ".join(overrides)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; run {result['run_id']}; {shown}")  # fmt: skip
    print(f"built-in sentences {manifest['splits']}, entities in test {manifest['entities']['test']}")
    print("test entities also among train entities (whole text / words):",
          ", ".join(f"{k} {a:.1%} / {b:.1%}" for k, (a, b) in shares.items()), "\n")  # fmt: skip
    print(f"{'entity level (seqeval strict)':<32}{'model':>10}{'lexicon':>10}")
    for key in ("f1", "precision", "recall"):
        print(f"{key:<32}{metrics[key]:>10.4f}{baseline[key]:>10.4f}")
    for kind, row in metrics["per_type"].items():
        print(f"{'F1 ' + kind:<32}{row['f1']:>10.4f}{baseline['per_type'].get(kind, {}).get('f1', 0.0):>10.4f}")
    verdict = "PASS" if metrics["f1"] >= TARGET_F1 else "FAIL"
    print(f"\ntarget: model entity F1 >= {TARGET_F1}: {metrics['f1']:.4f} {verdict}")
    if result["wall_s"]:
        print(f"aiaas pipeline token-cls (every stage, evaluation with baseline): {result['wall_s']:.0f} s")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
