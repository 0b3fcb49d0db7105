"""seq-cls: the sequence model against the summary-statistics baseline, on the same split of the built-in signals.

`aiaas train seq-cls` then `aiaas evaluate seq-cls --json` in a fresh workspace, per model and seed. The report's
baseline is HistGradientBoosting on per-feature summary statistics (mean, std, min, max, quantiles, mean step
size, length) fitted on the same train split and scored on the same test split. The built-in classes come in
time-reversed pairs, so order-free statistics cannot tell a pair apart. Target (issue 10): the LSTM beats the
baseline by at least 5 points of accuracy.

    .venv/bin/python -m benchmarks.bench_seq_cls                        (--models seq_lstm seq_cnn --seeds 0 1)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TARGET_POINTS = 5.0


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def measure(env: dict, model: str, seed: int, extra: list[str]) -> dict:
    start = time.perf_counter()
    trained = aiaas(env, "train", "seq-cls", f"model={model}", f"seed={seed}", f"data.split.seed={seed}", *extra)
    train_s = time.perf_counter() - start
    evaluated = aiaas(env, "evaluate", "seq-cls", f"run={trained['run_id']}")
    return {"model": model, "seed": seed, "train_s": train_s, "epochs": trained.get("epochs"), **evaluated["metrics"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["seq_lstm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("overrides", nargs="*", help="extra config overrides, e.g. trainer.max_epochs=5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIAAS_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        rows = [measure(env, model, seed, args.overrides) for model in args.models for seed in args.seeds]
    print(f"\nseq-cls on the built-in signals (test split); baseline: {rows[0]['baseline']['name']}")
    print(f"{'model':>9} {'seed':>4}  {'accuracy model/base':>21}  {'macro-F1 model/base':>21}  {'points':>6}  "
          f"{'epochs':>6}  {'train s':>7}  result")  # fmt: skip
    for row in rows:
        base = row["baseline"]
        points = (row["accuracy"] - base["accuracy"]) * 100
        verdict = "PASS" if points >= TARGET_POINTS else "FAIL"
        print(f"{row['model']:>9} {row['seed']:>4}  {row['accuracy']:>9.4f} / {base['accuracy']:<9.4f}  "
              f"{row['macro_f1']:>9.4f} / {base['macro_f1']:<9.4f}  {points:>6.1f}  {row['epochs']!s:>6}  "
              f"{row['train_s']:>7.1f}  {verdict}")  # fmt: skip
    print(f"target: model accuracy >= baseline + {TARGET_POINTS:g} points")


if __name__ == "__main__":
    main()
