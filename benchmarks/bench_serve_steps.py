"""Where a served image's CPU goes without HTTP: each step of the model path in this process, one thread.

For an exported image-cls model (digits unless --onnx names one) and its built-in images: the upload's pixel-limit
check, decode (PNG -> RGB array at the model's size), normalise, the ONNX Runtime call (1 intra-op thread, as each
Bento worker runs it), softmax/top-k and JSON, per image at batch 1, 4 and 32. Then the model's arithmetic: the
multiply-adds of its Conv/Gemm nodes (ONNX shape inference) and the GFLOP/s ONNX Runtime reaches, next to
numpy's float32 matrix product on one thread (what one core can do) — so a slow ceiling can be told apart from a
slow runtime. CPU time (`time.process_time`), so a busy machine inflates it less than wall time.

    .venv/bin/python -m benchmarks.bench_serve_steps --home $AIAAS_HOME --run <exported digits run>
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# numpy's BLAS reads these when it loads: the matrix-product reference is one core, like each worker's ORT session
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def cpu_us(call: Callable[[], object], seconds: float = 1.0) -> float:
    """CPU microseconds per call (after a warm-up), over about ``seconds``."""
    for _ in range(5):
        call()
    done, began, wall = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < seconds:
        call()
        done += 1
    return (time.process_time() - began) / done * 1e6


def multiply_adds(path: Path) -> int:
    """Multiply-adds of one input row through the model's Conv and Gemm/MatMul nodes."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    model = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.value_info}
    shapes.update({v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.output})
    weights = {w.name: list(w.dims) for w in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type == "Conv" and node.input[1] in weights:
            per_output = int(np.prod(weights[node.input[1]][1:]))  # in-channels per group x kernel
            total += int(np.prod(shapes[node.output[0]])) * per_output
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in weights:
            total += int(np.prod(weights[node.input[1]]))
    return total


def sgemm_gflops(size: int = 1024) -> float:
    """numpy float32 matrix product on this thread (BLAS threads limited by the caller's environment)."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    seconds = cpu_us(lambda: a @ a, 1.0) / 1e6
    return 2 * size**3 / seconds / 1e9


def steps(path: Path, images: list[bytes]) -> None:
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(path, threads=1)
    adapter, model = predictor.adapter, predictor.model
    check = getattr(adapter, "check_request", None)
    if check is not None:
        print(f"{'pixel-limit check':<24}{cpu_us(lambda: check([images[0]])):>9.1f} us per image")
    print(f"{'decode':<24}{cpu_us(lambda: adapter.decode(images[0])):>9.1f} us per image")
    items = [adapter.decode(image) for image in images]
    for size in (1, 4, 32):
        batch = [items[i % len(items)] for i in range(size)]
        feeds = adapter.batch(batch)
        outputs = model.run(feeds)
        answers = adapter.postprocess(outputs, batch, 5)
        for name, call in (
            ("normalise", lambda b=batch: adapter.batch(b)),
            ("ONNX Runtime", lambda f=feeds: model.run(f)),
            ("softmax + top-k", lambda o=outputs, b=batch: adapter.postprocess(o, b, 5)),
            ("JSON", lambda a=answers: [json.dumps(x) for x in a]),
        ):
            print(f"{name + f' (batch {size})':<24}{cpu_us(call) / size:>9.1f} us per image")
    macs, feeds = multiply_adds(path), adapter.batch([items[i % len(items)] for i in range(32)])
    ort_s = cpu_us(lambda: model.run(feeds)) / 1e6
    print(f"model: {macs / 1e6:.1f} M multiply-adds per image")
    print(f"ONNX Runtime at batch 32: {2 * macs * 32 / ort_s / 1e9:.1f} GFLOP/s")
    print(f"numpy float32 matmul, 1 thread: {sgemm_gflops():.1f} GFLOP/s (what one core does)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an AIAAS_HOME with an exported digits run (default: train one)")
    parser.add_argument("--run", help="the exported run id in --home")
    parser.add_argument("--onnx", help="an exported image-cls model instead of the digits run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-steps-") as tmp:
        os.environ["AIAAS_HOME"] = args.home or str(Path(tmp) / "home")
        from benchmarks.bench_serving import digits_model

        path, images = digits_model(args)
        path = Path(args.onnx) if args.onnx else path
        print(f"{path}: {len(images)} built-in digits PNGs; load average {os.getloadavg()[0]:.1f}")
        steps(path, images)


if __name__ == "__main__":
    main()
