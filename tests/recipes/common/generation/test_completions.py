"""OpenAI's completions API (completions.py) over real HTTP: uvicorn in a thread serves it behind the request guard,
as a Bento mounts it under /v1, on the numpy Transformer decoder (numpy_decoder.py) with a letter tokenizer; the
official `openai` client streams from it. The served text/gen recipe is tested end to end in
tests/recipes/text_gen."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import openai
import pytest
import uvicorn
from conftest import free_port
from numpy_decoder import NumpyDecoder, detok
from starlette.applications import Starlette
from starlette.routing import Mount

from aiaas_cli.serving.limits import JSON_BODY, RequestGuard
from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.common.generation import completions
from aiaas_recipes.common.generation.decoding import Decoding, generate
from aiaas_recipes.common.generation.kv import Stepper, left_pad
from aiaas_recipes.common.generation.streams import Scheduler

MAX_NEW, MAX_CHARS = 48, 120


class LetterAdapter:
    """A text adapter for the numpy decoder, shaped like text-gen's: letters are tokens 2..27 (what detok writes)."""

    def __init__(self, model: NumpyDecoder):
        self.spec = model.spec

    def encode(self, text: str) -> list[int]:
        return [2 + (ord(c) - 97 - 2) % 26 for c in text.lower() if c.isascii() and c.isalpha()]

    def decode_tokens(self, ids: list[int]) -> str:
        return detok(ids)

    def render_chat(self, messages: list[dict]) -> str:
        if any(m["role"] not in ("system", "user", "assistant") for m in messages):
            raise BadInput("unknown role", status=422)
        return "".join(f"{m['role']} {m['content']} " for m in messages) + "assistant"

    def decode(self, request: dict) -> SimpleNamespace:
        text = self.render_chat(request["messages"]) if "messages" in request else request["prompt"]
        if len(text) > MAX_CHARS:
            raise BadInput(f"the prompt is longer than {MAX_CHARS} characters", status=413)
        wanted = request.get("max_tokens", 16)
        if wanted > MAX_NEW:
            raise BadInput(f"max_tokens is above this server's {MAX_NEW}", status=413)
        options = {k: request[k] for k in ("temperature", "top_k", "top_p", "seed") if k in request}
        stop = request.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        return SimpleNamespace(ids=self.encode(text), settings=Decoding(max_new_tokens=wanted, eos_id=1, **options),
                               stop=stop)  # fmt: skip


@pytest.fixture(scope="module")
def served():
    model = NumpyDecoder(delay=0.002)
    adapter, scheduler = LetterAdapter(model), Scheduler(model, model.spec, max_rows=8)
    api = completions.app(lambda: (adapter, scheduler), "tiny")
    paths = {"/v1/completions": JSON_BODY, "/v1/chat/completions": JSON_BODY}
    app = RequestGuard(Starlette(routes=[Mount("/v1", api)]), routes=paths, max_body_bytes=4096)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.config.port}/v1"
    yield url, model, adapter, scheduler
    server.should_exit = True
    thread.join(5)


def lone(model, adapter, text: str, settings: Decoding) -> str:
    ids = adapter.encode(text)
    stepper = Stepper.start(model, model.spec, 1)
    tokens, mask = left_pad([ids], 0)
    return detok(generate(stepper, stepper(tokens, mask), [settings], [ids])[0])


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="unused", max_retries=0)


