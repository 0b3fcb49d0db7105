"""forecast, model=auto: the candidates' leaderboards side by side on the built-in series and real statsmodels series,
beside statsforecast's AutoARIMA and AutoETS with default settings applied by hand to the same split.

Per series: the series is written as a CSV (date,value), `aiaas pipeline forecast data.path=... --json` runs with
model=auto (the default), and its leaderboard (every candidate's val and test MASE, the served one marked) is printed.
The by-hand line fits statsforecast's AutoARIMA / AutoETS (season_length = the recipe's season, nothing else set) on
everything before the test part and forecasts each test origin with the model's `forward` over the whole history
before it, as a user of the library would; MASE on the recipe's scale. Test origins: every horizon-th step of the
test part (data.eval_stride=horizon) for the pipeline and the by-hand line alike.

Checks: the served model's test MASE <= seasonal naive's on every real series; the served model is the candidate
chosen on validation (its test MASE is the leaderboard's chosen row).

    .venv/bin/python -m benchmarks.bench_candidates_forecast                 (--series co2 elnino ..., --keep DIR)
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

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
BY_HAND_MAX_SEASON = 24  # statsforecast's seasonal AutoARIMA on a 52-week season runs for many minutes here


def _elnino(folder: Path) -> Path:
    from statsmodels.datasets import elnino

    frame = elnino.load_pandas().data
    rows = [(f"{int(year)}-{month:02d}-01", value) for year, *months in frame.itertuples(index=False)
            for month, value in enumerate(months, start=1)]  # fmt: skip
    return _write(folder / "elnino.csv", rows)


def _sunspots(folder: Path) -> Path:
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return _write(folder / "sunspots.csv", [(int(y), v) for y, v in zip(frame["YEAR"], frame["SUNACTIVITY"])])


def _quarterly(name: str, column: str):
    def write(folder: Path) -> Path:
        import importlib

        frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
        if "year" in frame:
            dates = [f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(frame["year"], frame["quarter"])]
        else:
            dates = [str(t)[:10] for t in frame.index]
        return _write(folder / f"{name}_{column}.csv", list(zip(dates, frame[column])))

    return write


def _write(path: Path, rows: list) -> Path:
    path.write_text("date,value\n" + "".join(f"{t},{float(v):.6g}\n" for t, v in rows))
    return path


# name: (writer (None: the built-in series), overrides, context_length); horizon and context sized to each series'
# length and season (--context-scale multiplies the real series' context: a statistical model re-reads only that)
SERIES = {
    "co2": (None, ["data.eval_stride=13"], None),
    "elnino": (_elnino, ["horizon=12", "data.eval_stride=12"], 36),
    "sunspots": (_sunspots, ["data.season=11", "horizon=11", "data.eval_stride=11"], 33),
    "macro_unemp": (_quarterly("macrodata", "unemp"), ["horizon=4", "data.eval_stride=4"], 16),
    "danish_lrm": (_quarterly("danish_data", "lrm"), ["horizon=4", "data.eval_stride=4"], 12),
    "inflation_dp": (_quarterly("interest_inflation", "Dp"), ["horizon=4", "data.eval_stride=4"], 12),
}
# --before: the statistical candidates as they were before the refit (fit on train only, reading context_length steps)
BEFORE = ["model.refit=false"]


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def by_hand(dataset_dir: Path, stride: int) -> dict[str, float | str]:
    """statsforecast's AutoARIMA and AutoETS, default settings, fitted on train+val, forwarded to each test origin."""
    from statsforecast.models import AutoARIMA, AutoETS

    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    y = np.load(dataset_dir / "series.npy")[:, 0].astype(np.float64)
    horizon, season, start = int(manifest["horizon"]), int(manifest["season"]), manifest["boundaries"]["test_start"]
    origins = np.arange(max(start, int(manifest["context_length"])), len(y) - horizon + 1, stride)
    found: dict[str, float | str] = {}
    for name, model in (("AutoARIMA", AutoARIMA(season_length=season)), ("AutoETS", AutoETS(season_length=season))):
        if name == "AutoARIMA" and season > BY_HAND_MAX_SEASON:
            found[name] = f"skipped (season {season})"
            continue
        model.fit(y[:start])
        errors = [np.abs(model.forward(y=y[:o], h=horizon)["mean"] - y[o : o + horizon]).mean() for o in origins]
        found[name] = float(np.mean(errors) / manifest["mase_scale"][0])
    return found


