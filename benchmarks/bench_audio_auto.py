"""audio-cls model=auto (pooled_lr and audio_cnn, the better on validation served) against the network alone.

For each model option, one `aiaas pipeline audio-cls` after the other (timed), then the served model (`aiaas predict`
through ONNX Runtime, the Bento's path) over every test recording, scored against its class folder; beside it the
test accuracy `evaluate` reports and the printed baseline (logistic regression on pooled log-mels, same split).

    .venv/bin/python -m benchmarks.bench_audio_auto --data foreign       (bench_audio_init's unseen voices)
    .venv/bin/python -m benchmarks.bench_audio_auto --data builtin --models audio_cnn auto -- trainer.max_epochs=2
    extra overrides go last, after "--" when --models comes before them
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_audio_init import AIAAS, write_foreign


def aiaas(env: dict, *args: str, json_out: bool = True) -> dict | str:
    done = subprocess.run([AIAAS, *args, *(["--json"] if json_out else [])], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout) if json_out else done.stdout


def served_accuracy(env: dict, run_id: str, test_dir: Path) -> tuple[float, int]:
    """The served model's accuracy over the test recordings (class = folder name) and how many were scored."""
    out = aiaas(env, "predict", "audio-cls", str(test_dir), "--model", f"run={run_id}", json_out=False)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    scored = [row for row in rows if "error" not in row]
    right = sum(Path(row["input"]).parent.name == row["label"] for row in scored)
    return right / max(len(scored), 1), len(scored)


def one(env: dict, data: list[str], model: str, test_dir: Path | None) -> dict:
    started = time.perf_counter()
    out = aiaas(env, "pipeline", "audio-cls", f"model={model}", *data)
    seconds = time.perf_counter() - started
    row = {"model": model, "seconds": seconds, "load": os.getloadavg()[0], **out}
    if test_dir is not None:
        row["served"], row["served_n"] = served_accuracy(env, out["run_id"], test_dir)
    return row


def report(rows: list[dict]) -> None:
    print(f"\n{'model':>10} {'chosen':>10} {'served':>7} {'evaluate':>9} {'baseline':>9} {'seconds':>8} {'load1':>6}")
    for row in rows:
        served = f"{row['served']:.4f}" if "served" in row else "-"
        metrics = row["metrics"]
        print(f"{row['model']:>10} {row.get('chosen_model', row['model']):>10} {served:>7} "
              f"{metrics['accuracy']:>9.4f} {metrics['baseline']['accuracy']:>9.4f} {row['seconds']:>8.0f} "
              f"{row['load']:>6.1f}")  # fmt: skip
        for entry in row.get("leaderboard") or []:
            print(f"{'':>12}{entry['name']:>10} val {entry['val']} fit {entry['fit_s']} s "
                  f"predict {entry['predict_ms']} ms/item{'  <- chosen' if entry['chosen'] else ''}")  # fmt: skip
        if "served" in row:
            p, n = metrics["baseline"]["accuracy"], row["served_n"]
            noise = 2 * math.sqrt(max(p * (1 - p), 1 / n) / n)  # two binomial standard errors on n test clips
            verdict = "PASS" if row["served"] >= p - noise else "FAIL"
            print(f"{'':>12}served {row['served']:.4f} vs baseline {p:.4f} - noise {noise:.4f} ({n} clips): {verdict}")
    if len(rows) == 2:
        print(f"time {rows[1]['model']} / {rows[0]['model']}: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("foreign", "builtin"), default="foreign")
    parser.add_argument("--models", nargs="+", default=["auto"], help="model= options, run one after the other")
    parser.add_argument("--home", help="an aiaas workspace to use (default: a new temporary one)")
    parser.add_argument("overrides", nargs="*", help="extra overrides for every pipeline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_home:
        home = Path(args.home or scratch_home).resolve()
        env = {**os.environ, "AIAAS_HOME": str(home)}
        env.pop("MLFLOW_TRACKING_URI", None)
        data, test_dir = list(args.overrides), None
        if args.data == "foreign":
            root = home / "foreign-keywords"
            if not root.exists():
                write_foreign(root)
            data, test_dir = [f"data.path={root}", *data], root / "test"
        aiaas(env, "preprocess", "audio-cls", *data)  # once: every pipeline then reads the cached dataset
        rows = [one(env, data, model, test_dir) for model in args.models]
    report(rows)


if __name__ == "__main__":
    main()
