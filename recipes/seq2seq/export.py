"""What the export stage needs from seq2seq: two graphs (model.onnx the encoder, decoder.onnx the step with past
keys/values), their metadata (tokenizer, decoder sizes, special ids), held-out feeds, and the torch twin of the
exported model, so the trained network decodes through the very same numpy loop (decode.py) as ONNX Runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.common.generation import kv
from aiaas_recipes.seq2seq import decode, tokens
from aiaas_recipes.seq2seq.dataset import load_arrays, read_pairs
from aiaas_recipes.seq2seq.model import DecoderGraph, EncoderGraph

STEP_INPUTS = (kv.TOKENS, kv.POSITIONS, kv.MASK, kv.PAST, decode.MEMORY, decode.MEMORY_MASK)


class TorchGraph:
    """A torch module run on numpy feeds like runtime.OnnxGraph.run."""

    def __init__(self, module: torch.nn.Module, inputs: tuple[str, ...], outputs: tuple[str, ...]):
        self.module, self.inputs, self.outputs = module.eval(), inputs, outputs

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(np.array(feeds[name])) for name in self.inputs))
        out = out if isinstance(out, tuple) else (out,)
        return {name: tensor.numpy() for name, tensor in zip(self.outputs, out)}


class TorchModel(TorchGraph):
    """The trained network as the adapter sees an exported one: ``run`` the encoder, ``graphs["decoder"]``."""

    def __init__(self, net: torch.nn.Module):
        super().__init__(EncoderGraph(net), decode.ENCODER_INPUTS, (decode.MEMORY,))
        self.graphs = {"decoder": TorchGraph(DecoderGraph(net), STEP_INPUTS, (kv.LOGITS, kv.PRESENT))}


def decoder_spec(net: Any, meta: dict) -> dict:
    """metadata["decoder"]: what the stepper and the search need (bos_id: the decoder's first input)."""
    return {
        **net.decoder_spec,
        "vocab": int(meta["vocab_size"]),
        **specials(meta),
        "max_output": int(meta["max_target_tokens"]),
        **meta.get("decoding", {}),
    }


def specials(meta: dict) -> dict:
    """The special ids of the model's tokenizer (a checkpoint from before hub models: ours)."""
    found = meta.get("specials") or tokens.own_specials()
    return {key: value for key, value in found.items() if value is not None}


def torch_decode(net: Any, meta: dict, feeds: dict[str, np.ndarray], chunk: int = 64) -> dict[str, np.ndarray]:
    """decode.run over the torch network, in chunks (the outputs have one width)."""
    model, spec = TorchModel(net), decoder_spec(net, meta)
    rows = len(feeds["src_ids"])
    parts = [decode.run(model, {k: v[i : i + chunk] for k, v in feeds.items()}, spec) for i in range(0, rows, chunk)]
    return {name: np.concatenate([p[name] for p in parts]) for name in decode.OUTPUTS}


def export_spec(net: Any, meta: dict) -> ExportSpec:
    """Example feeds of 2 rows: sources of 5 tokens (one padded); a step of 1 new token after a past of 3 slots."""
    spec = net.decoder_spec
    layers, heads, head_dim = spec["layers"], spec["heads"], spec["head_dim"]
    pad = specials(meta)["pad_id"]
    src_ids = torch.tensor([[5, 6, 7, 8, 9], [5, 6, 7, pad, pad]])
    src_mask = (src_ids != pad).long()
    with torch.no_grad():
        memory = net.encoder_graph(src_ids, src_mask)
    step = (
        torch.tensor([[5], [6]]),
        torch.tensor([[2], [1]]),
        torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]]),
        torch.zeros(layers, 2, 2, heads, 3, head_dim),
        memory,
        src_mask,
    )
    decoder = ExportSpec(
        example_inputs=step,
        input_names=list(STEP_INPUTS),
        output_names=[kv.LOGITS, kv.PRESENT],
        dynamic_axes={
            kv.TOKENS: {0: "batch", 1: "new"},
            kv.POSITIONS: {0: "batch", 1: "new"},
            kv.MASK: {0: "batch", 1: "slots"},
            kv.PAST: {2: "batch", 4: "past"},
            decode.MEMORY: {0: "batch", 4: "source"},
            decode.MEMORY_MASK: {0: "batch", 1: "source"},
            kv.LOGITS: {0: "batch", 1: "new"},
            kv.PRESENT: {2: "batch", 4: "slots"},
        },
        module=DecoderGraph(net),
    )
    keys = ("tokenizer", "max_source_tokens", "max_target_tokens", "summaries")
    return ExportSpec(
        example_inputs=(src_ids, src_mask),
        input_names=list(decode.ENCODER_INPUTS),
        output_names=[decode.MEMORY],
        dynamic_axes={
            "src_ids": {0: "batch", 1: "source"},
            "src_mask": {0: "batch", 1: "source"},
            decode.MEMORY: {0: "batch", 4: "source"},
        },
        metadata={
            **{key: meta[key] for key in keys},
            "decoder": decoder_spec(net, meta),
            "model": f"hf: {meta['hub']['name']}" if meta.get("hub") else "seq2seq_transformer",
        },
        module=EncoderGraph(net),
        graphs={"decoder": decoder},
    )


def feeds_for(src: np.ndarray, beam_size: int, max_length: int, pad: int = tokens.PAD_ID) -> dict[str, np.ndarray]:
    """The adapter's feeds for rows of source ids padded with ``pad``."""
    src = np.asarray(src, dtype=np.int64)
    rows = len(src)
    return {
        "src_ids": src,
        "src_mask": (src != pad).astype(np.int64),
        "beam_size": np.full(rows, beam_size, np.int64),
        "max_length": np.full(rows, max_length, np.int64),
    }


@dataclass
class Targets:
    """The target texts of exported samples and the tokenizer that writes outputs as text (`score_outputs`)."""

    texts: list[str]
    tokenizer: str

    def __len__(self) -> int:
        return len(self.texts)


def samples(dataset_dir: Path, split: str, limit: int, pad: int, seed: int = 0) -> tuple[dict, Targets]:
    """A seeded subset of ``split`` as greedy feeds, and its target texts."""
    src, tgt = load_arrays(dataset_dir, split)
    pick = np.sort(np.random.default_rng(seed).permutation(len(src))[:limit])
    pairs = read_pairs(dataset_dir, split)
    tokenizer = (Path(dataset_dir) / tokens.FILE).read_text(encoding="utf-8")
    return feeds_for(src[pick], 1, tgt.shape[1], pad), Targets([pairs[i]["target"] for i in pick], tokenizer)


def compare(expected: dict, actual: dict) -> Parity:
    """The share of samples whose output tokens are the same, one for one."""
    from aiaas_recipes.common.parity import sequences

    return sequences(decode.sequences(expected), decode.sequences(actual), "token_agreement")


def score(outputs: dict, targets: Targets) -> float:
    """BLEU of raw outputs (judges int8 quantization)."""
    from aiaas_recipes.seq2seq.evaluation import scores

    tokenizer = tokens.load(targets.tokenizer)
    return scores(targets.texts, [tokens.decode(tokenizer, ids) for ids in decode.sequences(outputs)])["bleu"]
