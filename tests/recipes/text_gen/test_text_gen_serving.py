"""text-gen's torch-free adapter on a small random GPT exported here: the ONNX decoder step decodes greedily as torch
does, a batch of left-padded prompts as each prompt alone, and requests are checked (413 / 422) and cut at stop
strings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from aiaas_cli.serving.runtime import BadInput, OnnxGraph
from aiaas_recipes.text_gen import builtin, tokens
from aiaas_recipes.text_gen.export import TorchGraph, export_spec, prompt_feeds
from aiaas_recipes.text_gen.model import GPTSmall
from aiaas_recipes.text_gen.serving import build_adapter, complete, cut_at_stop


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    rows = builtin.instructions(seed=0, limit=200)["train"]
    info = tokens.own([r["prompt"] + r["completion"] for r in rows], 300)
    torch.manual_seed(0)
    net = GPTSmall(300, max_positions=48, width=32, layers=2, heads=2, ff=64).eval()
    meta = {"tokens": {key: info[key] for key in ("eos_id", "pad_id", "chat_template", "eos_token", "bos_token")},
            "tokenizer": info["tokenizer"], "model": {}}  # fmt: skip
    spec = export_spec(net, meta)
    path = tmp_path_factory.mktemp("text-gen-serving") / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, spec.example_inputs, str(path), input_names=spec.input_names,
                          output_names=spec.output_names, dynamic_axes=spec.dynamic_axes, dynamo=False)  # fmt: skip
    return net, spec.metadata, OnnxGraph(path, threads=1)


def test_onnx_greedy_equals_torch_greedy_and_batching_changes_no_answer(exported):
    net, metadata, graph = exported
    adapter = build_adapter(metadata)
    prompts = [adapter.encode(text) for text in ("What is 3 plus 4?", "Hi", "Convert 2 hours to minutes.")]
    feeds = prompt_feeds(prompts, metadata["decoder"]["pad_id"], 10)
    together = complete(graph, metadata["decoder"], feeds)["tokens"]
    assert (together == complete(TorchGraph(net), metadata["decoder"], feeds)["tokens"]).all()
    for row, prompt in enumerate(prompts):  # the padding of the others changes nothing
        alone = complete(graph, metadata["decoder"], prompt_feeds([prompt], metadata["decoder"]["pad_id"], 10))
        assert (alone["tokens"][0] == together[row]).all()


def test_a_predict_request_is_decoded_run_and_answered(exported):
    _, metadata, graph = exported
    adapter = build_adapter(metadata, max_tokens=16)
    items = [adapter.decode({"prompt": "What is 3 plus 4?", "max_tokens": 6}), adapter.decode("Hi")]
    answers = adapter.postprocess(adapter.run(graph, adapter.batch(items)), items, 1)
    assert answers[0]["tokens"] <= 6 and answers[1]["tokens"] <= 16
    assert all(a["finish_reason"] in ("stop", "length") and isinstance(a["text"], str) for a in answers)
    sampled = [adapter.decode({"prompt": "Hi", "temperature": 1.0, "seed": 7, "max_tokens": 8}) for _ in range(2)]
    first, second = adapter.postprocess(adapter.run(graph, adapter.batch(sampled)), sampled, 1)
    assert first == second  # the same seed draws the same tokens


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({"prompt": "Hi", "max_tokens": 17}, 413),  # above serve.limits.max_tokens
        ({"prompt": "word " * 60, "max_tokens": 4}, 413),  # beyond the model's 48 positions
        ({"prompt": "Hi", "temperature": "hot"}, 422),
        ({"prompt": "Hi", "top_p": 1.5}, 422),
        ({"prompt": "Hi", "stop": [1]}, 422),
        ({"messages": [{"role": "robot", "content": "x"}]}, 422),
        ({"prompt": ""}, 400),
    ],
)
def test_bad_requests_are_refused_with_their_status(exported, request_, status):
    adapter = build_adapter(exported[1], max_tokens=16)
    with pytest.raises(BadInput) as refused:
        adapter.decode(request_)
    assert refused.value.status == status


def test_chat_messages_render_with_the_simple_template_and_stop_strings_cut_the_text(exported):
    adapter = build_adapter(exported[1])
    assert adapter.render_chat([{"role": "user", "content": "Hi"}]) == "<|user|>\nHi\n<|assistant|>\n"
    assert adapter.decoding({"max_tokens": 5, "temperature": 0.5, "seed": 1}).max_new_tokens == 5
    assert cut_at_stop("Paris. Next question", [".", "Next"]) == ("Paris", "stop")
    assert cut_at_stop("Paris", ["\n"]) == ("Paris", None)
    assert np.isclose(adapter.decoding({}).temperature, 0.0)
