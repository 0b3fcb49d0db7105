"""Load: 32 concurrent clients for 60 s against each served recipe's Bento, then a schemathesis fuzz pass.

For each recipe: its smoke run (`smoke_overrides`: a tiny generated dataset, the smallest model; one short epoch)
trained, exported and packaged with the recipe's serve defaults in a temporary workspace, served by `aiaas serve`
on 127.0.0.1. The requests are the recipe's own held-out samples, sent as `aiaas predict --url` sends them (the
serving module's `http_request`), pre-encoded once. Recorded: requests sent, failures (connection errors,
timeouts), 4xx and 5xx answers, p50/p99 latency of every answer, the server's RSS (all its processes) after a
warm-up, at its peak during the load and after it, and the client's own CPU use. Bounded: every request has a
30 s timeout, every loop a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.serving_kit import AIAAS, Process, aiaas_json, free_port

RECIPES = ("image-cls", "text-cls", "tabular-cls", "tabular-reg", "recommend", "seq-cls", "forecast", "token-cls",
           "image-seg", "audio-cls", "image-det", "asr", "tts")  # fmt: skip
QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.threads=1",
         "trainer.early_stopping.enabled=false", "export.register=false"]  # fmt: skip
Body = tuple[str, bytes, dict[str, str]]  # (route, encoded body, headers)


def encode(base_url: str, request: dict[str, Any], route: str = "/predict") -> Body:
    """One request as `requests` would send it (``json``, ``files``, ``data``), encoded once."""
    import requests

    prepared = requests.Request("POST", base_url + route, **request).prepare()
    headers = {"Content-Type": prepared.headers["Content-Type"]}
    return route, prepared.body if isinstance(prepared.body, bytes) else prepared.body.encode(), headers


def server_rss(pid: int) -> int:
    """Resident bytes of a server process and all its children (BentoML's arbiter and workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total
    except psutil.NoSuchProcess:
        return 0


class PeakRss:
    """The largest ``server_rss`` seen, sampled every ``every`` seconds in a thread while the block runs."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every, self.peak = pid, every, 0
        self.samples: list[tuple[float, int]] = []  # (seconds since the start, RSS bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            rss = server_rss(self.pid)
            self.peak = max(self.peak, rss)
            self.samples.append((time.monotonic() - started, rss))
            self._stop.wait(self.every)

    def growth_in_second_half(self) -> int:
        """RSS at the end minus RSS half-way: a leak keeps growing, a warm-up (arenas, caches) levels off."""
        if len(self.samples) < 4:
            return 0
        end = self.samples[-1][0]
        middle = min(self.samples, key=lambda sample: abs(sample[0] - end / 2))
        return self.samples[-1][1] - middle[1]

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def hammer(base_url: str, bodies: list[Body], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` request loops for ``seconds``; every answer's status and latency counted."""
    import aiohttp

    latencies: list[float] = []
    counts = {"sent": 0, "ok": 0, "4xx": 0, "5xx": 0, "failures": 0}
    stop_at = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession, index: int) -> None:
        while time.perf_counter() < stop_at:
            route, body, headers = bodies[(index + counts["sent"]) % len(bodies)]
            counts["sent"] += 1
            start = time.perf_counter()
            try:
                async with session.post(base_url + route, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                counts["failures"] += 1
                continue
            latencies.append(time.perf_counter() - start)
            key = "ok" if status < 300 else "4xx" if status < 500 else "5xx"
            counts[key] += 1

    timeout = aiohttp.ClientTimeout(total=30)
    cpu = time.process_time()
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients), timeout=timeout) as session:
        await asyncio.gather(*(client(session, i) for i in range(clients)))
    elapsed = time.perf_counter() - began
    ms = np.asarray(latencies) * 1000
    return {
        **counts,
        "seconds": elapsed,
        "rps": counts["ok"] / elapsed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "client_cpu": (time.process_time() - cpu) / elapsed,  # cores the load generator itself used
    }


def load(base_url: str, bodies: list[Body], pid: int, clients: int = 32, seconds: float = 60) -> dict[str, Any]:
    """A short warm-up, then the measured load with the server's RSS before, at its peak and after."""
    import requests

    asyncio.run(hammer(base_url, bodies, min(clients, 4), 2.0))
    before = server_rss(pid)
    with PeakRss(pid) as peak:
        result = asyncio.run(hammer(base_url, bodies, clients, seconds))
    after = server_rss(pid)
    ready = requests.get(base_url + "/readyz", timeout=10).status_code
    mb = 1024 * 1024
    return {**result, "rss_before_mb": before / mb, "rss_peak_mb": peak.peak / mb, "rss_after_mb": after / mb,
            "rss_growth_mb": (after - before) / mb, "rss_growth_second_half_mb": peak.growth_in_second_half() / mb,
            "ready_after": ready}  # fmt: skip


