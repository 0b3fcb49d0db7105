"""Export of text-gen: model.onnx is the decoder step (kv.py names) with dynamic batch, new and past axes; parity is
greedy decoding of held-out prompts by ONNX Runtime against the same numpy search over the torch network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.text_gen import dataset
from aiaas_recipes.text_gen.serving import complete, settings_feeds

NEW_TOKENS = 16  # greedy tokens compared per prompt


def decoder_spec(net: Any, meta: dict) -> dict:
    tokens = meta["tokens"]
    return {**net.sizes, "eos_id": int(tokens["eos_id"]), "pad_id": int(tokens["pad_id"])}


def example_inputs(net: Any) -> tuple:
    """Two rows, three new tokens after a past of two slots (the first masked): every axis differs in size, so none
    is taken for another or fixed by the tracer."""
    import torch

    s = net.sizes
    tokens = torch.ones(2, 3, dtype=torch.long)
    positions = torch.arange(1, 4)[None].expand(2, 3).contiguous()
    mask = torch.ones(2, 5, dtype=torch.long)
    mask[:, 0] = 0
    past = torch.zeros(s["layers"], 2, 2, s["heads"], 2, s["head_dim"])
    return tokens, positions, mask, past


def export_spec(net: Any, meta: dict) -> ExportSpec:
    tokens = meta["tokens"]
    axes = {
        "tokens": {0: "batch", 1: "new"},
        "positions": {0: "batch", 1: "new"},
        "attention_mask": {0: "batch", 1: "total"},
        "past": {2: "batch", 4: "past"},
        "logits": {0: "batch", 1: "new"},
        "present": {2: "batch", 4: "total"},
    }
    metadata = {
        "decoder": decoder_spec(net, meta),
        "tokenizer": meta["tokenizer"],
        "chat_template": tokens["chat_template"] or "",  # "": the simple template (a model store refuses None)
        "eos_token": tokens["eos_token"],
        "bos_token": tokens["bos_token"],
        "model": f"hf: {meta['model'].get('name')}" if meta.get("hub") else "gpt_small",
    }
    names = ["tokens", "positions", "attention_mask", "past"]
    return ExportSpec(example_inputs(net), names, ["logits", "present"], axes, metadata)


def prompt_feeds(prompts: list[list[int]], pad_id: int, new_tokens: int = NEW_TOKENS) -> dict[str, np.ndarray]:
    """Feeds of the serving adapter (serving.batch) for greedy continuations of ``prompts``."""
    from aiaas_recipes.common.generation.decoding import Decoding
    from aiaas_recipes.common.generation.kv import left_pad

    tokens, _ = left_pad(prompts, pad_id)
    lengths = np.array([len(p) for p in prompts], dtype=np.int64)
    return {"prompt": tokens, "prompt_length": lengths, **settings_feeds([Decoding(new_tokens)] * len(prompts))}


def samples(dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, list[list[int]]]:
    """Held-out prompts (the instructions', else the start of each row) and their answers' ids."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str((Path(dataset_dir) / dataset.TOKENIZER_FILE).read_text(encoding="utf-8"))
    pad = int(manifest["tokens"]["pad_id"])
    examples = dataset.read_examples(dataset_dir, split)[:limit]
    prompts = [tok.encode(e["prompt"], add_special_tokens=False).ids for e in examples]
    answers = [tok.encode(e["answer"], add_special_tokens=False).ids for e in examples]
    if not prompts:  # documents only: the first half of a row is the prompt
        ids = np.load(Path(dataset_dir) / f"{split}_ids.npy")
        lengths = np.load(Path(dataset_dir) / f"{split}_len.npy")
        for row, n in list(zip(ids, lengths))[: limit - len(prompts)]:
            half = max(int(n) // 2, 1)
            prompts.append([int(t) for t in row[:half]])
            answers.append([int(t) for t in row[half:n]])
    return prompt_feeds(prompts, pad), answers


class TorchGraph:
    """The torch network as a decoder-step graph (``run(feeds)`` in numpy), so the same numpy search drives it."""

    def __init__(self, net: Any):
        self.net = net

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        names = ("tokens", "positions", "attention_mask", "past")
        with torch.inference_mode():
            logits, present = self.net(*(torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in names))
        return {"logits": logits.float().numpy(), "present": present.float().numpy()}


def reference_outputs(net: Any, meta: dict, inputs: dict) -> dict[str, np.ndarray]:
    spec = decoder_spec(net, meta)
    rows = len(inputs["prompt"])
    parts = [complete(TorchGraph(net), spec, {k: v[i : i + 64] for k, v in inputs.items()}) for i in range(0, rows, 64)]
    width = max(p["tokens"].shape[1] for p in parts)
    return {"tokens": np.concatenate([np.pad(p["tokens"], ((0, 0), (0, width - p["tokens"].shape[1])),
                                             constant_values=-1) for p in parts])}  # fmt: skip


def compare(expected: dict, actual: dict) -> Parity:
    """The share of prompts whose greedy tokens are the same; the worst names the first prompt that differs."""
    a, b = np.asarray(expected["tokens"]), np.asarray(actual["tokens"])
    same = np.all(a == b, axis=1) if a.shape == b.shape else np.zeros(len(a), dtype=bool)
    differing = np.flatnonzero(~same)
    worst = f"prompt {differing[0]}: {a[differing[0]].tolist()} -> {b[differing[0]].tolist()}" if len(differing) else ""
    share = float(np.mean(a != b)) if a.shape == b.shape else 1.0
    return Parity(share, float(same.mean()) if len(same) else 1.0, len(a), "greedy_agreement", worst)


def exact_tokens(outputs: dict, answers: list[list[int]]) -> float:
    """The share of rows whose generated tokens (up to the end token) are the answer's."""
    hits = [[int(t) for t in row if t >= 0] == list(answer) for row, answer in zip(outputs["tokens"], answers)]
    return float(np.mean(hits)) if hits else 0.0
