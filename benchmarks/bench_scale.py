"""Training throughput on CPU with one process (devices=1) and two DDP processes (devices=2, gloo).

Each configuration trains image-cls on the built-in digits (small CNN, batch 64, one thread per process) through the
real `aiaas train` (Lightning, MLflow, checkpoints), alternating the two `--rounds` times because the machine is
shared and noisy. The figure is training samples per second summed over the processes: each process counts the
samples of its own shard (the `Throughput` callback, first epoch left out as warm-up). Two processes on a 2-core
machine that other jobs also use will not double it: the ratio and the load average are printed with it.
No GPU was lent to this task, so there is no precision=16-mixed figure here.

    .venv/bin/python -m benchmarks.bench_scale [--epochs 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

AIAAS = str(Path(sys.executable).with_name("aiaas"))
COMMON = ["train", "image-cls", "trainer.threads=1", "trainer.early_stopping.enabled=false", "--json"]
DEVICES = {1: [], 2: ["trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp"]}


def _train(home: Path, devices: int, epochs: int) -> float:
    """Samples/s of one training run, summed over its processes."""
    done = subprocess.run([AIAAS, *COMMON, f"trainer.max_epochs={epochs}", *DEVICES[devices]], capture_output=True,
                          text=True, env={**os.environ, "AIAAS_HOME": str(home)}, timeout=3600)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"devices={devices} failed:\n{done.stderr[-3000:]}")
    return float(json.loads(done.stdout)["samples_per_sec"]) * devices  # rank zero's rate; ranks share the work evenly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "AIAAS_HOME": str(home)}
        subprocess.run([AIAAS, "preprocess", "image-cls"], capture_output=True, env=env, check=True)
        for _ in range(args.rounds):
            for devices in rates:
                rates[devices].append(_train(home, devices, args.epochs))
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"CPU cores: {os.cpu_count()}  load average: {' '.join(load)}")
    print(f"devices=1: {one:8.1f} samples/s   (runs: {', '.join(f'{r:.0f}' for r in rates[1])})")
    print(f"devices=2: {two:8.1f} samples/s   (runs: {', '.join(f'{r:.0f}' for r in rates[2])})")
    print(f"ratio devices=2 / devices=1: {two / one:.2f}")
    print("GPU (precision=16-mixed): not measured, no GPU was lent to this task")


if __name__ == "__main__":
    main()
