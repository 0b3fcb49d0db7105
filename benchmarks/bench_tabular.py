"""tabular-cls / tabular-reg: the default model against the HistGradientBoosting baseline, on the same splits.

For each recipe's built-in default (wine for tabular-cls, diabetes for tabular-reg) and each split seed,
`aiaas train` then `aiaas evaluate --json`; the evaluation report's baseline is a default scikit-learn
HistGradientBoosting trained on the same train split and scored on the same test split. The test splits are
small (27 wine rows: one row is 3.7 points; 66 diabetes rows), so besides the default seed (42) the mean over
several seeds is shown. Targets: wine accuracy within 3 points of the baseline or better; diabetes R² within
0.05 of it or better. CPU training must stay quick: train seconds are shown.

    .venv/bin/python -m benchmarks.bench_tabular                     (--seeds 42 0 1 2 3 --model mlp)
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

AIAAS = str(Path(sys.executable).with_name("aiaas"))
TARGETS = {"tabular-cls": ("accuracy", 0.03), "tabular-reg": ("r2", 0.05)}  # headline, allowed shortfall


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def measure(env: dict, recipe: str, seed: int, model: str) -> dict:
    """Train and evaluate one split seed; the report's metrics and the train command's wall time."""
    start = time.perf_counter()
    trained = aiaas(env, "train", recipe, f"model={model}", f"data.split.seed={seed}")
    train_s = time.perf_counter() - start
    evaluated = aiaas(env, "evaluate", recipe, f"run={trained['run_id']}")
    return {"seed": seed, "train_s": train_s, "metrics": evaluated["metrics"], "run_id": trained["run_id"]}


def verdict(model: float, baseline: float, gap: float) -> str:
    return "PASS" if model >= baseline - gap else "FAIL"


def report(recipe: str, rows: list[dict]) -> None:
    headline, gap = TARGETS[recipe]
    names = [k for k in rows[0]["metrics"]["baseline"] if k != "name"]
    print(f"\n{recipe} ({rows[0]['metrics']['baseline'].get('name')} as the baseline); target: {headline} "
          f"model >= baseline - {gap}")  # fmt: skip
    print(f"{'seed':>5}  " + "  ".join(f"{n + ' model/base':>22}" for n in names) + f"  {'train s':>8}  result")
    for row in rows:
        metrics = row["metrics"]
        cells = "  ".join(f"{metrics[n]:>10.4f} / {metrics['baseline'][n]:<9.4f}" for n in names)
        result = verdict(metrics[headline], metrics["baseline"][headline], gap)
        print(f"{row['seed']:>5}  {cells}  {row['train_s']:>8.1f}  {result}")
    mean = {n: sum(r["metrics"][n] for r in rows) / len(rows) for n in names}
    base = {n: sum(r["metrics"]["baseline"][n] for r in rows) / len(rows) for n in names}
    cells = "  ".join(f"{mean[n]:>10.4f} / {base[n]:<9.4f}" for n in names)
    train = sum(r["train_s"] for r in rows) / len(rows)
    print(f"{'mean':>5}  {cells}  {train:>8.1f}  {verdict(mean[headline], base[headline], gap)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1, 2, 3], help="data.split.seed values")
    parser.add_argument("--model", default="mlp", help="model=mlp (default) or hist_gb")
    parser.add_argument("--recipes", nargs="+", default=list(TARGETS))
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; model={args.model}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-tabular-") as home:
        env = {**os.environ, "AIAAS_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        for recipe in args.recipes:
            report(recipe, [measure(env, recipe, seed, args.model) for seed in args.seeds])
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
