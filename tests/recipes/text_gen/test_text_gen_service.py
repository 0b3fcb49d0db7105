"""A smoke-sized text-gen run through every stage, served: the official `openai` client streams chat completions
from the Bento and gets exactly what `aiaas predict text-gen` writes (greedy, and sampled with the same seed),
concurrent streams get their own texts, limits answer 4xx, and no torch is loaded in the server's processes.
The scheduler and the OpenAI routes themselves are tested fast in tests/recipes/common/generation (test_streams.py,
test_completions.py: joining and leaving the batch, disconnects, errors)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from conftest import Server
from processes import torch_loaded

from aiaas_cli import recipes

QUICK = ["trainer.max_epochs=1", "trainer.early_stopping.enabled=false", "serve.workers=1"]
CHATS = [
    [{"role": "user", "content": "What is 12 + 7?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Convert 3 km to metres."}],
    [{"role": "user", "content": "What day comes after Monday?"}],
]
NEW = 12
SAMPLED = {"temperature": 1.0, "seed": 3}  # a smoke-trained model often ends at once greedily: sampled, it writes


def _streamed(client: openai.OpenAI, messages: list[dict], **options) -> tuple[str, str]:
    chunks = list(client.chat.completions.create(model="any", messages=messages, stream=True, **options))
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), finish[-1]


@pytest.mark.slow
def test_the_openai_client_streams_what_predict_writes(cli, tmp_path):
    overrides = recipes.load("text-gen").smoke_overrides(tmp_path)
    out = cli.json("pipeline", "text-gen", *overrides, *QUICK)
    prompts = tmp_path / "chats.jsonl"
    lines = [{"messages": m, "max_tokens": NEW} for m in CHATS] + [{"prompt": "The answer is", "max_tokens": NEW}]
    lines += [{"messages": m, "max_tokens": NEW, **SAMPLED} for m in CHATS]
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    predicted = cli("predict", "text-gen", str(prompts), "--model", f"run={out['run_id']}").stdout
    rows = [json.loads(row) for row in predicted.splitlines()]
    assert [set(r) >= {"text", "tokens", "finish_reason"} for r in rows] == [True] * len(lines)
    assert all(r["tokens"] > 0 for r in rows[-len(CHATS) :]), rows  # the comparisons are not between empty answers

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
        for messages, row in zip(CHATS, rows, strict=False):  # greedy
            assert _streamed(client, messages, max_tokens=NEW) == (row["text"], row["finish_reason"]), messages
        for messages, row in zip(CHATS, rows[-len(CHATS) :], strict=True):  # the same seed, the same text
            assert _streamed(client, messages, max_tokens=NEW, **SAMPLED) == (row["text"], row["finish_reason"])
        whole = client.completions.create(model="any", prompt="The answer is", max_tokens=NEW)
        prompted = rows[len(CHATS)]  # the plain prompt's row
        assert whole.choices[0].text == prompted["text"] and whole.usage.completion_tokens == prompted["tokens"]
        answer = httpx.post(f"{server.url}/predict", json=lines[-1], timeout=60)
        assert answer.status_code == 200 and answer.json()["text"] == rows[-1]["text"]

        sampled = {"max_tokens": NEW, "temperature": 1.0, "seed": 5}
        assert httpx.get(f"{server.url}/v1/streams").json()["widest"] == 1
        with ThreadPoolExecutor(6) as pool:  # decoded together: each gets what it gets alone
            together = list(pool.map(lambda m: _streamed(client, m, **sampled), CHATS * 2))
        assert together == [_streamed(client, m, **sampled) for m in CHATS] * 2 and any(t for t, _ in together)
        assert httpx.get(f"{server.url}/v1/streams").json()["widest"] > 1
        assert [m.id for m in client.models.list()] == [out["bento_tag"].split(":")[0]]

        with pytest.raises(openai.APIStatusError) as too_many:
            client.chat.completions.create(model="any", messages=CHATS[0], max_tokens=100_000)
        assert too_many.value.status_code == 413
        with pytest.raises(openai.UnprocessableEntityError):
            client.chat.completions.create(model="any", messages=[{"role": "robot", "content": "hi"}])
        with pytest.raises(openai.APIStatusError) as too_long:
            client.completions.create(model="any", prompt="word " * 5000, max_tokens=4)
        assert too_long.value.status_code == 413
        assert torch_loaded(server.process.pid) == []
    finally:
        server.stop()
