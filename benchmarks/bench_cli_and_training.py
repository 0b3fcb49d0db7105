"""CLI start-up time, and `aiaas train` against a hand-written PyTorch loop over the same preprocessed arrays.

Start-up: `aiaas --help` and `aiaas recipes` should stay well under 0.5 s and import no torch/MLflow/BentoML/
Lightning/ONNX Runtime; `python -c pass` is printed as the floor. Training: the real train stage (Lightning, MLflow
logging every step, checkpoints) and a plain loop with the same model, data order, optimiser, batch size, seed and
threads, alternated in one process because the machine is noisy. Targets: samples/s ratio >= 0.9, and in
deterministic mode the first epoch's per-step losses of the two agree to 4 decimals (largest difference printed).

    .venv/bin/python -m benchmarks.bench_cli_and_training        (or: make bench; --check exits 1 on a FAIL)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

AIAAS = str(Path(sys.executable).with_name("aiaas"))
HEAVY = {"torch", "mlflow", "bentoml", "pytorch_lightning", "lightning_fabric", "onnxruntime"}
START_COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "aiaas --help": [AIAAS, "--help"],
    "aiaas recipes": [AIAAS, "recipes"],
}
START_TARGET_S, RATIO_TARGET, LOSS_TARGET = 0.5, 0.9, 5e-5
BATCH = 64
# Both sides train the same thing: no augmentation or LR schedule, every step's loss logged, deterministic kernels.
OVERRIDES = [
    f"data.batch_size={BATCH}",
    "data.augment.pad_crop=0",
    "data.augment.hflip=false",
    "scheduler=none",
    "trainer.deterministic=true",
    "trainer.log_every_n_steps=1",
    "trainer.early_stopping.enabled=false",
]


@dataclass
class Training:
    """One training of either side: per-epoch samples/s, and the loss and end time of every step."""

    epoch_rates: list[float]
    losses: list[float]
    step_ends: list[float]  # seconds, any origin

    @property
    def samples_per_sec(self) -> float:
        """Median of the epochs after the first, as the Throughput callback reports it."""
        return statistics.median(self.epoch_rates[1:] or self.epoch_rates)

    def step_seconds(self, steps: int) -> list[float]:
        """Durations of the full-batch steps after the first epoch, each from the end of the step before it."""
        epochs = len(self.step_ends) // steps
        ends = self.step_ends
        return [ends[e * steps + j] - ends[e * steps + j - 1] for e in range(1, epochs) for j in range(1, steps - 1)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6, help="most trainings per side, alternated")
    parser.add_argument("--budget", type=float, default=200, help="seconds of training that no new repeat may exceed")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per training; the first is warm-up")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--cli-runs", type=int, default=9, help="subprocess runs per start-up command")
    parser.add_argument("--check", action="store_true", help="exit 1 if any target is missed")
    return parser.parse_args()


def wall_time(command: list[str], runs: int) -> float:
    """Median wall time of ``command`` as a fresh subprocess, after one untimed run that warms the file cache."""
    subprocess.run(command, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(command: list[str]) -> set[str]:
    """The heavy packages that ``command`` imports, from Python's -X importtime report."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines} & HEAVY


