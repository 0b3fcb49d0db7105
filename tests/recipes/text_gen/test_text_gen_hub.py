"""text-gen with a hub causal LM: a tiny GPT-2 made here (saved with save_pretrained, loaded by model.name=<folder>),
fine-tuned with LoRA, through train, evaluate and export offline; the exported step graph decodes greedily as the
torch model does, and its served adapter renders chats with the simple template (GPT-2 has none)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.text_gen import builtin, tokens


def tiny_gpt2(folder: Path, texts: list[str]) -> Path:
    """A random 2-layer GPT-2 and a byte-level BPE tokenizer trained on ``texts``, as save_pretrained writes them."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    tok = tokens.train_bpe(texts, vocab_size=300, min_frequency=1)
    wrapped = GPT2TokenizerFast(tokenizer_object=tok, eos_token=tokens.EOS, bos_token=tokens.EOS, unk_token=tokens.EOS)
    config = GPT2Config(vocab_size=len(wrapped), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        eos_token_id=wrapped.eos_token_id, bos_token_id=wrapped.eos_token_id)  # fmt: skip
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory) -> Path:
    rows = builtin.instructions(seed=0)["train"]
    texts = [f"<|user|>\n{r['prompt']}\n<|assistant|>\n{r['completion']}" for r in rows]
    return tiny_gpt2(tmp_path_factory.mktemp("text-gen-hub") / "gpt2", texts)


QUICK = ["data.max_rows=48", "data.batch_size=16", "data.block_size=48", "trainer.max_epochs=1",
         "trainer.limit_val_batches=1", "trainer.early_stopping.enabled=false", "export.register=false",
         "offline=true", "export.parity_samples=16"]  # fmt: skip


def test_a_lora_fine_tune_of_a_tiny_gpt2_trains_evaluates_and_exports_offline(cli, gpt2):
    hub = ["model=hf", f"model.name={gpt2}", "finetune.lora.r=4", "finetune.lora.target_modules=[c_attn]"]
    trained = cli.json("train", "text-gen", *hub, *QUICK)
    evaluated = cli.json("evaluate", "text-gen", f"run={trained['run_id']}", *hub, *QUICK)
    assert 0.0 <= evaluated["metrics"]["exact_match"] <= 1.0 and evaluated["metrics"]["perplexity"] > 1.0
    exported = cli.json("export", "text-gen", f"run={trained['run_id']}", *hub, *QUICK)
    assert exported["parity"]["greedy_agreement"] == 1.0 and exported["parity"]["samples"] == 16

    model = onnx.load(exported["onnx_path"])
    meta = json.loads({p.key: p.value for p in model.metadata_props}["aiaas"])
    assert meta["decoder"]["layers"] == 2 and meta["decoder"]["heads"] == 2 and meta["decoder"]["head_dim"] == 16
    assert meta["model"].startswith("hf: ") and meta["chat_template"] == ""
    names = {"lora_A", "lora_B", "base_layer"}
    assert not any(n in init.name for init in model.graph.initializer for n in names)  # merged: plain weights

    predictor = Predictor(exported["onnx_path"])
    adapter = predictor.adapter
    assert adapter.render_chat([{"role": "user", "content": "Hi"}]) == "<|user|>\nHi\n<|assistant|>\n"
    answer = predictor.predict([{"prompt": "What is 2 plus 2?", "max_tokens": 5}])[0]
    assert answer["tokens"] <= 5 and isinstance(answer["text"], str)
    assert adapter.decode_tokens(adapter.encode("What is 2 plus 2?")) == "What is 2 plus 2?"
