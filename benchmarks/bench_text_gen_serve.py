"""Streamed generation from a served text-gen Bento: tokens/s at 1, 8 and 32 concurrent streams, time to first
token p50/p99, beside the same Bento with batching across requests off (serve.max_batch_size=1: one request
decodes at a time, the others wait).

Each stream asks `POST /v1/completions` with ``"stream": true`` for --max-tokens tokens (``"ignore_eos": true``:
every request writes all of them; usage counted by the server), again and again for --seconds.
Target (issue 28): aggregate tokens/s at 8 streams >= 4x one stream's.

    python -m benchmarks.bench_text_gen_serve --home ~/.aiaas --run <exported text-gen run id>
    python -m benchmarks.bench_text_gen_serve            # trains a smoke-sized model first (a minute or two)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.serving_kit import AIAAS, Process, aiaas_json, free_port, package

STREAMS = (1, 8, 32)
PROMPTS = ["Once upon a time", "The weather today", "In the beginning", "A short story about", "Numbers and words"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an AIAAS_HOME with an exported text-gen run (default: train one)")
    parser.add_argument("--run", help="the exported run id in --home")
    parser.add_argument("--train", nargs="*", default=[], help="overrides for the smoke-sized training run")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=4.0, help="per slice")
    parser.add_argument("--rounds", type=int, default=3, help="slices per concurrency level, taken in turns")
    parser.add_argument("--no-baseline", action="store_true", help="skip the Bento with batching off")
    return parser.parse_args()


async def one_stream(client, url: str, prompt: str, max_tokens: int) -> tuple[int, float | None]:
    """(completion tokens, seconds to the first text) of one streamed completion."""
    body = {"prompt": prompt, "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True},
            "ignore_eos": True}  # fmt: skip
    began, first, tokens = time.perf_counter(), None, 0
    async with client.stream("POST", f"{url}/v1/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if first is None and event["choices"] and event["choices"][0]["text"]:
                first = time.perf_counter() - began
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    return tokens, first


async def load(url: str, streams: int, seconds: float, max_tokens: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=streams + 4)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await one_stream(client, url, PROMPTS[0], 4)  # warm-up: the first request's session and arena
        stop_at, firsts, counts = time.perf_counter() + seconds, [], []

        async def worker(index: int) -> None:
            n = 0
            while time.perf_counter() < stop_at:
                tokens, first = await one_stream(client, url, f"{PROMPTS[(index + n) % len(PROMPTS)]}", max_tokens)
                counts.append(tokens)
                firsts.append(first if first is not None else float("nan"))
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(streams)))
        elapsed = time.perf_counter() - began
    ttft = np.array([f for f in firsts if np.isfinite(f)]) * 1000
    return {
        "tokens_s": sum(counts) / elapsed,
        "per_stream": sum(counts) / elapsed / streams,
        "requests": len(counts),
        "ttft_p50": float(np.percentile(ttft, 50)) if len(ttft) else float("nan"),
        "ttft_p99": float(np.percentile(ttft, 99)) if len(ttft) else float("nan"),
    }


def in_process(path: Path, streams: int, max_tokens: int, rounds: int = 3) -> float:
    """Tokens/s of the scheduler alone on the model (no HTTP): ``streams`` requests at a time, ``rounds`` times."""
    from aiaas_cli.serving.runtime import OnnxModel, load_adapter
    from aiaas_recipes.common.generation.streams import Scheduler

    model = OnnxModel(path, threads=1)
    adapter = load_adapter(model.metadata)
    scheduler = Scheduler(model, adapter.spec, max_rows=32)

    async def run() -> int:
        asks = [{"prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": max_tokens} for i in range(streams)]
        items = [adapter.decode(ask) for ask in asks]  # each writes max_tokens tokens: never the end token
        done = [scheduler.submit(i.ids, i.settings, detok=adapter.decode_tokens, ignore_eos=True) for i in items]
        for stream in done:
            await stream.complete()
        return sum(len(s.tokens) for s in done)

    asyncio.run(run())  # warm-up
    began = time.perf_counter()
    tokens = sum(asyncio.run(run()) for _ in range(rounds))
    return tokens / (time.perf_counter() - began)


def exported_model(args: argparse.Namespace) -> Path:
    if args.run:
        return Path(os.environ["AIAAS_HOME"]) / "runs" / args.run / "model.onnx"
    return Path(aiaas_json("pipeline", "text-gen", *args.train)["onnx_path"])


def measure(tag: str, tmp: Path, args: argparse.Namespace, levels: tuple[int, ...]) -> dict[int, dict]:
    """Each level in --rounds short slices taken in turns (1, 8, 32, 1, 8, 32...), so that all of them see the same
    background load on a shared machine; the median slice of each level."""
    port = free_port()
    server = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", tmp / f"{tag.replace(':', '-')}.log")
    slices: dict[int, list[dict]] = {n: [] for n in levels}
    try:
        for _ in range(args.rounds):
            for n in levels:
                slices[n].append(asyncio.run(load(server.url, n, args.seconds, args.max_tokens)))
    finally:
        server.stop()
    return {n: sorted(runs, key=lambda r: r["tokens_s"])[len(runs) // 2] for n, runs in slices.items()}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-textgen-") as tmp:
        os.environ["AIAAS_HOME"] = args.home or str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        path = exported_model(args)
        # one ONNX Runtime thread: a decoder step is small, and spinning intra-op threads would take the cores the
        # event loop needs to write 32 streams
        batched = package("text-gen", path, ["serve.workers=1", "serve.threads=1", "serve.max_batch_size=32"])[0]
        bare = {n: in_process(path, n, args.max_tokens) for n in STREAMS}
        rows = {"batched": measure(batched, Path(tmp), args, STREAMS)}
        if not args.no_baseline:
            alone = package("text-gen", path, ["serve.workers=1", "serve.threads=1", "serve.max_batch_size=1"])[0]
            rows["one at a time"] = measure(alone, Path(tmp), args, (1, 8))
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores; one worker; "
        f"{args.max_tokens} tokens per request; median of {args.rounds} slices of {args.seconds:g} s per level"
    )
    for name, levels in rows.items():
        for streams, r in levels.items():
            print(
                f"{name:>13} {streams:>2} streams: {r['tokens_s']:7.1f} tokens/s ({r['per_stream']:6.1f} per stream, "
                f"{r['requests']} requests); first token p50 {r['ttft_p50']:.0f} ms, p99 {r['ttft_p99']:.0f} ms"
            )
    print("scheduler alone (no HTTP): " + ", ".join(f"{n} streams {t:.0f} tokens/s" for n, t in bare.items()))
    one = rows["batched"][1]["tokens_s"]
    print(f"batched: 8 streams / 1 stream = {rows['batched'][8]['tokens_s'] / one:.2f}x (target >= 4x); "
          f"32 / 1 = {rows['batched'][32]['tokens_s'] / one:.2f}x")  # fmt: skip
    if "one at a time" in rows:
        off = rows["one at a time"][8]["tokens_s"]
        print(f"batching on / off at 8 streams: {rows['batched'][8]['tokens_s'] / off:.2f}x")


if __name__ == "__main__":
    main()
