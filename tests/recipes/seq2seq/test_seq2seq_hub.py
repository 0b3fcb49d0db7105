"""seq2seq with hub encoder-decoders: a tiny T5 (fully fine-tuned) and a tiny BART (LoRA) made here (random weights, a
BPE tokenizer trained here, saved with save_pretrained, loaded by model.name=<folder>, offline) train, evaluate, export
with ONNX = torch token sequences and predict; the exported model ships the model's own tokenizer and special ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.seq2seq.builtin import SIZES, write_numbers

# the families' special tokens, in id order, and the template their tokenizers wrap a text in
FAMILIES = {
    "t5": (["<pad>", "</s>", "<unk>"], "$A </s>"),  # padding 0 (also the decoder's start), end 1
    "bart": (["<s>", "<pad>", "</s>", "<unk>"], "<s> $A </s>"),  # padding 1, end 2 (also the decoder's start)
}


def tokenizer(texts: list[str], family: str) -> Any:
    """A BPE tokenizer trained on ``texts`` with the family's special tokens, as a Transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials, template = FAMILIES[family]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=200, special_tokens=specials, show_progress=False))
    named = [(name, specials.index(name)) for name in ("<s>", "</s>") if name in template]
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=named)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def tiny_model(folder: Path, texts: list[str], family: str) -> Path:
    """A random encoder-decoder of ``family`` (1 encoder layer, 2 decoder layers, 2 heads of 16) and its tokenizer."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, T5Config, T5ForConditionalGeneration

    wrapped = tokenizer(texts, family)
    if family == "t5":
        config = T5Config(vocab_size=len(wrapped), d_model=32, d_ff=64, d_kv=16, num_heads=2, num_layers=1,
                          num_decoder_layers=2, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                          decoder_start_token_id=0)  # fmt: skip
        net = T5ForConditionalGeneration
    else:
        config = BartConfig(
            vocab_size=len(wrapped),
            d_model=32,
            encoder_layers=1,
            decoder_layers=2,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=128,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
            forced_bos_token_id=None,
            tie_word_embeddings=False,
        )  # fmt: skip  (tied, a random BART repeats its start: the end)
        net = BartForConditionalGeneration
    torch.manual_seed(0)
    net(config).save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hub_models(tmp_path_factory) -> tuple[dict[str, Path], Path]:
    root = tmp_path_factory.mktemp("seq2seq-hub")
    pairs = write_numbers(root / "pairs.tsv", SIZES["numbers-tiny"])
    texts = [side for line in pairs.read_text(encoding="utf-8").splitlines()[1:] for side in line.split("\t")[:2]]
    return {family: tiny_model(root / family, texts, family) for family in FAMILIES}, pairs


QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.early_stopping.enabled=false",
         "data.batch_size=8", "export.register=false", "offline=true", "export.parity_samples=8"]  # fmt: skip


# (family, LoRA, its decoder's start / end / padding ids)
CASES = [("t5", False, (0, 1, 0)), ("bart", True, (2, 2, 1))]


@pytest.mark.parametrize(("family", "lora", "ids"), CASES, ids=["t5-full", "bart-lora"])
def test_a_tiny_hub_model_trains_exports_with_parity_and_predicts_offline(cli, hub_models, tmp_path, family, lora, ids):
    folders, pairs = hub_models
    folder = folders[family]
    hub = ["model=hf", f"model.name={folder}", f"data.path={pairs}", *(["finetune.lora.r=4"] if lora else [])]
    trained = cli.json("train", "seq2seq", *hub, *QUICK)
    evaluated = cli.json("evaluate", "seq2seq", f"run={trained['run_id']}", *hub, *QUICK)
    assert {"bleu", "chrf", "baseline"} <= set(evaluated["metrics"])
    exported = cli.json("export", "seq2seq", f"run={trained['run_id']}", *hub, *QUICK)
    assert exported["parity"]["token_agreement"] == 1.0 and exported["parity"]["samples"] >= 5

    model = onnx.load(exported["onnx_path"])
    meta = json.loads({p.key: p.value for p in model.metadata_props}["aiaas"])
    spec = meta["decoder"]
    assert meta["model"] == f"hf: {folder}" and (spec["layers"], spec["heads"], spec["head_dim"]) == (2, 2, 16)
    assert (spec["bos_id"], spec["eos_id"], spec["pad_id"]) == ids and spec["source_specials"]
    assert json.loads(meta["tokenizer"])["post_processor"]["type"] == "TemplateProcessing"  # the model's own
    assert not any("lora_" in init.name for init in model.graph.initializer)  # adapters merged: plain weights

    answers = Predictor(exported["onnx_path"]).predict(["twenty one", {"text": "forty two", "beam_size": 2}])
    assert all(isinstance(a["text"], str) and 1 < len(a["tokens"]) <= spec["max_output"] for a in answers), answers
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("twenty one\nforty two\n", encoding="utf-8")
    rows = cli("predict", "seq2seq", str(inputs), "--model", exported["onnx_path"]).stdout.splitlines()
    assert [json.loads(r)["text"] for r in rows][:1] == [answers[0]["text"]]
