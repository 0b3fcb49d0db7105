"""`aiaas predict` over many inputs: peak memory at 10k vs 100k inputs, and --shard / --resume against one run.

Trains and exports the digits image-cls model once (the same fast settings as the tests), then lays out N input files
as hard links to the held-out digit PNGs (1000 per sub-folder, so no disk space and a realistic tree). Each
`aiaas predict` runs as its own process; its peak RSS comes from the kernel (``os.wait4``'s ru_maxrss), so nothing
samples and nothing is missed. Then the same N inputs run as two `--shard` halves, the second one SIGKILLed part-way
and resumed with the same command line (`--resume`), and the sorted lines of the two halves are compared with the
sorted lines of the unsharded run.

    nice -n 10 .venv/bin/python -m benchmarks.bench_predict_stream [--small 10000] [--large 100000] [--kill-at 0.4]

``--aiaas PATH --no-shards`` measures the memory of another installation (e.g. a checkout from before streaming).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIAAS = str(Path(sys.executable).with_name("aiaas"))
FAST_TRAIN = ["trainer.max_epochs=3", "trainer.early_stopping.enabled=false"]
PREDICT = ["--threads", "1", "--batch-size", "64"]


def aiaas_json(home: Path, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], capture_output=True, text=True, env=_env(home), check=False)
    if done.returncode:
        raise SystemExit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _env(home: Path) -> dict:
    return {**os.environ, "AIAAS_HOME": str(home), "BENTOML_HOME": str(home / "bentoml")}


def digits_model(home: Path) -> tuple[Path, list[Path]]:
    """The exported model and the held-out PNG files of one fast digits run."""
    run = aiaas_json(home, "pipeline", "image-cls", *FAST_TRAIN)
    aiaas_json(home, "export", "image-cls", f"run={run['run_id']}")
    dataset = Path(run["dataset_dir"])
    root = Path(json.loads((dataset / "manifest.json").read_text())["source"])
    held_out = [root / name for name in (dataset / "test_files.txt").read_text().split()]
    return home / "runs" / run["run_id"] / "model.onnx", held_out


def lay_out(folder: Path, count: int, images: list[Path]) -> Path:
    for i in range(count):
        target = folder / f"d{i // 1000:04d}" / f"{i:07d}.png"
        if i % 1000 == 0:
            target.parent.mkdir(parents=True)
        os.link(images[i % len(images)], target)
    return folder


def predict(home: Path, *args: str, kill_after: int | None = None) -> tuple[float, float, bool]:
    """(seconds, peak RSS MiB, killed) of one `aiaas predict` process; SIGKILLed once its --output file holds
    ``kill_after`` lines."""
    started = time.perf_counter()
    process = subprocess.Popen([AIAAS, "predict", "image-cls", *args, *PREDICT], env=_env(home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    killed = False
    if kill_after is not None:
        output = Path(args[args.index("-o") + 1])
        while process.poll() is None and not killed:
            time.sleep(0.2)
            if output.is_file() and _count_lines(output) >= kill_after:
                os.kill(process.pid, signal.SIGKILL)
                killed = True
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, -signal.SIGKILL):
        raise SystemExit(f"aiaas predict {' '.join(args)} exited {process.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, killed


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def sorted_lines(*paths: Path) -> list[str]:
    return sorted(line for path in paths for line in path.read_text().splitlines())


def main() -> None:
    global AIAAS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--kill-at", type=float, default=0.4, help="kill shard 1 after this fraction of its rows")
    parser.add_argument("--aiaas", help="the aiaas executable to measure (default: this environment's)")
    parser.add_argument("--no-shards", action="store_true", help="measure memory only")
    args = parser.parse_args()
    AIAAS = args.aiaas or AIAAS
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as temp:
        temp = Path(temp)
        model, images = digits_model(temp / "home")
        print(f"model: {model.name} ({model.stat().st_size // 1024} KiB), {len(images)} held-out digits linked")
        results = {}
        for count in (args.small, args.large):
            folder = lay_out(temp / f"in{count}", count, images)
            out = temp / f"all{count}.jsonl"
            seconds, peak, _ = predict(temp / "home", str(folder), "--model", str(model), "-o", str(out))
            results[count] = (seconds, peak)
            print(f"{count:>7} inputs: {seconds:6.1f} s, {count / seconds:7.0f} inputs/s, peak RSS {peak:6.1f} MiB")
        small, large = results[args.small][1], results[args.large][1]
        print(f"peak RSS {args.large} / {args.small} inputs: {large / small:.3f} ({large - small:+.1f} MiB)")
        if not args.no_shards:
            check_shards(temp, model, args.large, args.kill_at)


def check_shards(temp: Path, model: Path, count: int, kill_at: float) -> None:
    """Two --shard halves, the second killed and resumed, against the unsharded output of ``count`` inputs."""
    folder, whole = temp / f"in{count}", temp / f"all{count}.jsonl"
    halves = [temp / "part0.jsonl", temp / "part1.jsonl"]
    base = [str(folder), "--model", str(model), "--resume"]
    predict(temp / "home", *base, "--shard", "0/2", "-o", str(halves[0]))
    expected_half = count // 2
    _, _, killed = predict(temp / "home", *base, "--shard", "1/2", "-o", str(halves[1]),
                           kill_after=int(kill_at * expected_half))  # fmt: skip
    before = _count_lines(halves[1])
    predict(temp / "home", *base, "--shard", "1/2", "-o", str(halves[1]))
    sizes = [_count_lines(path) for path in halves]
    same = sorted_lines(*halves) == sorted_lines(whole)
    print(f"shards: {sizes[0]} + {sizes[1]} lines (shard 1 killed={killed} at {before} lines, then resumed)")
    print(f"two shards + kill/resume == unsharded lines (sorted): {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
