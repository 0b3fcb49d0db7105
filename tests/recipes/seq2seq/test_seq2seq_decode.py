"""seq2seq decoding: the cached decoder step equals the teacher-forced network, the exported graphs decode the same
tokens as the torch network (greedy and beam rows in one batch, sources of different lengths), and the adapter's
request limits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from aiaas_cli.serving.runtime import BadInput, OnnxGraph
from aiaas_recipes.common.generation.kv import Stepper
from aiaas_recipes.seq2seq import decode, export, tokens
from aiaas_recipes.seq2seq.model import Seq2SeqTransformer
from aiaas_recipes.seq2seq.serving import Seq2SeqAdapter

META = {"vocab_size": 60, "max_target_tokens": 12, "max_source_tokens": 10, "tokenizer": "", "summaries": False}


@pytest.fixture(scope="module")
def net() -> Seq2SeqTransformer:
    torch.manual_seed(0)
    model = Seq2SeqTransformer(60, max_positions=16, width=32, heads=4, ff=64).eval()
    for p in model.parameters():  # large random weights: outputs that vary from row to row and step to step
        p.data.normal_(0, 0.5)
    return model


def _sources() -> np.ndarray:
    src = np.random.default_rng(0).integers(4, 60, (6, 10))
    src[2, 6:] = 0
    src[4, 3:] = 0
    return src


def test_cached_steps_equal_the_teacher_forced_network(net):
    src = _sources()
    mask = (src != 0).astype(np.int64)
    tgt = np.random.default_rng(1).integers(4, 60, (6, 5))
    tgt[:, 0] = tokens.BOS_ID
    with torch.no_grad():
        full = net(torch.from_numpy(src), torch.from_numpy(mask), torch.from_numpy(tgt)).numpy()
    model = export.TorchModel(net)
    memory = model.run({"src_ids": src, "src_mask": mask})["memory_kv"]
    spec = export.decoder_spec(net, META)
    stepper = Stepper.start(model.graphs["decoder"], spec, 6, {"memory_kv": memory, "memory_mask": mask})
    steps = np.stack([stepper(tgt[:, i : i + 1]) for i in range(5)], axis=1)
    np.testing.assert_allclose(steps, full, atol=1e-4)


def test_onnx_graphs_decode_the_same_tokens_as_torch(net, tmp_path):
    spec = export.export_spec(net, META)
    for name, part in (("model", spec), ("decoder", spec.graphs["decoder"])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(part.module.eval(), part.example_inputs, str(tmp_path / f"{name}.onnx"), dynamo=False,
                              input_names=part.input_names, output_names=part.output_names, opset_version=18,
                              dynamic_axes=part.dynamic_axes)  # fmt: skip

    class Exported(OnnxGraph):
        graphs = {"decoder": OnnxGraph(tmp_path / "decoder.onnx")}

    meta = {**META, "decoding": {"eos_id": 59}}  # random weights: the real end token would win at once
    feeds = export.feeds_for(_sources(), 1, 12)
    feeds["beam_size"][3:] = 3  # greedy and beam rows in one batch
    feeds["max_length"][1] = 4
    want = export.torch_decode(net, meta, feeds)
    got = decode.run(Exported(tmp_path / "model.onnx"), feeds, export.decoder_spec(net, meta))
    assert export.compare(want, got).agreement == 1.0
    lengths = got["lengths"]
    assert lengths[1] <= 4 and lengths.max() > 1 and len({tuple(row) for row in got["tokens"]}) > 1
    assert not np.isin(got["tokens"][0, : lengths[0]], [tokens.PAD_ID, tokens.BOS_ID, tokens.UNK_ID]).any()


def test_adapter_limits(net):
    tokenizer = tokens.train(["one two three", "1 2 3"] * 5, vocab_size=60, min_frequency=1)
    meta = {"tokenizer": tokenizer.to_str(), "max_source_tokens": 8, "decoder": export.decoder_spec(net, META)}
    adapter = Seq2SeqAdapter(meta, max_chars=100, max_beam=4)
    item = adapter.decode({"text": "one two", "beam_size": 2, "max_length": 5})
    assert (item.beam_size, item.max_length) == (2, 5) and adapter.decode("one").beam_size == 1
    for body, status in [({"text": "one " * 30}, 413), ({"text": "one", "beam_size": 5}, 422),
                         ({"text": "one", "max_length": 13}, 422), ({"text": "one", "beam_size": "2"}, 422),
                         ({"text": " "}, 400), ({"text": "x" * 101}, 413)]:  # fmt: skip
        with pytest.raises(BadInput) as caught:
            adapter.decode(body)
        assert caught.value.status == status, body
    feeds = adapter.batch([item, adapter.decode("three")])
    assert feeds["src_ids"].shape == (2, 8) and feeds["beam_size"].tolist() == [2, 1]
