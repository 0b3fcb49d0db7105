"""The in-process micro-batcher: concurrent submissions share one call, and each caller gets its own rows."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from aiaas_cli.serving.batcher import MicroBatcher


class Recorder:
    """A fake model: y = x * 10, ids + 1; remembers the batch sizes and the threads it ran on."""

    def __init__(self, fail: bool = False):
        self.sizes: list[int] = []
        self.threads: set[str] = set()
        self.fail = fail

    def __call__(self, feeds: dict) -> dict:
        self.sizes.append(len(feeds["x"]))
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model exploded")
        return {"y": feeds["x"] * 10, "ids": feeds["ids"] + 1}


def rows(start: int, count: int) -> dict:
    """Two feeds of different dtypes and shapes, as a model with several inputs takes them."""
    x = np.arange(start, start + count, dtype=np.float32).reshape(count, 1)
    return {"x": x, "ids": np.tile(x.astype(np.int64), (1, 3))}


def test_concurrent_submissions_are_batched_and_answered_in_order():
    model = Recorder()
    batcher = MicroBatcher(model, max_batch_size=64, max_latency_ms=50)

    async def main():
        return await asyncio.gather(*(batcher.submit(rows(10 * i, 1 + i % 3)) for i in range(8)))

    answers = asyncio.run(main())
    assert model.sizes == [sum(1 + i % 3 for i in range(8))]  # one ONNX Runtime call for all eight callers
    for i, answer in enumerate(answers):
        np.testing.assert_array_equal(answer["y"], rows(10 * i, 1 + i % 3)["x"] * 10)
        np.testing.assert_array_equal(answer["ids"], rows(10 * i, 1 + i % 3)["ids"] + 1)
    assert len(model.threads) == 1 and threading.current_thread().name not in model.threads


def test_batches_stop_at_max_batch_size():
    model = Recorder()
    batcher = MicroBatcher(model, max_batch_size=4, max_latency_ms=50)

    async def main():
        return await asyncio.gather(*(batcher.submit(rows(i, 1)) for i in range(10)))

    answers = asyncio.run(main())
    assert model.sizes == [4, 4, 2]
    assert [float(a["y"][0, 0]) for a in answers] == [10.0 * i for i in range(10)]


def test_a_lone_request_waits_no_longer_than_the_window():
    model = Recorder()
    batcher = MicroBatcher(model, max_batch_size=32, max_latency_ms=0)

    async def main():
        return await asyncio.wait_for(batcher.submit(rows(3, 2)), timeout=5)

    np.testing.assert_array_equal(asyncio.run(main())["y"], rows(3, 2)["x"] * 10)
    assert model.sizes == [2]


def test_an_exception_reaches_every_caller_and_the_batcher_goes_on():
    model = Recorder(fail=True)
    batcher = MicroBatcher(model, max_batch_size=64, max_latency_ms=20)

    async def main():
        failed = await asyncio.gather(*(batcher.submit(rows(i, 1)) for i in range(3)), return_exceptions=True)
        model.fail = False
        return failed, await batcher.submit(rows(7, 1))

    failed, after = asyncio.run(main())
    assert len(failed) == 3 and all(isinstance(e, RuntimeError) and "exploded" in str(e) for e in failed)
    np.testing.assert_array_equal(after["y"], rows(7, 1)["x"] * 10)


@pytest.mark.parametrize("latency_ms", [0, 5])
def test_requests_arriving_during_a_run_go_in_the_next_batch(latency_ms):
    model = Recorder()
    batcher = MicroBatcher(model, max_batch_size=64, max_latency_ms=latency_ms)

    async def main():
        first = asyncio.ensure_future(batcher.submit(rows(0, 1)))
        await asyncio.sleep(0.05)  # the first batch is running (or done)
        rest = await asyncio.gather(*(batcher.submit(rows(i, 1)) for i in range(1, 5)))
        return [await first, *rest]

    answers = asyncio.run(main())
    assert sum(model.sizes) == 5 and model.sizes[0] == 1
    assert [float(a["y"][0, 0]) for a in answers] == [10.0 * i for i in range(5)]
