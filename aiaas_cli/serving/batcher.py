"""An in-process micro-batcher: concurrent requests' arrays go through ONNX Runtime as one batch.

Hand-written because BentoML 1.4's adaptive batching needs either a batchable API whose request body is a
list (the `/predict` contract is one file in, one object out) or a second service that every request reaches
through an extra HTTP hop; on a small machine that hop costs more than batching saves. Here the batch is
gathered on the event loop and run in ONE worker thread, so ONNX Runtime's own intra-op threads get the cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiaas_cli.serving.runtime import Feeds, concat, split

Pending = tuple[Feeds, asyncio.Future]


class MicroBatcher:
    """``await submit(feeds)`` -> ``infer(feeds)``, computed together with the rows of concurrent submissions.

    A batch starts with the oldest waiting submission, takes what else is queued, then waits up to
    ``max_latency_ms`` for more until it holds ``max_batch_size`` rows (0 ms: only what queued up meanwhile).
    Feeds are dicts of arrays (ONNX input name -> rows), each with one shape past the first axis.
    """

    def __init__(self, infer: Callable[[Feeds], Feeds], max_batch_size: int = 32, max_latency_ms: float = 5):
        self.infer = infer
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency_ms / 1000
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiaas-infer")
        self.queue: asyncio.Queue[Pending] | None = None
        self.worker: asyncio.Task | None = None

    async def submit(self, rows: Feeds) -> Feeds:
        """``infer(rows)``, batched with other callers'; ``infer``'s exception is raised here too."""
        if self.worker is None or self.worker.done():  # started on the loop that serves the requests
            self.queue = asyncio.Queue()
            self.worker = asyncio.create_task(self._serve())
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((rows, future))
        return await future

    async def _serve(self) -> None:
        while True:
            await self._run(await self._gather())

    async def _gather(self) -> list[Pending]:
        loop = asyncio.get_running_loop()
        pending = [await self.queue.get()]
        size, deadline = _rows(pending[0][0]), loop.time() + self.max_latency
        while size < self.max_batch_size:
            if self.queue.empty():
                wait = deadline - loop.time()
                if wait <= 0:
                    break
                try:
                    pending.append(await asyncio.wait_for(self.queue.get(), wait))
                except TimeoutError:
                    break
            else:
                pending.append(self.queue.get_nowait())
            size += _rows(pending[-1][0])
        return pending

    async def _run(self, pending: list[Pending]) -> None:
        try:
            rows = pending[0][0] if len(pending) == 1 else concat([rows for rows, _ in pending])
            outputs = await asyncio.get_running_loop().run_in_executor(self.executor, self.infer, rows)
            parts = [outputs] if len(pending) == 1 else split(outputs, [_rows(rows) for rows, _ in pending])
        except Exception as exc:  # every caller of this batch gets the error; the next batch runs as usual
            parts = [exc] * len(pending)
        for (_, future), part in zip(pending, parts, strict=True):
            if not future.done():  # a caller that went away (client disconnected) has a cancelled future
                if isinstance(part, Exception):
                    future.set_exception(part)
                else:
                    future.set_result(part)


def _rows(feeds: Feeds) -> int:
    return len(next(iter(feeds.values())))
