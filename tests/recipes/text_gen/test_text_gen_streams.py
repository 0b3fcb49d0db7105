"""The continuous-batching scheduler on text-gen's real exported decoder step in ONNX Runtime (a small untrained
GPTSmall, exported as the recipe exports it): requests joining a running batch at different moments, some sampled
with seeds, write exactly what the adapter's own loop writes for each alone."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from aiaas_recipes.common.generation.decoding import Decoding
from aiaas_recipes.common.generation.streams import Scheduler

PROMPTS = [[5, 9, 14], [7], [3, 3, 3, 3, 30, 31, 32, 33, 4], [11, 12], [20, 21, 22, 23], [6, 40], [8, 8]]


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    import torch
    from omegaconf import OmegaConf

    from aiaas_cli.recipe_api import bundled_conf_dir
    from aiaas_cli.serving.runtime import OnnxGraph
    from aiaas_cli.stages.export import _torch_export
    from aiaas_recipes.text_gen.export import export_spec
    from aiaas_recipes.text_gen.model import GPTSmall

    torch.manual_seed(0)
    net = GPTSmall(64, max_positions=64, width=32, layers=2, heads=2, ff=64).eval()
    for p in net.parameters():  # untrained weights far from ties: greedy choices are clear-cut
        torch.nn.init.normal_(p, std=0.5)
    tokens = {"eos_id": 1, "pad_id": 0, "chat_template": None, "eos_token": "", "bos_token": ""}
    spec = export_spec(net, {"tokens": tokens, "tokenizer": "", "model": {}})
    path = tmp_path_factory.mktemp("text-gen-decoder") / "model.onnx"
    cfg = OmegaConf.merge(OmegaConf.load(bundled_conf_dir() / "export" / "onnx.yaml"), {"exporter": "torchscript"})
    _torch_export(net, spec, path, cfg)
    return OnnxGraph(path, threads=1), spec.metadata["decoder"]


def alone(graph, spec: dict, prompt: list[int], settings: Decoding) -> list[int]:
    """The adapter's own loop (serving.complete, what /predict and `aiaas predict` run) for one prompt."""
    from aiaas_recipes.text_gen.serving import complete, settings_feeds

    feeds = {"prompt": np.array([prompt]), "prompt_length": np.array([len(prompt)]), **settings_feeds([settings])}
    return [int(t) for t in complete(graph, spec, feeds)["tokens"][0] if t >= 0]


def test_requests_joining_the_onnx_batch_write_what_they_write_alone(decoder):
    graph, spec = decoder
    settings = [Decoding(max_new_tokens=10 + 2 * i, eos_id=1) for i in range(len(PROMPTS))]
    settings[3] = Decoding(max_new_tokens=14, eos_id=1, temperature=0.9, top_k=20, seed=11)
    settings[5] = Decoding(max_new_tokens=14, eos_id=1, temperature=1.1, top_p=0.9, repetition_penalty=1.2, seed=2)
    scheduler = Scheduler(graph, spec, max_rows=4)  # fewer rows than requests: some wait for a row to leave

    async def staggered():
        streams = []
        for prompt, setting in zip(PROMPTS, settings):
            streams.append(scheduler.submit(prompt, setting))
            await asyncio.sleep(0.002)
        for stream in streams:
            await stream.complete()
        return [s.tokens for s in streams]

    assert asyncio.run(staggered()) == [alone(graph, spec, p, s) for p, s in zip(PROMPTS, settings)]
    assert scheduler.widest > 1
