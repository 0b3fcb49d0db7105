"""Loader throughput: memory-mapped npy splits vs LitData local shards (data.storage=npy vs litdata).

One epoch of the real image-cls train loader (`ImageDataModule`: the seeded order, normalisation and the default
augmentation, batch 64, num_workers=0) over a generated split of uint8 32x32 images, then optionally the real
`aiaas train image-cls` on the built-in digits with each format (`--train`: training samples/s from the run's own
Throughput callback). The two formats alternate `--rounds` times because the machine is shared and noisy; medians,
their ratio, the load average and the CPU's vector flags are printed. Shards are written once before timing.

    nice -n 10 .venv/bin/python -m benchmarks.bench_stream [--rows 20000] [--rounds 3] [--train]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
FORMATS = ("npy", "litdata")


def write_dataset(folder: Path, rows: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(folder / "train_x.npy", rng.integers(0, 256, (rows, 32, 32, 3), dtype=np.uint8))
    np.save(folder / "train_y.npy", rng.integers(0, 10, rows))


def datamodule(folder: Path, data_format: str):
    from omegaconf import OmegaConf

    from aiaas_recipes.image_cls.datamodule import ImageDataModule

    cfg = {"batch_size": 64, "num_workers": 0, "storage": data_format, "shards": None,
           "augment": {"hflip": False, "pad_crop": 2}}  # fmt: skip
    return ImageDataModule(folder, {"mean": [0.5] * 3, "std": [0.25] * 3}, OmegaConf.create(cfg), seed=0)


def loader_rate(folder: Path, data_format: str) -> float:
    """Samples/s of one epoch of the train loader."""
    loader = datamodule(folder, data_format).train_dataloader()
    started, seen = time.perf_counter(), 0
    for _, labels in loader:
        seen += len(labels)
    return seen / (time.perf_counter() - started)


def train_rate(home: Path, data_format: str) -> float:
    """Training samples/s of `aiaas train image-cls` (3 epochs, the first one left out as warm-up)."""
    command = [AIAAS, "train", "image-cls", f"data.storage={data_format}", "trainer.threads=1", "trainer.max_epochs=3",
               "trainer.early_stopping.enabled=false", "--json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "AIAAS_HOME": str(home)})
    if done.returncode != 0:
        raise SystemExit(f"data.storage={data_format} failed:\n{done.stderr[-3000:]}")
    return float(json.loads(done.stdout)["samples_per_sec"])


def alternate(measure, rounds: int) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in FORMATS}
    for _ in range(rounds):
        for name in FORMATS:
            rates[name].append(measure(name))
    return rates


def report(title: str, rates: dict[str, list[float]]) -> None:
    npy, lit = statistics.median(rates["npy"]), statistics.median(rates["litdata"])
    print(title)
    for name in FORMATS:
        runs = ", ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"  {name:8s} {statistics.median(rates[name]):10.0f} samples/s   (runs: {runs})")
    print(f"  ratio litdata / npy: {lit / npy:.2f}")


def machine() -> str:
    flags = set()
    if Path("/proc/cpuinfo").exists():
        line = next((x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags")), "")
        flags = set(line.split())
    vector = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags) or "none of avx2/avx512"
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    return f"CPU cores: {os.cpu_count()}  flags: {vector}  load average: {' '.join(load)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train", action="store_true", help="also time `aiaas train image-cls` with each format")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "datasets" / "bench-stream"
        write_dataset(folder, args.rows)
        datamodule(folder, "litdata").prepare_data()  # shards written once, outside the timing
        print(machine())
        report(f"train loader, one epoch of {args.rows} rows (32x32x3 uint8, batch 64, pad-crop 2, 1 thread):",
               alternate(lambda name: loader_rate(folder, name), args.rounds))  # fmt: skip
        if args.train:
            home = Path(tmp) / "home"
            subprocess.run([AIAAS, "preprocess", "image-cls"], capture_output=True, check=True,
                           env={**os.environ, "AIAAS_HOME": str(home)})  # fmt: skip
            report("aiaas train image-cls (digits, 3 epochs, 1 thread):",
                   alternate(lambda name: train_rate(home, name), args.rounds))  # fmt: skip
        print(machine())


if __name__ == "__main__":
    main()
