"""gallery over HTTP: POST /identify of the served image-embed Bento with ``--n`` identities enrolled, 8 clients.

The whole request as a user sends it: an uploaded photo decoded, embedded by ONNX Runtime, searched in the gallery
(usearch, ``gallery_index.Settings``), answered as JSON. Beside it, POST /embed on the same photos and server (the
same work without the gallery search), so the ratio shows what the search adds. The gallery holds ``--n`` random
unit vectors (the hard case for the index: a query's nearest neighbour is barely nearer than the next) written
into the Bento's state folder before the server starts, as `aiaas gallery enroll` would.

    AIAAS_HOME=... aiaas package image-embed run=<id>          (a finished image-embed run)
    AIAAS_HOME=... .venv/bin/python -m benchmarks.bench_gallery_http --dataset <its dataset dir>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime  # noqa: F401  (before usearch: the other order makes onnxruntime's import segfault)

from aiaas_cli.serving.gallery import Gallery
from benchmarks.bench_gallery import cpu_flags
from benchmarks.serving_kit import Process, free_port, image_body, load

TARGET_P99_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bento", default="aiaas-image-embed:latest")
    parser.add_argument("--dataset", required=True, help="the run's dataset dir: test photos are the queries")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    return parser.parse_args()


def bento_home() -> Path:
    """Where the service keeps its state folder (aiaas_cli.serving.service.state_dir without serve.state_dir)."""
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")


def model_tag(bento: str) -> str:
    import bentoml

    return str(bentoml.get(bento).info.models[0].tag)


def fill_gallery(folder: Path, n: int, dim: int) -> float:
    """``n`` random identities in a fresh gallery where the service will open it; seconds taken."""
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(26)
    started = time.perf_counter()
    with Gallery(folder, dim) as gallery:
        for start in range(0, n, 10_000):
            vectors = rng.standard_normal((min(10_000, n - start), dim)).astype(np.float32)
            gallery.enroll_many([(f"id{start + i:06d}", vectors[i : i + 1]) for i in range(len(vectors))])
    return time.perf_counter() - started


def photos(dataset: Path, limit: int = 64) -> list[bytes]:
    """Test photos of the run's dataset (identities unseen in training), spread over the list."""
    source = Path(json.loads((dataset / "manifest.json").read_text())["source"])
    files = (dataset / "test_files.txt").read_text().splitlines()
    return [(source / name).read_bytes() for name in files[:: max(1, len(files) // limit)][:limit]]


def main() -> None:
    args = parse_args()
    import bentoml

    tag = model_tag(args.bento)
    dim = int(bentoml.models.get(tag).info.metadata["aiaas"]["embedding_dim"])
    state = bento_home() / "aiaas-state" / tag.replace(":", "-")
    print(f"cpu: {os.cpu_count()} cores, flags {cpu_flags()}; load average at start {os.getloadavg()}")
    print(f"gallery of {args.n} identities ({dim}-d) written in {fill_gallery(state / 'gallery', args.n, dim):.1f} s")
    port = free_port()
    aiaas = str(Path(sys.executable).with_name("aiaas"))
    server = Process([aiaas, "serve", args.bento, "--port", str(port)], port, "/readyz", state / "server.log")
    try:
        queries = photos(Path(args.dataset))
        for route in ("/embed", "/identify"):
            found = asyncio.run(load(server.url + route, queries, args.clients, args.seconds, 10**9, image_body))
            mark = f" [target p99 < {TARGET_P99_MS} ms]" if route == "/identify" else ""
            print(f"POST {route}, {args.clients} clients: {found['rps']:.1f} req/s, p50 {found['p50']:.1f} ms, "
                  f"p99 {found['p99']:.1f} ms, failures {found['failures']}{mark}", flush=True)  # fmt: skip
    finally:
        server.stop()
        shutil.rmtree(state / "gallery", ignore_errors=True)
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