def test_the_openai_client_streams_what_a_lone_greedy_run_writes(served):
    url, model, adapter, _ = served
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    chunks = list(client(url).chat.completions.create(model="tiny", messages=messages, max_tokens=20, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expected = lone(model, adapter, adapter.render_chat(messages), Decoding(max_new_tokens=20, eos_id=1))
    assert streamed == expected and expected
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    whole = client(url).chat.completions.create(model="tiny", messages=messages, max_tokens=20)
    assert whole.choices[0].message.content == expected
    assert whole.usage.prompt_tokens == len(adapter.encode(adapter.render_chat(messages)))
    assert whole.usage.completion_tokens >= len(expected)
    assert [m.id for m in client(url).models.list()] == ["tiny"]


def test_concurrent_streams_each_get_their_own_text(served):
    url, model, adapter, scheduler = served
    prompts = ["abc", "the quick brown fox", "z", "hello world", "sampled one", "sampled two"]

    def stream(i: int) -> str:
        options = {"temperature": 0.8, "seed": i} if i >= 4 else {}
        chunks = client(url).completions.create(model="x", prompt=prompts[i], max_tokens=24, stream=True, **options)
        return "".join(c.choices[0].text for c in chunks)

    with ThreadPoolExecutor(len(prompts)) as pool:
        texts = list(pool.map(stream, range(len(prompts))))
    for i, text in enumerate(texts):
        options = {"temperature": 0.8, "seed": i} if i >= 4 else {}
        assert text == lone(model, adapter, prompts[i], Decoding(max_new_tokens=24, eos_id=1, **options)), i
    assert scheduler.widest > 1


def test_a_client_that_disconnects_stops_its_generation(served):
    url, model, _, scheduler = served
    calls = len(model.calls)
    body = {"prompt": "abc", "max_tokens": MAX_NEW, "stream": True}
    with httpx.Client(timeout=10) as http, http.stream("POST", f"{url}/completions", json=body) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    deadline = time.monotonic() + 5
    while scheduler.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scheduler.active == 0 and httpx.get(f"{url}/streams").json()["active"] == 0
    assert len(model.calls) - calls < MAX_NEW - 5  # it stopped well before its max_tokens


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"prompt": "abc", "max_tokens": MAX_NEW + 1}, 413, "max_tokens"),
        ({"prompt": "a" * (MAX_CHARS + 1)}, 413, "longer"),
        ({"prompt": "abc", "n": 2}, 422, "n:"),
        ({"prompt": "abc", "temperature": -1}, 422, "temperature"),
        ({"prompt": "123"}, 422, "no tokens"),
        ({"messages": []}, 422, "prompt"),
    ],
)
def test_requests_it_cannot_serve_get_a_4xx_error_object(served, body, status, words):
    url = served[0]
    answer = httpx.post(f"{url}/completions", json=body, timeout=10)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]


def test_bodies_that_are_not_json_objects_are_refused_before_decoding(served):
    url, json_type = served[0], {"content-type": "application/json"}
    assert httpx.post(f"{url}/chat/completions", content=b"{", headers=json_type).status_code == 400
    text = httpx.post(f"{url}/chat/completions", content=b"x", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    assert httpx.post(f"{url}/completions", content=b"[" * 40 + b"]" * 40, headers=json_type).status_code == 400
    with pytest.raises(openai.UnprocessableEntityError, match="role"):
        client(url).chat.completions.create(model="tiny", messages=[{"role": "robot", "content": "hi"}])


def test_a_stop_string_ends_the_text_before_it(served):
    url, model, adapter, _ = served
    full = lone(model, adapter, "stop here", Decoding(max_new_tokens=24, eos_id=1))
    stop = full[6:8]
    answer = client(url).completions.create(model="tiny", prompt="stop here", max_tokens=24, stop=[stop, "zzzz"])
    assert answer.choices[0].text == full[: full.find(stop)] and answer.choices[0].finish_reason == "stop"
    chunks = client(url).completions.create(model="tiny", prompt="stop here", max_tokens=24, stop=stop, stream=True)
    assert "".join(c.choices[0].text for c in chunks) == full[: full.find(stop)]


def test_ignore_eos_writes_every_token_asked_for(served):
    url = served[0]
    answer = client(url).completions.create(model="tiny", prompt="abc", max_tokens=30, extra_body={"ignore_eos": True})
    assert answer.usage.completion_tokens == 30 and answer.choices[0].finish_reason == "length"
