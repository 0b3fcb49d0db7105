"""seq2seq: decoding with past key/values vs re-running the decoder over the whole prefix each step; the pipeline's
BLEU against copying the source; served throughput at 1, 8 and 32 clients.

1. `--kv`: the recipe's default Seq2SeqTransformer (width 128, 2+2 layers, 4 heads, vocab 1,000), untrained (the cost
   of a step does not depend on the weights), exported as the recipe exports it (encoder + decoder-step graphs).
   Both decodes use the same ONNX decoder graph and the same greedy choice; the end token is ignored so every row
   writes exactly --tokens tokens. With the cache each step feeds one token; without it each step feeds the whole
   prefix with an empty cache. The tokens must be the same; the time per output is compared.
2. `--pipeline`: `aiaas pipeline seq2seq` on the built-in numbers (extra overrides after --), BLEU vs the copy baseline.
3. `--serve MODEL.onnx --dataset DIR`: served = local `predict` on 50 test sentences, then its Bento (as `aiaas
   package` builds it) under 1/8/32 aiohttp clients sending the test sources as JSON `{"text": ...}`; requests/s,
   p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kv", action="store_true", help="past key/values vs whole-prefix decoding")
    parser.add_argument("--tokens", type=int, default=40, help="output tokens per row (--kv)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipeline", action="store_true", help="aiaas pipeline seq2seq on the built-in data")
    parser.add_argument("--serve", default=None, help="an exported model.onnx to package, serve and load")
    parser.add_argument("--dataset", default=None, help="its dataset dir (test sources are the request texts)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("overrides", nargs="*")
    return parser.parse_args()


def exported(folder: Path, vocab: int = 1000) -> tuple[object, dict]:
    """(encoder graph runner with .graphs["decoder"], decoder spec) of an untrained default-size model."""
    import torch

    from aiaas_cli.serving.runtime import OnnxGraph
    from aiaas_recipes.seq2seq.export import decoder_spec, export_spec
    from aiaas_recipes.seq2seq.model import Seq2SeqTransformer

    torch.manual_seed(0)
    net = Seq2SeqTransformer(vocab, max_positions=129).eval()
    meta = {"vocab_size": vocab, "max_target_tokens": 128, "max_source_tokens": 64, "tokenizer": "", "summaries": False}
    spec = export_spec(net, meta)
    for name, part in (("model", spec), ("decoder", spec.graphs["decoder"])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                part.module.eval(),
                part.example_inputs,
                str(folder / f"{name}.onnx"),
                dynamo=False,
                input_names=part.input_names,
                output_names=part.output_names,
                opset_version=18,
                dynamic_axes=part.dynamic_axes,
            )

    class Model(OnnxGraph):
        graphs = {"decoder": OnnxGraph(folder / "decoder.onnx", threads=1)}

    return Model(folder / "model.onnx", threads=1), decoder_spec(net, meta)


def cached(model, spec, ids, mask, steps: int) -> np.ndarray:
    from aiaas_recipes.common.generation.decoding import Decoding, generate
    from aiaas_recipes.common.generation.kv import Stepper

    memory = model.run({"src_ids": ids, "src_mask": mask})["memory_kv"]
    stepper = Stepper.start(model.graphs["decoder"], spec, len(ids), {"memory_kv": memory, "memory_mask": mask})
    first = stepper(np.full((len(ids), 1), spec["bos_id"]))
    return np.asarray(generate(stepper, first, [Decoding(max_new_tokens=steps)] * len(ids), [[]] * len(ids)))


def whole_prefix(model, spec, ids, mask, steps: int) -> np.ndarray:
    from aiaas_recipes.common.generation.kv import Cache

    memory = model.run({"src_ids": ids, "src_mask": mask})["memory_kv"]
    prefix = np.full((len(ids), 1), spec["bos_id"], dtype=np.int64)
    for _ in range(steps):
        cache = Cache.empty(len(ids), spec["layers"], spec["heads"], spec["head_dim"])
        feeds = {**cache.feeds(prefix, np.ones_like(prefix)), "memory_kv": memory, "memory_mask": mask}
        logits = model.graphs["decoder"].run(feeds)["logits"][:, -1]
        prefix = np.concatenate([prefix, logits.argmax(-1)[:, None]], axis=1)
    return prefix[:, 1:]


def bench_kv(args) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        model, spec = exported(Path(tmp))
        print(
            f"decoder: {spec['layers']} layers, {spec['heads']} heads x {spec['head_dim']}; {args.tokens} output tokens"
        )
        print(f"{'batch':>5} {'kv ms':>9} {'prefix ms':>10} {'speed-up':>9} same")
        for batch in (1, 8):
            ids = rng.integers(4, 1000, (batch, 24)).astype(np.int64)
            mask = np.ones_like(ids)
            times = {}
            for name, fn in (("kv", cached), ("prefix", whole_prefix)):
                fn(model, spec, ids, mask, 3)  # warm-up
                best = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    out = fn(model, spec, ids, mask, args.tokens)
                    best.append(time.perf_counter() - start)
                times[name] = (min(best) * 1000, out)
            same = np.array_equal(times["kv"][1], times["prefix"][1])
            ratio = times["prefix"][0] / times["kv"][0]
            print(f"{batch:>5} {times['kv'][0]:>9.1f} {times['prefix'][0]:>10.1f} {ratio:>8.2f}x {same}")


def bench_pipeline(args) -> None:
    from benchmarks.serving_kit import aiaas_json

    start = time.perf_counter()
    out = aiaas_json("pipeline", "seq2seq", *args.overrides)
    took = time.perf_counter() - start
    metrics, base = out["metrics"], out["metrics"].get("baseline", {})
    print(f"pipeline {took:.0f} s, run {out['run_id']}")
    for key in ("bleu", "chrf", "rougeL"):
        ours, theirs = metrics[key], base.get(key, float("nan"))
        name, ratio = base.get("name", "baseline"), ours / max(theirs, 1e-9)
        print(f"  {key:>7}: model {ours:6.2f}  {name} {theirs:6.2f}  ratio {ratio:.1f}x")


def bench_serve(args) -> None:
    """Served = local for 50 test sentences, then the load at 1/8/32 clients."""
    import requests

    from aiaas_cli.serving.runtime import Predictor
    from aiaas_recipes.seq2seq.dataset import read_pairs
    from benchmarks.serving_kit import AIAAS, CONCURRENCY, Process, free_port, load, package

    path = Path(args.serve)
    tag, settings = package("seq2seq", path, args.overrides)
    texts = [p["source"] for p in read_pairs(Path(args.dataset), "test")[:256]]
    local = Predictor(path, allowed={"aiaas_recipes.seq2seq.serving"}).predict(texts[:50])
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", Path(tmp) / "serve.log")
        try:
            served = [requests.post(f"{server.url}/predict", json={"text": t}, timeout=60).json() for t in texts[:50]]
            print(f"served = local predict: {sum(a == b for a, b in zip(served, local))} of 50 test sentences")
            print(f"bento {tag}: workers {settings.get('workers')}, threads {settings.get('threads')}")
            print(f"{'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} failures")
            for clients in CONCURRENCY[:3]:
                found = asyncio.run(
                    load(
                        f"{server.url}/predict",
                        texts,
                        clients,
                        args.seconds,
                        100_000,
                        body=lambda t: {"json": {"text": t}},
                    )
                )
                row = f"{clients:>7} {found['rps']:>8.1f} {found['p50']:>8.1f} {found['p99']:>8.1f} {found['failures']}"
                print(row)
        finally:
            server.stop()


def main() -> None:
    args = parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    if args.kv:
        bench_kv(args)
    if args.pipeline:
        bench_pipeline(args)
    if args.serve:
        bench_serve(args)


if __name__ == "__main__":
    main()
