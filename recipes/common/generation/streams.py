"""Continuous batching: the requests of every client decoded together, one token step at a time.

One background thread owns a decoder-step graph (kv.py's convention) and the past key/values of every active
request, one row each. Between two steps, new requests are prefilled (together) and their cache rows merged into
the running batch (`Cache.merge`), and requests that finished or whose client went away leave it (`Cache.take`).
Each row chooses its token with its own settings and seeded generator (`decoding.choose`), so what a request
writes does not depend on what else is in the batch: greedy output is the output of a lone run.

ONNX Runtime runs in that thread, off the event loop; tokens reach each request's `Stream` (an async iterator)
through its event loop. Torch-free, like everything in this package.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiaas_recipes.common.generation.decoding import Decoding, choose, rng
from aiaas_recipes.common.generation.kv import Cache, Stepper, left_pad

REPLACEMENT = "\ufffd"  # what a byte-level detokeniser writes for a character whose bytes have not all come yet


@dataclass(frozen=True)
class Piece:
    """What one step added to a request: its token and the text that is now safe to show (may be empty)."""

    token: int
    text: str


class Stream:
    """One request's output as it is written: ``async for piece in stream``; afterwards ``finish_reason``
    ("stop": end token or stop string, "length": max_new_tokens, "cancelled") and ``tokens``.

    Leaving the loop early (``aclose``, a client that disconnected) or ``cancel()`` takes the request out of
    the batch before the next step.
    """

    def __init__(self, prompt: list[int], settings: Decoding, stop: list[str] | None, detok: Callable, history):
        self.loop = asyncio.get_running_loop()
        self.items: deque = deque()  # pieces, then None at the end (or an exception), filled by the event loop
        self.arrived = asyncio.Event()
        self.prompt, self.settings, self.detok = list(prompt), settings, detok
        self.stop = [s for s in stop or [] if s]
        self.history = list(self.prompt if history is None else history)  # what the repetition penalty sees
        self.generator = rng(settings)
        self.tokens: list[int] = []
        self.text = ""  # the text shown so far
        self.finish_reason: str | None = None
        self.cancelled = False
        self.submitted = time.monotonic()
        self.first_token_s: float | None = None  # seconds from submit to the first token
        self.outbox: list[Any] = []  # what this step produced, handed to the event loop once per step
        self.banned: int | None = None  # a token never chosen (ignore_eos: the end token)

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Piece:
        while not self.items:
            self.arrived.clear()
            try:
                await self.arrived.wait()
            except BaseException:  # the consumer was cancelled while waiting (a disconnect): stop decoding
                self.cancel()
                raise
        item = self.items.popleft()
        if item is None:
            self.items.appendleft(None)  # ended: every later call ends too
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self.finish_reason is None:
            self.cancelled = True

    async def complete(self) -> str:
        """Wait for the whole output; its text."""
        async for _ in self:
            pass
        return self.text

    def ready(self) -> list[Piece]:
        """The pieces that have already arrived: a reader that fell behind takes them in one go."""
        pieces = []
        while self.items and isinstance(self.items[0], Piece):
            pieces.append(self.items.popleft())
        return pieces

    # the rest runs in the scheduler's thread
    def _push(self, item: Any) -> None:
        self.outbox.append(item)

    def _deliver(self) -> None:
        items, self.outbox = self.outbox, []
        if items:
            _hand_over(self.loop, [(self, items)])

    def _finish(self, reason: str, error: BaseException | None = None) -> None:
        self.finish_reason = reason
        if error is not None:
            self._push(error)
        self._push(None)
        self._deliver()

    def add(self, token: int) -> None:
        """Record the token chosen for this request, show what text is safe to show, finish when due."""
        if self.first_token_s is None:
            self.first_token_s = time.monotonic() - self.submitted
        if token == self.settings.eos_id:
            return self._finish("stop")
        self.tokens.append(token)
        text = self.detok(self.tokens)
        stop_at = self._stop_at(text)
        if stop_at is not None:
            self._show(token, text[:stop_at])
            return self._finish("stop")
        if len(self.tokens) >= self.settings.max_new_tokens:
            self._show(token, text)
            return self._finish("length")
        self._show(token, text[: len(text) - self._held(text)])

    def _show(self, token: int, text: str) -> None:
        piece = text[len(self.text) :] if text.startswith(self.text) else ""
        self.text += piece
        self._push(Piece(token, piece))

    def _stop_at(self, text: str) -> int | None:
        """Where the first stop string starts in ``text`` (searched from just before the text already shown)."""
        found = [text.find(s, max(len(self.text) - len(s) + 1, 0)) for s in self.stop]
        found = [at for at in found if at >= 0]
        return min(found) if found else None

    def _held(self, text: str) -> int:
        """How many characters at the end to hold back: an unfinished character, or a possible stop string's start."""
        held = len(text) - len(text.rstrip(REPLACEMENT))
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:size]):
                    held = max(held, size)
                    break
        return held


