"""tabular-cls serving (a recipe added after image-cls and text-cls): Bento vs naive Flask vs in-process ceiling.

The model is tabular-cls' smoke run (`bench_load.build`: a tiny generated table, the recipe's default MLP, one
short epoch), exported and packaged by `aiaas export` / `aiaas package` with the recipe's serve defaults. Requests
are its held-out records as `aiaas predict --url` sends them (`{"records": [row], "ignore_extra": true}`). The
baseline is a Flask app (`app.run()` defaults) running the same torch-free adapter + ONNX Runtime per request; the
ceiling is that work in this process at the best batch size, without HTTP. Clients are aiohttp coroutines in this
process (bench_load.hammer), on loopback: they share the CPU with the server (their CPU is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_load import build, encode, hammer
from benchmarks.bench_serving import ceiling
from benchmarks.serving_kit import AIAAS, CONCURRENCY, Process, flask_app, free_port

FLASK_APP = flask_app(
    '{"predictions": predictor.predict_decoded([predictor.decode(r) for r in request.get_json()["records"]], k=3)}'
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    return parser.parse_args()


def measure(url: str, bodies: list, seconds: float) -> dict[int, dict[str, Any]]:
    results = {}
    for clients in CONCURRENCY:
        asyncio.run(hammer(url, bodies, clients, 1.0))  # warm-up: connections, batching
        results[clients] = asyncio.run(hammer(url, bodies, clients, seconds))
    return results


def serve(command: list[str], port: int, ready: str, log: Path, bodies: list, seconds: float) -> tuple[dict, float]:
    server = Process(command, port, ready, log)
    try:
        return measure(server.url, bodies, seconds), server.startup_s
    finally:
        server.stop()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-tabular-serving-") as tmp:
        os.environ["AIAAS_HOME"] = str(Path(tmp) / "home")
        os.environ["BENTOML_HOME"] = str(Path(tmp) / "bentoml")
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(tmp) / 'home' / 'mlflow.db'}"  # as bench_load does
        tag, samples, module, path = build("tabular-cls", Path(tmp))
        bodies = [encode("http://127.0.0.1", module.http_request(name, payload, 3)) for name, payload in samples]
        ceiling_rps, batch = ceiling(path, [payload for _, payload in samples], args.seconds)
        port = free_port()
        bento, startup = serve([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", Path(tmp) / "b.log",
                               bodies, args.seconds)  # fmt: skip
        port = free_port()
        flask, _ = serve([sys.executable, "-c", FLASK_APP, str(path), str(port)], port, "/predict",
                         Path(tmp) / "f.log", bodies, args.seconds)  # fmt: skip
    report(tag, bento, flask, ceiling_rps, batch, startup, args.seconds)


def report(tag: str, bento: dict, flask: dict, ceiling_rps: float, batch: int, startup: float, seconds: float) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; {seconds:g} s per measurement; Bento {tag}")  # fmt: skip
    print(f"{'server':<7} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} client CPU")
    for server, rows in (("bento", bento), ("flask", flask)):
        for clients, row in rows.items():
            errors = row["failures"] + row["4xx"] + row["5xx"]
            print(f"{server:<7} {clients:>7} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
                  f"{errors:>6} {row['client_cpu']:>10.2f}")  # fmt: skip
    print(f"ceiling       - {ceiling_rps:>8.1f}  in-process, batch {batch}")
    print(f"`aiaas serve` start-up to ready: {startup:.1f} s (goal < 3 s)")
    served = bento[32]["rps"]
    print(f"at 32 clients: Bento/Flask {served / flask[32]['rps']:.2f}x; Bento/in-process ceiling "
          f"{served / ceiling_rps:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
