"""The continuous-batching scheduler on a small Transformer decoder written in numpy (numpy_decoder.py): requests
that join and leave a running batch write exactly what they write alone, finished and cancelled ones leave the
batch, stop strings cut the text, and no more than max_rows decode at once."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from numpy_decoder import NumpyDecoder, detok

from aiaas_recipes.common.generation.decoding import Decoding, generate
from aiaas_recipes.common.generation.kv import Stepper, left_pad
from aiaas_recipes.common.generation.streams import Scheduler

PROMPTS = [[2, 5, 9], [7], [3, 3, 3, 3, 3, 3, 4], [11, 12], [20, 21, 22, 23], [6, 30]]


def lone(model: NumpyDecoder, prompt: list[int], settings: Decoding) -> list[int]:
    """What the prompt gets decoded on its own, with the shared generate loop."""
    stepper = Stepper.start(model, model.spec, 1)
    tokens, mask = left_pad([prompt], 0)
    return generate(stepper, stepper(tokens, mask), [settings], [list(prompt)])[0]


async def _tokens(stream) -> list[int]:
    return [piece.token for piece in [p async for p in stream] if piece.token != stream.settings.eos_id]


def test_requests_joining_a_running_batch_write_what_they_write_alone():
    model = NumpyDecoder(delay=0.002)
    settings = [Decoding(max_new_tokens=8 + 3 * i, eos_id=1) for i in range(len(PROMPTS))]
    settings[4] = Decoding(max_new_tokens=12, eos_id=1, temperature=0.9, top_k=10, seed=7)
    settings[5] = Decoding(max_new_tokens=12, eos_id=1, temperature=1.2, top_p=0.9, repetition_penalty=1.3, seed=3)
    scheduler = Scheduler(model, model.spec, max_rows=8)

    async def staggered():
        streams = []
        for prompt, setting in zip(PROMPTS, settings):
            streams.append(scheduler.submit(prompt, setting, detok=detok))
            await asyncio.sleep(0.004)  # the next one joins while the others are decoding
        return await asyncio.gather(*(_tokens(s) for s in streams)), streams

    outputs, streams = asyncio.run(staggered())
    assert outputs == [lone(model, p, s) for p, s in zip(PROMPTS, settings)]
    assert scheduler.widest > 1 and max(model.calls) > 1  # they really were decoded together
    assert [s.text for s in streams] == [detok(o) for o in outputs]
    assert {s.finish_reason for s in streams} <= {"stop", "length"}
    assert scheduler.active == 0


def test_a_cancelled_request_leaves_the_batch_and_the_others_go_on():
    model = NumpyDecoder(delay=0.003)
    scheduler = Scheduler(model, model.spec, max_rows=4)
    long = Decoding(max_new_tokens=40)  # no end token: runs to its limit

    async def scenario():
        keep = scheduler.submit([4, 5], long)
        gone = scheduler.submit([8], long)
        seen = 0
        async for _ in gone:
            seen += 1
            if seen == 3:
                break  # the client went away
        await gone.aclose()
        await asyncio.sleep(0.05)
        rows_after = scheduler.active
        return await _tokens(keep), gone, rows_after

    kept, gone, rows_after = asyncio.run(scenario())
    assert kept == lone(model, [4, 5], long)
    assert gone.finish_reason == "cancelled" and len(gone.tokens) < 40
    assert rows_after == 1


def test_stop_strings_cut_the_text_and_are_never_shown():
    model = NumpyDecoder()
    scheduler = Scheduler(model, model.spec)
    full = detok(lone(model, [2, 5, 9], Decoding(max_new_tokens=20)))
    stop = full[5:7]  # two letters in the middle of what it writes

    async def run():
        stream = scheduler.submit([2, 5, 9], Decoding(max_new_tokens=20), stop=[stop], detok=detok)
        shown = "".join([p.text async for p in stream])
        return shown, stream

    shown, stream = asyncio.run(run())
    assert shown == stream.text == full[: full.find(stop)]
    assert stream.finish_reason == "stop"


def test_no_more_than_max_rows_decode_at_once_and_every_request_finishes():
    model = NumpyDecoder()
    scheduler = Scheduler(model, model.spec, max_rows=2)
    settings = Decoding(max_new_tokens=6)

    async def run():
        streams = [scheduler.submit(p, settings) for p in PROMPTS]
        return await asyncio.gather(*(_tokens(s) for s in streams))

    outputs = asyncio.run(run())
    assert outputs == [lone(model, p, settings) for p in PROMPTS]
    assert max(model.calls) <= 2 and scheduler.widest == 2


def test_a_failing_model_fails_its_requests_and_the_next_ones_still_run():
    model = NumpyDecoder()
    broken = {"once": True}
    run = model.run

    def flaky(feeds):
        if broken.pop("once", False):
            raise RuntimeError("out of memory")
        return run(feeds)

    model.run = flaky
    scheduler = Scheduler(model, model.spec)

    async def scenario():
        with pytest.raises(RuntimeError, match="out of memory"):
            await scheduler.submit([3, 4], Decoding(max_new_tokens=4)).complete()
        return await _tokens(scheduler.submit([3, 4], Decoding(max_new_tokens=4)))

    assert asyncio.run(scenario()) == lone(NumpyDecoder(), [3, 4], Decoding(max_new_tokens=4))


def test_empty_prompts_and_beam_search_are_refused():
    model = NumpyDecoder()
    scheduler = Scheduler(model, model.spec)

    async def submit(prompt, settings):
        scheduler.submit(prompt, settings)

    with pytest.raises(ValueError, match="no tokens"):
        asyncio.run(submit([], Decoding()))
    with pytest.raises(ValueError, match="beam"):
        asyncio.run(submit([2], Decoding(beam_size=2)))
    assert np.asarray(model.calls).size == 0