def _hand_over(loop: asyncio.AbstractEventLoop, batches: list[tuple[Stream, list[Any]]]) -> None:
    """Give every stream its new items with one call into the event loop (one wake-up per step, not per request)."""

    def put() -> None:
        for stream, items in batches:
            stream.items.extend(items)
            stream.arrived.set()

    try:
        loop.call_soon_threadsafe(put)
    except RuntimeError:  # the loop is closed: nobody is listening any more
        for stream, _ in batches:
            stream.cancelled = True


class Scheduler:
    """``submit(prompt_ids, settings, stop, detok)`` -> a `Stream`; every active request steps together.

    ``graph``: the decoder-step graph (runtime.OnnxGraph or anything with ``run(feeds) -> outputs``); ``spec``:
    its "layers", "heads", "head_dim" and "pad_id"; ``max_rows``: at most this many requests decode at once (the
    others wait for a row to leave).
    """

    def __init__(self, graph: Any, spec: dict, max_rows: int = 32):
        self.graph, self.spec, self.max_rows = graph, spec, max(1, int(max_rows))
        self.pad_id = int(spec.get("pad_id") or 0)
        self.waiting: deque[Stream] = deque()
        self.wake = threading.Condition()
        self.rows: list[Stream] = []
        self.stepper: Stepper | None = None
        self.logits: np.ndarray | None = None  # [rows, vocab]: what each row chooses its next token from
        self.thread: threading.Thread | None = None
        self.steps = 0
        self.widest = 0  # the most rows one step has decoded together

    def submit(
        self,
        prompt_ids: list[int],
        settings: Decoding,
        stop: list[str] | None = None,
        detok: Callable[[list[int]], str] | None = None,
        history: list[int] | None = None,
        ignore_eos: bool = False,
    ) -> Stream:
        """Queue a request (call it on the event loop that reads the stream); ``history``: what the repetition
        penalty counts besides the output (default: the prompt); ``ignore_eos``: never choose the end token, write
        max_new_tokens tokens (benchmarks)."""
        if not prompt_ids:
            raise ValueError("the prompt has no tokens")
        if settings.beam_size > 1:
            raise ValueError("beam search does not stream: use beam_size 1")
        stream = Stream(prompt_ids, settings, stop, detok or (lambda ids: ""), history)
        stream.banned = settings.eos_id if ignore_eos else None
        with self.wake:
            self.waiting.append(stream)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._serve, name="aiaas-streams", daemon=True)
                self.thread.start()
            self.wake.notify()
        return stream

    @property
    def active(self) -> int:
        return len(self.rows)

    def _serve(self) -> None:
        while True:
            with self.wake:
                while not self.rows and not self.waiting:
                    self.wake.wait()
                admitted = []
                while self.waiting and len(self.rows) + len(admitted) < self.max_rows:
                    stream = self.waiting.popleft()
                    if stream.cancelled:
                        stream._finish("cancelled")
                    else:
                        admitted.append(stream)
            try:
                self._step(admitted)
            except Exception as exc:  # the model failed: every request in the batch gets the error, then a fresh start
                for stream in [*self.rows, *admitted]:
                    if stream.finish_reason is None:
                        stream._finish("error", exc)
                self.rows, self.stepper, self.logits = [], None, None

    def _step(self, admitted: list[Stream]) -> None:
        """Admit the new requests, choose every row's token, drop the rows that are done, feed the rest."""
        if admitted:
            self._admit(admitted)
        tokens = []
        for row, stream in enumerate(self.rows):
            if stream.cancelled:
                stream._finish("cancelled")
                tokens.append(self.pad_id)
                continue
            logits = self.logits[row]
            if stream.banned is not None:
                logits = logits.copy()
                logits[stream.banned] = -np.inf
            token = choose(logits, stream.history + stream.tokens, stream.settings, stream.generator)
            stream.add(token)
            tokens.append(token)
        self._deliver()
        keep = [row for row, stream in enumerate(self.rows) if stream.finish_reason is None]
        self.widest = max(self.widest, len(self.rows))
        if len(keep) < len(self.rows):
            self.rows = [self.rows[row] for row in keep]
            if not self.rows:
                self.stepper, self.logits = None, None
                return
            self.stepper.take(np.asarray(keep))
        self.logits = self.stepper(np.asarray(tokens, dtype=np.int64)[keep][:, None])
        self.steps += 1

    def _deliver(self) -> None:
        """This step's pieces to their event loops: one call per loop, not one per request."""
        by_loop: dict[Any, list] = {}
        for stream in self.rows:
            if stream.outbox:
                by_loop.setdefault(stream.loop, []).append((stream, stream.outbox))
                stream.outbox = []
        for loop, batches in by_loop.items():
            _hand_over(loop, batches)

    def _admit(self, streams: list[Stream]) -> None:
        """Prefill the new requests together and merge their cache rows into the running batch."""
        stepper = Stepper.start(self.graph, self.spec, len(streams))
        tokens, mask = left_pad([s.prompt for s in streams], self.pad_id)
        logits = stepper(tokens, mask)
        if self.stepper is None:
            self.stepper, self.logits = stepper, logits
        else:
            self.stepper.cache = Cache.merge([self.stepper.cache, stepper.cache])
            self.logits = np.concatenate([self.logits, logits])
        self.rows.extend(streams)