def fuzz(base_url: str, examples: int) -> dict[str, int]:
    """schemathesis cases from the service's own OpenAPI document (every POST route): requests and 5xx answers."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{base_url}/docs.json").include(method="POST")
    counts = {"requests": 0, "5xx": 0}
    for operation in [result.ok() for result in schema.get_all_operations()]:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def send(case: Any) -> None:
            counts["requests"] += 1
            counts["5xx"] += case.call(base_url=base_url, timeout=30).status_code >= 500

        send()
    return counts


def build(name: str, workdir: Path) -> tuple[str, list[tuple[str, Any]], Any, Path]:
    """Train, export and package the recipe's smoke run; (Bento tag, held-out samples, serving module, ONNX file)."""
    import importlib

    from aiaas_cli import artifacts, recipes
    from aiaas_cli.serving.runtime import OnnxModel

    recipe = recipes.load(name)
    overrides = recipe.smoke_overrides(workdir / name)
    trained = aiaas_json("train", name, *overrides, *QUICK)
    exported = aiaas_json("export", name, f"run={trained['run_id']}", *overrides, *QUICK)
    bento = aiaas_json("package", name, f"run={trained['run_id']}", *overrides)
    dataset = artifacts.dataset_of(trained["run_id"])
    samples = recipe.sample_inputs(dataset.dir, dataset.manifest, limit=16)
    module = importlib.import_module(OnnxModel(exported["onnx_path"], threads=1).metadata["serving_module"])
    return bento["bento_tag"], samples, module, Path(exported["onnx_path"])


def bench_recipe(name: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    tag, samples, module, _ = build(name, workdir)
    built_s = time.monotonic() - started
    port = free_port()
    server = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", workdir / f"{name}-server.log")
    try:
        bodies = [encode(server.url, module.http_request(n, payload, 3)) for n, payload in samples]
        result = load(server.url, bodies, server.popen.pid, args.clients, args.seconds)
        result["fuzz"] = fuzz(server.url, args.fuzz) if args.fuzz else {}
    finally:
        server.stop()
    return {"recipe": name, "bento": tag, "build_s": built_s, "startup_s": server.startup_s, "inputs": len(bodies),
            **result}  # fmt: skip


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"{args.clients} clients x {args.seconds:g} s per recipe; {os.cpu_count()} CPU cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")  # fmt: skip
    print(f"{'recipe':<12} {'sent':>7} {'ok':>7} {'fail':>5} {'4xx':>5} {'5xx':>5} {'req/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>8} {'RSS MB':>7} {'peak':>7} {'growth':>7} {'2nd half':>7} {'fuzz req/5xx':>13} "
          f"{'client CPU':>10}")  # fmt: skip
    for r in rows:
        fz = f"{r['fuzz'].get('requests', '-')}/{r['fuzz'].get('5xx', '-')}"
        print(f"{r['recipe']:<12} {r['sent']:>7} {r['ok']:>7} {r['failures']:>5} {r['4xx']:>5} {r['5xx']:>5} "
              f"{r['rps']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>8.1f} {r['rss_before_mb']:>7.0f} "
              f"{r['rss_peak_mb']:>7.0f} {r['rss_growth_mb']:>+7.1f} {r['rss_growth_second_half_mb']:>+7.1f} {fz:>13} "
              f"{r['client_cpu']:>10.2f}")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fuzz", type=int, default=30, help="schemathesis examples per route (0: no fuzzing)")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-load-") as tmp:
        os.environ["AIAAS_HOME"] = str(Path(tmp) / "home")
        os.environ["BENTOML_HOME"] = str(Path(tmp) / "bentoml")
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(tmp) / 'home' / 'mlflow.db'}"  # this process reads it
        rows = []
        for name in args.recipes:
            try:
                rows.append(bench_recipe(name, Path(tmp), args))
            except (Exception, SystemExit) as exc:  # one recipe that cannot be built must not end the others
                print(f"{name}: not measured: {str(exc)[-2000:]}", flush=True)
                continue
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=1))
        report(rows, args)


if __name__ == "__main__":
    main()
