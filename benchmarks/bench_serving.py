"""Serving throughput: the packaged Bento vs a naive Flask app vs the in-process ceiling, at 1, 8 and 32 clients.

Two models: the digits SmallCNN (trained for two epochs and exported by `aiaas export` in a temporary workspace,
unless --home/--run name an exported run) and a torchvision resnet18 with random weights at 224x224, exported to
ONNX here with the same metadata. For each: the Bento that `aiaas package` builds, served by `aiaas serve`; a
Flask app (`app.run()` defaults) doing the same decode + ONNX Runtime work per request; and the ceiling, that
work in this process at the best batch size, without HTTP. Clients are aiohttp coroutines in this process on
loopback, so they share the CPU with the server; every loop is bounded in requests and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import serving_kit
from benchmarks.serving_kit import AIAAS, CONCURRENCY, Process, aiaas_json, flask_app, free_port, load

BATCHES = (1, 4, 8, 16, 32, 64)
FLASK_APP = flask_app('predictor.predict([request.files["image"].read()], k=5)[0]')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="time bound per measurement")
    parser.add_argument("--max-requests", type=int, default=4000, help="request bound per measurement")
    parser.add_argument("--home", help="an AIAAS_HOME that has an exported digits run (default: train one)")
    parser.add_argument("--run", help="the exported run id in --home")
    parser.add_argument("--serve", nargs="*", default=[], help="serve.* overrides for the Bento, e.g. threads=1")
    parser.add_argument("--export", nargs="*", default=[], help="digits' export overrides, e.g. export.quantize=int8")
    parser.add_argument("--logs", help="keep the servers' logs in this folder (default: a temporary one)")
    parser.add_argument("--bento-only", action="store_true", help="skip Flask (when tuning the Bento's settings)")
    parser.add_argument("--tracing", action="store_true", help="leave BentoML's OpenTelemetry middleware on")
    parser.add_argument("--http-ceiling", action="store_true", help="also serve a no-op model like digits")
    parser.add_argument("--models", nargs="*", default=["digits", "resnet18"], choices=["digits", "resnet18"])
    return parser.parse_args()


def digits_model(args: argparse.Namespace) -> tuple[Path, list[bytes]]:
    from aiaas_cli import workspace

    run_id = args.run or aiaas_json("pipeline", "image-cls", "trainer.max_epochs=2")["run_id"]
    exported = aiaas_json("export", "image-cls", f"run={run_id}", "export.register=false", *args.export)
    if args.export:
        print(f"digits exported with {' '.join(args.export)}: {exported.get('quantized') or 'float'} model served")
    images = sorted((workspace.builtin_dir() / "digits").rglob("*.png"))[:64]
    return Path(exported["onnx_path"]), [p.read_bytes() for p in images]


NOOP_METADATA = {
    "recipe": "image-cls",
    "serving_module": "aiaas_recipes.image_cls.serving",
    "labels": [str(i) for i in range(10)],
    "input_size": 32,
    "mean": [0.5] * 3,
    "std": [0.25] * 3,
    "input_names": ["image"],
    "output_names": ["logits"],
}


def noop_model(like: Path | None, workdir: Path) -> Path:
    """The HTTP-only ceiling's model: ``like``'s metadata and input (so decoding is the same work; an image-cls
    model of 32 px when None) and a graph that does nearly nothing (each image's channel means times a matrix)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from aiaas_cli.serving.runtime import OnnxModel
    from aiaas_cli.stages.export import embed_metadata

    metadata = OnnxModel(like, threads=1).metadata if like else NOOP_METADATA
    classes, size = len(metadata["labels"]), int(metadata["input_size"])
    weights = numpy_helper.from_array(np.ones((3, classes), np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["mean", "w"], [metadata["output_names"][0]]),
        ],
        "noop",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info(metadata["output_names"][0], TensorProto.FLOAT, ["batch", classes])],
        [weights],
    )
    path = workdir / "noop.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    embed_metadata(path, {**metadata, "run_id": "bench-noop"})
    return path


