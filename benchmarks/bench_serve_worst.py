"""Worst-case request cost under the serving limits: the costliest image body we can build, timed on a real server.

Candidates are PNGs at the per-image pixel limit (`serve.limits.max_pixels`, default 64 MP) in the formats whose
decoding costs most per pixel (16-bit grayscale goes through float64, RGBA through alpha compositing); each is
first decoded alone in a subprocess (time, peak RSS). The worst one, repeated up to the per-request budget
(`max_request_pixels`, default 2 x 64 MP) in one `POST /predict_batch`, is then sent to an image-cls Bento
packaged with the default limits (a no-op model: decoding is the cost), alone and as two concurrent requests,
while `/readyz` is polled every 100 ms: the answers and their times, the server's peak RSS (all processes) and
the slowest `/readyz` answer are printed. Then slow clients (half a request head, then nothing) against the
same server: how many are closed at once (over the connection cap), when the last one is, and `/readyz` meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.bench_load import PeakRss, server_rss
from benchmarks.bench_serving import noop_model, package
from benchmarks.serving_kit import AIAAS, Process, free_port

SIDE = 8000  # 64 MP: the default per-image limit
DECODE_ONE = """
import resource, sys, time
from aiaas_recipes.common.vision.transforms import decode
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
decode(data, 8, 64_000_000)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def candidates(folder: Path) -> dict[str, Path]:
    """PNGs of SIDE x SIDE pixels (all zero: the smallest files, the same decoding work as any content)."""
    from PIL import Image

    arrays = {
        "16-bit gray (I;16)": np.zeros((SIDE, SIDE), np.uint16),
        "8-bit RGBA": np.zeros((SIDE, SIDE, 4), np.uint8),
        "8-bit RGB": np.zeros((SIDE, SIDE, 3), np.uint8),
    }
    paths = {}
    for name, array in arrays.items():
        path = folder / (name.split()[0] + name.split()[1] + ".png")
        Image.fromarray(array).save(path, format="PNG", compress_level=9)
        paths[name] = path
    return paths


def decode_cost(path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of decoding one image in a fresh process."""
    done = subprocess.run([sys.executable, "-c", DECODE_ONE, str(path)], capture_output=True, text=True, check=True)
    seconds, rss = done.stdout.split()
    return float(seconds), float(rss)


def poll_ready(url: str, stop: threading.Event, slowest: list[float]) -> None:
    import requests

    while not stop.is_set():
        start = time.perf_counter()
        with contextlib.suppress(requests.RequestException):
            requests.get(url + "/readyz", timeout=30)
        slowest[0] = max(slowest[0], time.perf_counter() - start)
        stop.wait(0.1)


def send(url: str, body: list[bytes]) -> tuple[int, float, str]:
    import requests

    files = [("images", (f"{i}.png", data)) for i, data in enumerate(body)]
    start = time.perf_counter()
    answer = requests.post(url + "/predict_batch", files=files, timeout=120)
    return answer.status_code, time.perf_counter() - start, answer.text[:120]


def attack(server: Process, body: list[bytes], concurrent: int) -> dict:
    stop, slowest = threading.Event(), [0.0]
    poller = threading.Thread(target=poll_ready, args=(server.url, stop, slowest), daemon=True)
    before = server_rss(server.popen.pid)
    with PeakRss(server.popen.pid, every=0.1) as peak:
        poller.start()
        with ThreadPoolExecutor(concurrent) as pool:
            answers = list(pool.map(lambda _: send(server.url, body), range(concurrent)))
        stop.set()
        poller.join()
    mb = 1024 * 1024
    return {"answers": answers, "rss_before_mb": before / mb, "rss_peak_mb": peak.peak / mb, "readyz_max_s": slowest[0]}


def slowloris(server: Process, count: int, limit_s: float = 30) -> dict:
    """``count`` sockets that send half a request head and stall: how many the server closes at once (over the
    connection cap), when the last is closed, and the slowest `/readyz` answer meanwhile."""
    import requests

    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.setblocking(False)
        sockets.append(sock)
    opened = time.monotonic()
    open_now, closed_at, ready_s, refused = set(range(count)), {}, 0.0, 0
    while open_now and time.monotonic() - opened < limit_s:
        for i in list(open_now):
            try:
                if sockets[i].recv(1) == b"":
                    open_now.discard(i)
                    closed_at[i] = time.monotonic() - opened
            except BlockingIOError:
                pass
            except OSError:
                open_now.discard(i)
                closed_at[i] = time.monotonic() - opened
        start = time.perf_counter()
        try:
            requests.get(server.url + "/readyz", timeout=30)
        except requests.ConnectionError:
            refused += 1
        ready_s = max(ready_s, time.perf_counter() - start)
        time.sleep(0.2)
    for sock in sockets:
        sock.close()
    times = sorted(closed_at.values())
    last = times[-1] if times else None
    return {"sockets": count, "closed_within_1s": sum(t < 1 for t in times), "closed": len(times),
            "last_closed_s": last, "still_open": len(open_now), "readyz_max_s": ready_s,
            "readyz_refused": refused}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow-only", action="store_true", help="only the slow clients")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-worst-") as tmp:
        os.environ["AIAAS_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        if not args.slow_only:
            paths = candidates(Path(tmp))
            costs = {name: decode_cost(path) for name, path in paths.items()}
            for name, (seconds, rss) in costs.items():
                print(f"one {SIDE}x{SIDE} {name}: decode {seconds:.2f} s, peak RSS {rss:.0f} MB")
            worst = max(costs, key=lambda name: costs[name][0])
            body = [paths[worst].read_bytes()] * 2  # 2 x 64 MP = the default per-request budget
        tag = package(noop_model(None, Path(tmp)), [])  # the image-cls service with the default limits
        port = free_port()
        server = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", Path(tmp) / "server.log")
        try:
            if not args.slow_only:
                print(f"worst body: 2 x {worst} {SIDE}x{SIDE} PNG, {sum(map(len, body)) / 1024:.0f} KB in all")
                for concurrent in (1, 2):
                    print(f"{concurrent} concurrent:", json.dumps(attack(server, body, concurrent)))
            for count in (200, 600):  # under and over the cap (256 per worker, 2 workers)
                print("slow clients:", json.dumps(slowloris(server, count)))
        finally:
            server.stop()
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