def preprocess(overrides: list[str]) -> Path:
    """The built-in digits through `aiaas preprocess`, as a user runs it; returns the dataset dir."""
    command = [AIAAS, "preprocess", "image-cls", *overrides, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return Path(json.loads(done.stdout)["dataset_dir"])


def aiaas_train(overrides: list[str], log) -> Training:
    """One `aiaas train` in this process; everything measured comes from its MLflow run: the per-epoch rates that
    the Throughput callback logs, and each step's loss with the time Lightning logged it."""
    from mlflow.tracking import MlflowClient

    from aiaas_cli import config, lifecycle, recipes

    recipe = recipes.load("image-cls")
    with contextlib.redirect_stderr(log):
        run_id = lifecycle.train(config.compose(recipe, overrides), recipe)["run_id"]

    def history(key: str) -> list:
        return sorted(MlflowClient().get_metric_history(run_id, key), key=lambda m: m.step)

    steps = history("train_loss_step")
    return Training(
        [m.value for m in history("train_samples_per_sec")],
        [m.value for m in steps],
        [m.timestamp / 1e3 for m in steps],
    )


def plain_train(overrides: list[str], dataset_dir: Path) -> Training:
    """The loop one writes by hand: same arrays and normalisation, SmallCNN, AdamW, batch order, seed and threads."""
    from aiaas_cli import config, recipes
    from aiaas_recipes.image_cls.model import SmallCNN

    cfg = config.compose(recipes.load("image-cls"), overrides)
    torch.set_num_threads(cfg.trainer.threads)
    torch.use_deterministic_algorithms(True)
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    mean, std = (torch.tensor(manifest[key]).view(1, 3, 1, 1) for key in ("mean", "std"))
    # permute keeps the images' NHWC memory order (channels_last), as the datamodule's batches have it.
    images = torch.from_numpy(np.load(dataset_dir / "train_x.npy")).permute(0, 3, 1, 2).float().div(255)
    images = images.sub(mean).div(std)
    labels = torch.from_numpy(np.load(dataset_dir / "train_y.npy")).long()

    torch.manual_seed(cfg.seed)
    net = SmallCNN(len(manifest["classes"]), list(cfg.model.channels), cfg.model.dropout)
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    net.train()
    done = Training([], [], [])
    for epoch in range(cfg.trainer.max_epochs):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(cfg.seed + epoch))
        start = time.perf_counter()
        for batch in order.split(cfg.data.batch_size):
            loss = F.cross_entropy(net(images[batch]), labels[batch], label_smoothing=cfg.loss.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done.losses.append(loss.item())
            done.step_ends.append(time.perf_counter())
        done.epoch_rates.append(len(labels) / (done.step_ends[-1] - start))
    return done


def train_both(args: argparse.Namespace, overrides: list[str], dataset_dir: Path, log_path: Path) -> list[dict]:
    """Alternate the sides (aiaas first on even repeats) so that drifting load hits both alike; no repeat is started
    that would, at the average pace so far, end past the budget."""
    reps, started, elapsed = [], time.perf_counter(), 0.0
    with log_path.open("w") as log:
        while len(reps) < args.repeats and (not reps or elapsed * (len(reps) + 1) / len(reps) <= args.budget):
            sides = {"aiaas": lambda: aiaas_train(overrides, log), "plain": lambda: plain_train(overrides, dataset_dir)}
            order = ["aiaas", "plain"] if len(reps) % 2 == 0 else ["plain", "aiaas"]
            rep = {side: sides[side]() for side in order}
            steps = len(rep["plain"].losses) // args.epochs
            pairs = zip(rep["aiaas"].losses[:steps], rep["plain"].losses[:steps], strict=True)
            rep.update(steps=steps, diff=max(abs(a - b) for a, b in pairs))
            reps.append(rep)
            elapsed = time.perf_counter() - started
            print(
                f"  repeat {len(reps)} ({' then '.join(order)}): samples/s per epoch "
                + "; ".join(f"{side} {', '.join(f'{r:.0f}' for r in rep[side].epoch_rates)}" for side in sides)
                + f"; max |loss diff| {rep['diff']:.1e}",
                flush=True,
            )
    return reps


def row(name: str, value: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("PASS" if ok else "FAIL")
    return f"{name:<50}{value:>12}  {target:<10}{verdict}"


def ratios(reps: list[dict]) -> dict[str, tuple[float, float, float]]:
    """(aiaas, plain, ratio) two ways: the Throughput definition (median of epochs after the first; ratio = median
    of the paired per-repeat ratios), and from the median full-batch step time over all repeats."""
    epoch = {side: [r[side].samples_per_sec for r in reps] for side in ("aiaas", "plain")}
    paired = statistics.median(a / p for a, p in zip(epoch["aiaas"], epoch["plain"]))
    step = {
        side: BATCH / statistics.median(s for r in reps for s in r[side].step_seconds(r["steps"]))
        for side in ("aiaas", "plain")
    }
    return {
        "per epoch (Throughput)": (statistics.median(epoch["aiaas"]), statistics.median(epoch["plain"]), paired),
        "per step (median step time)": (step["aiaas"], step["plain"], step["aiaas"] / step["plain"]),
    }


def report(args, start: dict, heavy: dict, reps: list[dict], n_train: int, load: tuple[float, float]) -> bool:
    """Print the results table; True when every target is met."""
    imported = sorted(set().union(*heavy.values()))
    diff = max(r["diff"] for r in reps)
    print(
        f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average "
        f"{load[0]:.1f} at start, {load[1]:.1f} at end; torch {torch.__version__}, {args.threads} threads\n"
        f"digits: {n_train} training images 32x32, batch {BATCH}, {args.epochs} epochs x {len(reps)} repeats per side\n"
    )
    print(row("measure", "value", "target") + "result")
    oks = []
    for name, seconds in start.items():
        target = (f"< {START_TARGET_S} s", seconds < START_TARGET_S) if name.startswith("aiaas") else ()
        oks += target[1:]
        print(row(name, f"{seconds:.3f} s", *target))
    oks.append(not imported)
    print(row("heavy imports by --help / recipes", ", ".join(imported) or "none", "none", oks[-1]))
    for how, (aiaas, plain, ratio) in ratios(reps).items():
        print(row(f"aiaas train samples/s, {how}", f"{aiaas:.1f}"))
        print(row(f"plain loop samples/s, {how}", f"{plain:.1f}"))
        oks.append(ratio >= RATIO_TARGET)
        print(row(f"ratio aiaas / plain, {how}", f"{ratio:.3f}", f">= {RATIO_TARGET}", oks[-1]))
    oks.append(diff < LOSS_TARGET)
    loss_name = f"max |loss diff|, first epoch ({reps[0]['steps']} steps)"
    print(row(loss_name, f"{diff:.1e}", f"< {LOSS_TARGET:.0e}", oks[-1]))
    return all(oks)


def main() -> int:
    args = parse_args()
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    print(f"Start-up: median of {args.cli_runs} subprocess runs each", flush=True)
    start = {name: wall_time(command, args.cli_runs) for name, command in START_COMMANDS.items()}
    heavy = {name: heavy_imports(command) for name, command in START_COMMANDS.items() if name.startswith("aiaas")}
    overrides = [*OVERRIDES, f"trainer.max_epochs={args.epochs}", f"trainer.threads={args.threads}"]
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-") as home:
        os.environ["AIAAS_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)  # a throw-away local store, not the user's server
        print(f"Preprocessing the built-in digits into {home}", flush=True)
        dataset_dir = preprocess(overrides)
        n_train = len(np.load(dataset_dir / "train_y.npy"))
        log_path = Path(home) / "train.log"
        print(f"Training, alternated, up to {args.repeats} repeats or {args.budget:.0f} s (aiaas logs: {log_path})")
        try:
            reps = train_both(args, overrides, dataset_dir, log_path)
        except Exception:
            print(log_path.read_text()[-4000:], file=sys.stderr)
            raise
    ok = report(args, start, heavy, reps, n_train, (load_start, os.getloadavg()[0]))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
