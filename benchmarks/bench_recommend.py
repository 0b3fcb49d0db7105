"""recommend: the model against most-popular and item-kNN on the built-in data (same split), and serving req/s.

Quality: `aiaas train recommend` then `aiaas evaluate recommend run=<id>` in a temporary workspace, on the
built-in generated interactions; evaluation ranks every item for each test user (each user's last
interaction, seen items excluded) with the model and both baselines, and prints them side by side. Target:
the model's NDCG@10 at least 20% above most-popular's.

Serving (--serving): a recommend graph with random embeddings (64 dims, 10k users with 20 seen items each)
for a catalogue of 10k and of 1M items, packaged as `aiaas package` does and served by `aiaas serve`;
`POST /predict {"user", "k": 10}` at 1, 8 and 32 clients (serving_kit.py's load generator), against the
in-process ceiling (adapter + ONNX Runtime at the best batch size, no HTTP).

    .venv/bin/python -m benchmarks.bench_recommend                  (--model mf, any extra overrides after --)
    .venv/bin/python -m benchmarks.bench_recommend --serving --skip-quality
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.serving_kit import AIAAS, CONCURRENCY, Process, free_port, load, package

TARGET_LIFT = 0.20
CATALOGUES = (10_000, 1_000_000)
SERVE_USERS, DIM, SEEN = 10_000, 64, 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mf", choices=["mf", "two_tower"])
    parser.add_argument("--serving", action="store_true", help="also measure serving req/s (10k and 1M items)")
    parser.add_argument("--skip-quality", action="store_true", help="only the serving measurements")
    parser.add_argument("--catalogues", type=int, nargs="*", default=list(CATALOGUES))
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per serving measurement")
    parser.add_argument("--max-requests", type=int, default=4000, help="request bound per serving measurement")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for train, e.g. trainer.max_epochs=5")
    return parser.parse_args()


def aiaas(*args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def quality(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    trained = aiaas("train", "recommend", f"model={args.model}", *args.overrides)
    train_s = time.perf_counter() - start
    evaluated = aiaas("evaluate", "recommend", f"run={trained['run_id']}")
    metrics = evaluated["metrics"]
    manifest = json.loads((Path(trained["dataset_dir"]) / "manifest.json").read_text())
    k = metrics["k"]
    print(f"built-in data: {manifest['interactions']} interactions, {manifest['users']} users, "
          f"{manifest['items']} items; split {manifest['split']}")  # fmt: skip
    print(f"model={args.model} {' '.join(args.overrides)}: {trained['epochs']} epochs, train {train_s:.0f} s, "
          f"{trained['samples_per_sec']:.0f} samples/s")  # fmt: skip
    names = ["model", *metrics["baselines"]]
    print(f"{'metric':<12}" + "".join(f"{n:>14}" for n in names))
    for metric in ("recall", "ndcg", "map", "coverage"):
        values = [metrics[metric], *(b[metric] for b in metrics["baselines"].values())]
        print(f"{metric + '@' + str(k):<12}" + "".join(f"{v:>14.4f}" for v in values))
    lift = metrics["ndcg"] / metrics["baseline"]["ndcg"] - 1
    verdict = "PASS" if lift >= TARGET_LIFT else "MISS"
    print(f"NDCG@{k} lift over most-popular: {lift:+.1%} (target >= +{TARGET_LIFT:.0%}) {verdict}")


def random_graph(items: int, workdir: Path) -> Path:
    """A served recommend model over random tables: ``items`` items, SERVE_USERS users with SEEN items each."""
    from aiaas_cli.stages.export import embed_metadata
    from aiaas_recipes.recommend import graph

    rng = np.random.default_rng(0)
    tables = graph.Tables(
        user_ids=[f"u{i}" for i in range(SERVE_USERS)], item_ids=[f"i{i}" for i in range(items)],
        users=rng.normal(size=(SERVE_USERS, DIM)).astype(np.float32),
        items=rng.normal(size=(items, DIM)).astype(np.float32), bias=np.zeros(items, np.float32),
        popularity=np.full(items, 1.0 / items, np.float32),
        history_indptr=np.arange(0, SEEN * SERVE_USERS + 1, SEEN, dtype=np.int64),
        history_items=rng.integers(0, items, SEEN * SERVE_USERS), max_k=100,
    )  # fmt: skip
    path = workdir / f"recommend-{items}.onnx"
    graph.write(tables, path, 18)
    metadata = {
        "recipe": "recommend",
        "serving_module": "aiaas_recipes.recommend.serving",
        "max_k": 100,
        "run_id": f"bench-{items}",
        "input_names": list(graph.INPUTS),
        "output_names": list(graph.OUTPUTS),
    }
    embed_metadata(path, metadata)  # fmt: skip
    return path


def ceiling(path: Path, users: list[str], seconds: float) -> tuple[float, int]:
    """Adapter + ONNX Runtime queries/s in this process (1 intra-op thread, as served), at the best batch."""
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(path, threads=1)
    best = (0.0, 1)
    for size in (1, 8, 32):
        batch = users[:size]
        predictor.predict(batch, k=10)
        done, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds / 3 or done < 3 * size:
            predictor.predict(batch, k=10)
            done += size
        best = max(best, (done / (time.perf_counter() - began), size))
    return best


def user_body(user: str) -> dict:
    return {"json": {"user": user, "k": 10}}


def serving(args: argparse.Namespace, workdir: Path) -> None:
    users = [f"u{i}" for i in np.random.default_rng(1).integers(0, SERVE_USERS, 256)]
    print(f"\nserving: {SERVE_USERS} users, {DIM} dims, {SEEN} seen items each; POST /predict k=10")
    print(f"{'items':>9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for items in args.catalogues:
        path = random_graph(items, workdir)
        best_rps, best_batch = ceiling(path, users, args.seconds)
        tag, settings = package("recommend", path)
        port = free_port()
        bento = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", workdir / f"serve-{items}.log")
        try:
            for clients in CONCURRENCY:
                url = f"{bento.url}/predict"
                asyncio.run(load(url, users, clients, 0.5, 2 * clients, body=user_body))  # warm-up
                row = asyncio.run(load(url, users, clients, args.seconds, args.max_requests, body=user_body))
                print(f"{items:>9} {clients:>7} {row['rps']:>8.1f} {row['p50']:>8.1f} {row['p99']:>8.1f} "
                      f"{row['failures']:>6}")  # fmt: skip
        finally:
            bento.stop()
        size = path.stat().st_size >> 20
        print(f"{items:>9} ceiling {best_rps:>8.1f}  in-process, batch {best_batch}; model.onnx {size} MiB")
        path.unlink()
    print(f"serve settings: workers {settings['workers']}, threads {settings['threads']}, "
          f"max_batch_size {settings['max_batch_size']}")  # fmt: skip


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-recommend-") as tmp:
        os.environ["AIAAS_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"{when}; {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
        if not args.skip_quality:
            quality(args)
        if args.serving:
            serving(args, Path(tmp))
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
