"""Side by side on a shared, loaded machine: two Bentos of the same model served at once, loaded in alternating
short slices (A, B, A, B, ...), so that both see the same background load; req/s and p99 summed per Bento.

Default comparison: BentoML's OpenTelemetry middleware on every request (`tracing=True`, BentoML's behaviour)
against every URL excluded from it (aiaas' default). Any other `serve.*` pair can be given with --a / --b.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_serving import digits_model, noop_model, package
from benchmarks.serving_kit import AIAAS, Process, free_port, load


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an AIAAS_HOME with an exported digits run (default: train one)")
    parser.add_argument("--run", help="the exported run id in --home")
    parser.add_argument("--noop", action="store_true", help="a no-op model instead of digits (HTTP only)")
    parser.add_argument("--noop-a", action="store_true", help="A serves the no-op model: B/A = digits / HTTP ceiling")
    parser.add_argument("--export", nargs="*", default=[], help="digits' export overrides, e.g. export.quantize=int8")
    parser.add_argument("--a", nargs="*", default=[], help="serve.* overrides of A (default: tracing on)")
    parser.add_argument("--b", nargs="*", default=[], help="serve.* overrides of B (default: aiaas' defaults)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--slices", type=int, default=10, help="slices per Bento")
    parser.add_argument("--slice-seconds", type=float, default=3.0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-ab-") as tmp:
        os.environ["AIAAS_HOME"] = args.home or str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        path, images = digits_model(args)
        if args.noop:
            path = noop_model(path, Path(tmp))
        a_path = noop_model(path, Path(tmp)) if args.noop_a else path
        tags = {"A": package(a_path, args.a, tracing=not (args.a or args.noop_a)), "B": package(path, args.b)}
        servers = {}
        try:
            for name, tag in tags.items():
                port = free_port()
                servers[name] = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", Path(tmp) / name)
            for server in servers.values():  # warm-up, discarded
                asyncio.run(load(f"{server.url}/predict", images, args.clients, 1.0, 10**6))
            rows = {name: [] for name in servers}
            for _ in range(args.slices):
                for name, server in servers.items():
                    url = f"{server.url}/predict"
                    rows[name].append(asyncio.run(load(url, images, args.clients, args.slice_seconds, 10**6)))
        finally:
            for server in servers.values():
                server.stop()
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
        f"{args.clients} clients, {args.slices} alternating slices of {args.slice_seconds:g} s per Bento"
    )
    a_name = "no-op model" if args.noop_a else "tracing on (BentoML default)"
    print(f"A = {' '.join(args.a) or a_name}; B = {' '.join(args.b) or 'aiaas defaults'}")
    for name, slices in rows.items():
        rps = [s["rps"] for s in slices]
        print(
            f"{name}: req/s mean {np.mean(rps):.1f} (slices {min(rps):.0f}-{max(rps):.0f}), p99 median "
            f"{np.median([s['p99'] for s in slices]):.1f} ms, errors {sum(s['failures'] for s in slices)}"
        )
    wins = sum(b["rps"] > a["rps"] for a, b in zip(rows["A"], rows["B"], strict=True))
    print(
        f"B/A req/s {np.mean([s['rps'] for s in rows['B']]) / np.mean([s['rps'] for s in rows['A']]):.2f}x; "
        f"B faster in {wins} of {args.slices} slice pairs"
    )


if __name__ == "__main__":
    main()
