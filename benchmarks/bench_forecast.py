"""forecast: the LSTM against seasonal-naive and linear-AR baselines on the held-out tail of the built-in series.

`aiaas train forecast` then `aiaas evaluate forecast --json` in a fresh workspace, per seed. The test part is the
last 20% of the Mauna Loa weekly CO2 record (statsmodels); every week of it is a forecast origin (rolling
origin), each forecasting `horizon` (13) weeks from the `context_length` (104) weeks before it. The baselines are
scored on exactly those windows: seasonal naive (the value 52 weeks earlier) and a linear autoregression (ridge
on the same scaled windows, one output per step ahead). Target (issue 10): the LSTM's MASE <= seasonal naive's.

    .venv/bin/python -m benchmarks.bench_forecast                       (--seeds 0 1 2, extra overrides after)
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
NAMES = ("mae", "rmse", "smape", "mase")


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def measure(env: dict, seed: int, extra: list[str]) -> dict:
    start = time.perf_counter()
    trained = aiaas(env, "train", "forecast", f"seed={seed}", *extra)
    train_s = time.perf_counter() - start
    evaluated = aiaas(env, "evaluate", "forecast", f"run={trained['run_id']}")
    return {"seed": seed, "train_s": train_s, "epochs": trained.get("epochs"), **evaluated["metrics"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("overrides", nargs="*", help="extra config overrides, e.g. trainer.max_epochs=5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIAAS_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        rows = [measure(env, seed, args.overrides) for seed in args.seeds]
    for row in rows:
        columns = {"LSTM": row, **{b["name"]: b for b in row["baselines"].values()}}
        print(f"\nforecast, seed {row['seed']}: {row['epochs']} epochs, train {row['train_s']:.1f} s (test part)")
        print(f"{'metric':>7}  " + "  ".join(f"{name:>28}" for name in columns))
        for name in NAMES:
            print(f"{name:>7}  " + "  ".join(f"{figures[name]:>28.4f}" for figures in columns.values()))
        verdict = "PASS" if row["mase"] <= row["baseline"]["mase"] else "FAIL"
        print(f"target: LSTM MASE {row['mase']:.4f} <= seasonal naive {row['baseline']['mase']:.4f}: {verdict}")


if __name__ == "__main__":
    main()