def measure(env: dict, name: str, folder: Path, context_scale: float, extra: list[str]) -> dict:
    writer, overrides, context = SERIES[name]
    data = [] if writer is None else [f"data.path={writer(folder)}"]
    if context:
        overrides = [*overrides, f"context_length={round(context * context_scale)}"]
    if "model.refit=false" in extra:  # the window read before, too
        overrides = [*overrides, f"data.history_length={round(context * context_scale) if context else 104}"]
    overrides = [*overrides, *extra]
    started = time.perf_counter()
    run = aiaas(env, "pipeline", "forecast", *data, *overrides, "export.register=false")
    seconds = time.perf_counter() - started
    stride = int(next(o for o in overrides if o.startswith("data.eval_stride=")).split("=")[1])
    return {"name": name, "seconds": seconds, "run": run, "by_hand": by_hand(Path(run["dataset_dir"]), stride)}


def report(row: dict) -> bool:
    run, metrics = row["run"], row["run"]["metrics"]
    naive = metrics["baselines"]["seasonal_naive"]["mase"]
    print(f"\n{row['name']}: season {run['season']}, horizon {run['horizon']}, context {run['context_length']}, "
          f"statistical window {run.get('history_length', run['context_length'])}, "
          f"{run['steps']} steps, "
          f"pipeline {row['seconds']:.0f} s, served model={run['chosen_model']}")  # fmt: skip
    print(f"{'candidate':>16} {'val MASE':>9} {'test MASE':>9} {'fit s':>7} {'ms/item':>8}")
    for entry in run["leaderboard"]:
        figures = [entry.get(k) for k in ("val", "test", "fit_s", "predict_ms")]
        text = " ".join(f"{v:>9.4f}" if v is not None else f"{'-':>9}" for v in figures)
        print(f"{entry['name']:>16} {text}{'  <- served' if entry['chosen'] else ''}")
    lines = {
        **{f"by hand {name}": value for name, value in row["by_hand"].items()},
        "baseline seasonal naive": naive,
        "baseline linear AR": metrics["baselines"]["linear_ar"]["mase"],
    }
    for name, value in lines.items():
        print(f"{name:>26}: test MASE {value:.4f}" if isinstance(value, float) else f"{name:>26}: {value}")
    chosen = next(entry for entry in run["leaderboard"] if entry["chosen"])
    same = abs(chosen["test"] - metrics["mase"]) < 1e-9
    beats = metrics["mase"] <= naive
    print(f"check: served test MASE {metrics['mase']:.4f} <= seasonal naive {naive:.4f}: {'PASS' if beats else 'FAIL'}"
          f"; served = chosen on val ({chosen['name']}): {'PASS' if same else 'FAIL'}")  # fmt: skip
    parity = run.get("parity") or {}
    print(f"export parity (ONNX Runtime vs the model's own forecast, scaled): max |diff| {parity.get('max_abs_diff')}")
    scored = [value for value in row["by_hand"].values() if isinstance(value, float)]
    if scored:
        print(f"served / best by-hand statsforecast: {metrics['mase'] / min(scored):.3f} (below 1: better)")
    return beats and same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="+", choices=list(SERIES), default=list(SERIES))
    parser.add_argument("--context-scale", type=float, default=1.0, help="x each real series' context_length")
    parser.add_argument("--keep", type=Path, help="write the series and the workspace here (else a temp dir)")
    parser.add_argument("--before", action="store_true", help="no refit on train+val, window = context_length")
    parser.add_argument("--no-backtest", action="store_true", help="rank on the val part only (model.backtest=0)")
    parser.add_argument("--candidates", help="model.candidates=[...] (e.g. seasonal_naive,drift,ets,theta,arima)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        home = Path(args.keep or temp)
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AIAAS_HOME": str(home), "BENTOML_HOME": str(home / "bentoml")}
        env.pop("MLFLOW_TRACKING_URI", None)
        extra = (BEFORE if args.before else []) + ([f"model.candidates=[{args.candidates}]"] if args.candidates else [])
        extra += ["model.backtest=0"] if args.no_backtest else []
        verdicts = [report(measure(env, name, home, args.context_scale, extra)) for name in args.series]
    print(f"\nall checks: {'PASS' if all(verdicts) else 'FAIL'} ({sum(verdicts)}/{len(verdicts)} series)")


if __name__ == "__main__":
    main()
