"""Flat combining: threads that call at the same time have their items run as one batch by one of them.

For work that runs one call at a time however many threads call it (usearch's search does) but spreads a batch
over its own threads: calls from several request threads would otherwise run one after another on one core. No
timer and no extra thread: the first caller runs alone at once; callers arriving meanwhile wait, and the first of
them then runs everything that queued up (or the oldest ``most``), so a batch is exactly the calls that overlapped.
With ``most=1`` it is a fair queue: calls run in arrival order and each caller returns as soon as its own is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Slot:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: Any):
        self.item, self.done, self.result, self.error = item, False, None, None


class Combiner:
    """``combiner(item)`` -> ``run([items...])[i]`` for this caller's item, batched with concurrent callers'.

    ``run`` takes a list of items and returns one result per item, in order. An exception it raises is raised
    in every caller of that batch."""

    def __init__(self, run: Callable[[list], Sequence], most: int | None = None):
        self._run = run
        self._most = most  # items per batch (None: every one waiting)
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._busy = False

    def __call__(self, item: Any) -> Any:
        slot = _Slot(item)
        with self._cond:
            self._pending.append(slot)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: slot.done or not self._busy)
                if slot.done:
                    return _outcome(slot)
                batch = self._pending[: self._most]
                del self._pending[: len(batch)]
                self._busy = True
            self._run_batch(batch)  # the oldest waiting items: ours among them, or it is in a later batch

    def _run_batch(self, batch: list[_Slot]) -> None:
        try:
            results = list(self._run([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} items gave {len(results)} results")
            for each, result in zip(batch, results):
                each.result = result
        except BaseException as error:  # every waiter of this batch hears of it, not only the one running it
            for each in batch:
                each.error = error
        with self._cond:
            for each in batch:
                each.done = True
            self._busy = False
            self._cond.notify_all()


def _outcome(slot: _Slot) -> Any:
    if slot.error is not None:
        raise slot.error
    return slot.result
