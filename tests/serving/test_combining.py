"""Flat combining: overlapping calls run as one batch, each caller gets its own result or the batch's error."""

from __future__ import annotations

import threading
import time

import pytest

from aiaas_cli.serving.combining import Combiner


def run_in_threads(call, items: list) -> dict:
    results, start = {}, threading.Barrier(len(items))

    def one(item) -> None:
        start.wait()
        try:
            results[item] = call(item)
        except Exception as exc:  # kept to be asserted on
            results[item] = exc

    threads = [threading.Thread(target=one, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_overlapping_calls_share_a_batch_and_each_gets_its_own_result():
    batches = []

    def slow_square(items: list) -> list:
        batches.append(len(items))
        time.sleep(0.05)  # long enough for the other callers to queue behind the first batch
        return [i * i for i in items]

    results = run_in_threads(Combiner(slow_square), list(range(16)))
    assert results == {i: i * i for i in range(16)}
    assert sum(batches) == 16 and len(batches) < 16  # some calls were combined
    assert max(batches) > 1


def test_a_lone_call_runs_at_once_alone():
    batches = []
    combiner = Combiner(lambda items: batches.append(list(items)) or [x + 1 for x in items])
    assert [combiner(1), combiner(2)] == [2, 3] and batches == [[1], [2]]


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_still_runs():
    def fail_on_negative(items: list) -> list:
        time.sleep(0.02)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return items

    combiner = Combiner(fail_on_negative)
    results = run_in_threads(combiner, [-1, 1, 2, 3])
    assert any(isinstance(r, ValueError) for r in results.values())
    assert all(r == i or isinstance(r, ValueError) for i, r in results.items())
    assert combiner(5) == 5


def test_a_run_that_loses_results_is_an_error_not_a_wrong_answer():
    with pytest.raises(RuntimeError, match="gave 0 results"):
        Combiner(lambda items: [])(1)


def test_most_one_runs_calls_one_at_a_time_in_arrival_order():
    batches, order, running, release = [], [], threading.Event(), threading.Event()

    def run(items: list) -> list:
        batches.append(len(items))
        order.extend(items)
        running.set()
        release.wait(5)  # the first call holds on until the others have queued
        return [item * 10 for item in items]

    combiner, results = Combiner(run, most=1), {}

    def ask(item: int) -> None:
        results[item] = combiner(item)

    threads = [threading.Thread(target=ask, args=(item,)) for item in range(4)]
    threads[0].start()
    running.wait(5)
    for item in (1, 2, 3):  # queued in this order while 0 runs
        threads[item].start()
        deadline = time.monotonic() + 5
        while len(combiner._pending) < item and time.monotonic() < deadline:
            time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join()
    assert batches == [1, 1, 1, 1] and order == [0, 1, 2, 3]
    assert results == {0: 0, 1: 10, 2: 20, 3: 30}
