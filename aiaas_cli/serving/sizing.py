"""How many worker processes and ONNX Runtime threads a Bento gets (`serve.workers=auto`, `serve.threads=auto`).

Measured on 2 cores (BENCHMARKS.md, issue 14): for digits (~0.8 ms per image) Python's per-request work (HTTP,
decoding, batching) is as big as the model's, and one process runs it on one core at a time, so 2 workers x 1
ONNX Runtime thread serve 1.95x what 1 worker x 2 threads do. For resnet18 at 224 px (~50 ms per image) the model
is all the work: 1 worker whose session uses every core answers one client in 30 ms instead of 48-55, and no
core idles because the clients' keep-alive connections happened to land on one of two workers.
"""

from __future__ import annotations

import time
from typing import Any

SLOW_MS = 10.0  # per item, one thread: from here one worker with every core (measured at 0.8 and ~50 ms only)
SYMBOLIC_LENGTH = 32  # a non-batch axis of unknown size (a text's tokens): timed at this length
_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def item_ms(model: Any, budget_s: float = 0.5) -> float | None:
    """Median milliseconds of one item through ``model`` (an ONNX file, or an OnnxModel already open on one thread)
    on one thread (zeros as input, at most ``budget_s`` of runs); None when it does not run on zeros (then the layout
    for a fast model is used)."""
    from aiaas_cli.serving.runtime import OnnxModel

    if not isinstance(model, OnnxModel):
        model = OnnxModel(model, threads=1)
    try:
        feeds = zero_feeds(model.session.get_inputs())
        model.run(feeds)  # warm-up: the memory arena
        times: list[float] = []
        deadline = time.perf_counter() + budget_s
        while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 50):
            began = time.perf_counter()
            model.run(feeds)
            times.append((time.perf_counter() - began) * 1000)
    except Exception:  # an input it cannot take as zeros, an unknown type: not worth failing the package for
        return None
    return sorted(times)[len(times) // 2]


def zero_feeds(inputs: list[Any]) -> dict[str, Any]:
    """One item of zeros per input: batch axis 1, other unknown axes ``SYMBOLIC_LENGTH``."""
    import numpy as np

    feeds = {}
    for spec in inputs:
        unknown = [1] + [SYMBOLIC_LENGTH] * (len(spec.shape) - 1)  # what a symbolic axis gets
        shape = [size if isinstance(size, int) and size > 0 else unknown[i] for i, size in enumerate(spec.shape)]
        feeds[spec.name] = np.zeros(shape, dtype=_DTYPES[spec.type])
    return feeds


def layout(workers: Any, threads: Any, ms: float | None) -> tuple[int, int | None]:
    """(workers, intra-op threads per worker; None: every core) with each "auto" resolved from ``ms`` per item."""
    if workers == "auto":
        workers = 1 if ms is not None and ms >= SLOW_MS else 2
    if threads == "auto":
        threads = None if workers == 1 else 1
    return int(workers), None if threads is None else int(threads)


def describe(workers: int, threads: int | None, ms: float | None) -> str:
    cost = "not timed" if ms is None else f"{ms:.1f} ms per item on one thread here"
    per = "every core" if threads is None else f"{threads} ONNX Runtime thread{'s' if threads > 1 else ''}"
    return f"Serving with {workers} worker{'s' if workers > 1 else ''} x {per} (model: {cost})"