def resnet18_model(workdir: Path) -> tuple[Path, list[bytes]]:
    """torchvision resnet18 (random weights), exported with the aiaas metadata that serving reads."""
    from PIL import Image

    from aiaas_cli.stages.export import embed_metadata
    from benchmarks.bench_onnx import export_resnet18  # same exporter settings as the ONNX benchmark

    _, path = export_resnet18(workdir)
    metadata = {
        "recipe": "image-cls",
        "serving_module": "aiaas_recipes.image_cls.serving",
        "labels": [f"class_{i}" for i in range(1000)],
        "input_size": 224,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "input_names": ["image"],
        "output_names": ["logits"],
        "run_id": "bench-resnet18",
    }
    embed_metadata(path, metadata)
    rng = np.random.default_rng(0)
    images = []
    for _ in range(16):  # smooth random photos-like content, 256x256 JPEG (about 10 KB each)
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(small).resize((256, 256), Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return path, images


def package(path: Path, overrides: list[str], tracing: bool = False) -> str:
    """The image-cls Bento for this ONNX file (serve.* overrides given without the prefix, e.g. threads=1)."""
    serve = [f"serve.{o}" for o in overrides] + [f"serve.tracing={str(tracing).lower()}"]
    return serving_kit.package("image-cls", path, serve)[0]


def measure(server_url: str, images: list[bytes], args: argparse.Namespace) -> dict[int, dict]:
    results = {}
    for clients in CONCURRENCY:
        asyncio.run(load(server_url, images, clients, 1.0, 4 * clients))  # warm-up: sessions, batching stats
        results[clients] = asyncio.run(load(server_url, images, clients, args.seconds, args.max_requests))
    return results


def ceiling(path: Path, images: list[bytes], seconds: float) -> tuple[float, int]:
    """Decode + ONNX Runtime items/s in this process, at the best batch size (each timed for ``seconds`` / 3)."""
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(path)
    best = (0.0, 1)
    for size in BATCHES:
        batch = [images[i % len(images)] for i in range(size)]
        for _ in range(3):  # warm-up: ORT's memory arena and thread pool
            predictor.predict(batch)
        done, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds / 3 or done < 3 * size:
            predictor.predict(batch)
            done += size
        best = max(best, (done / (time.perf_counter() - began), size))
    return best


def bench_model(
    name: str, path: Path, images: list[bytes], args: argparse.Namespace, logs: Path, flask: bool = True
) -> dict:
    ceiling_rps, best_batch = ceiling(path, images, args.seconds)
    tag = package(path, args.serve, args.tracing)
    port = free_port()
    bento = Process([AIAAS, "serve", tag, "--port", str(port)], port, "/readyz", logs / f"{name}-bento.log")
    startup = bento.startup_s
    try:
        served = measure(f"{bento.url}/predict", images, args)
    finally:
        bento.stop()
    if args.bento_only or not flask:
        return {"name": name, "bento": served, "flask": {}, "ceiling": ceiling_rps, "best_batch": best_batch,
                "startup_s": startup}  # fmt: skip
    port = free_port()
    flask_cmd = [sys.executable, "-c", FLASK_APP, str(path), str(port)]
    flask = Process(flask_cmd, port, "/predict", logs / f"{name}-flask.log")
    try:
        naive = measure(f"{flask.url}/predict", images, args)
    finally:
        flask.stop()
    return {"name": name, "bento": served, "flask": naive, "ceiling": ceiling_rps, "best_batch": best_batch, "tag": tag,
            "startup_s": startup}  # fmt: skip


def report(results: list[dict], args: argparse.Namespace) -> None:
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; {args.seconds:.0f}s per measurement")
    print(f"Bento serve overrides: {' '.join(args.serve) or '(defaults from conf/serve/default.yaml)'}")
    header = (
        f"{'model':<10} {'server':<7} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} client CPU"
    )
    print(header)
    for result in results:
        for server in ("bento", "flask"):
            for clients, row in result[server].items():
                print(
                    f"{result['name']:<10} {server:<7} {clients:>7} {row['rps']:>8.1f} {row['p50']:>8.1f} "
                    f"{row['p99']:>8.1f} {row['failures']:>6} {row.get('client_cpu', float('nan')):>10.2f}"
                )
        print(
            f"{result['name']:<10} ceiling {'-':>7} {result['ceiling']:>8.1f}  in-process, batch {result['best_batch']}"
        )
        print(f"{result['name']:<10} `aiaas serve` start-up to ready: {result['startup_s']:.1f} s (goal < 3 s)")
    print()
    by_name = {result["name"]: result for result in results}
    if "noop" in by_name and "digits" in by_name:
        for clients in CONCURRENCY:
            ratio = by_name["digits"]["bento"][clients]["rps"] / by_name["noop"]["bento"][clients]["rps"]
            target = f" (target >= 0.6x) {_verdict(ratio >= 0.6)}" if clients == 32 else ""
            print(f"digits / HTTP-only ceiling (no-op model, same server) at {clients} clients: {ratio:.2f}x{target}")
    for result in results:
        if not result["flask"]:
            continue
        bento, flask = result["bento"][32]["rps"], result["flask"][32]["rps"]
        vs_flask, vs_ceiling = bento / flask, bento / result["ceiling"]
        if result["name"] == "digits":  # issue 14's targets: digits vs Flask, resnet18 vs its in-process ceiling
            print(f"digits at 32 clients: Bento/Flask {vs_flask:.2f}x (target >= 3.0x) {_verdict(vs_flask >= 3.0)}; "
                  f"Bento/in-process ceiling {vs_ceiling:.2f}x")  # fmt: skip
        else:
            print(f"{result['name']} at 32 clients: Bento/in-process ceiling {vs_ceiling:.2f}x (target >= 0.9x) "
                  f"{_verdict(vs_ceiling >= 0.9)}; Bento/Flask {vs_flask:.2f}x")  # fmt: skip


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-serving-") as tmp:
        os.environ["AIAAS_HOME"] = args.home or str(Path(tmp) / "home")
        os.environ.setdefault("BENTOML_HOME", str(Path(tmp) / "bentoml"))
        if not args.home:
            args.run = None
        models = {"digits": lambda: digits_model(args), "resnet18": lambda: resnet18_model(Path(tmp))}
        results = []
        for name in args.models:
            path, images = models[name]()
            if name == "digits" and args.http_ceiling:  # the same server stack and images, a no-op model
                logs = Path(args.logs or tmp)
                logs.mkdir(parents=True, exist_ok=True)
                noop = bench_model("noop", noop_model(path, Path(tmp)), images, args, logs, flask=False)
                results.append(noop)
            logs = Path(args.logs or tmp)
            logs.mkdir(parents=True, exist_ok=True)
            results.append(bench_model(name, path, images, args, logs))
        report(results, args)


if __name__ == "__main__":
    main()
