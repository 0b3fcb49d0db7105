"""seq2seq with a hub encoder-decoder: a tiny T5 made here (random weights, a BPE tokenizer trained here, saved with
save_pretrained, loaded by model.name=<folder>, offline) trains, exports with ONNX = torch token sequences and
predicts, fully fine-tuned and with LoRA; the exported model ships the model's own tokenizer and special ids."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.seq2seq.builtin import SIZES, write_numbers

SPECIALS = ["<pad>", "</s>", "<unk>"]  # T5's ids: padding (also the decoder's start) 0, end 1, unknown 2


def tiny_t5(folder: Path, texts: list[str]) -> Path:
    """A random 1-layer T5 and a BPE tokenizer (with T5's end token appended to every text) trained on ``texts``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=200, special_tokens=SPECIALS, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = T5Config(vocab_size=tok.get_vocab_size(), d_model=32, d_ff=64, d_kv=16, num_heads=2, num_layers=1,
                      num_decoder_layers=2, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                      decoder_start_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def t5(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("seq2seq-hub")
    pairs = write_numbers(root / "pairs.tsv", SIZES["numbers-tiny"])
    texts = [side for line in pairs.read_text(encoding="utf-8").splitlines()[1:] for side in line.split("\t")[:2]]
    return tiny_t5(root / "t5", texts), pairs


QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.early_stopping.enabled=false",
         "data.batch_size=8", "export.register=false", "offline=true", "export.parity_samples=8"]  # fmt: skip


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_a_tiny_t5_trains_exports_with_parity_and_predicts_offline(cli, t5, tmp_path, lora):
    folder, pairs = t5
    hub = ["model=hf", f"model.name={folder}", f"data.path={pairs}", *(["finetune.lora.r=4"] if lora else [])]
    trained = cli.json("train", "seq2seq", *hub, *QUICK)
    exported = cli.json("export", "seq2seq", f"run={trained['run_id']}", *hub, *QUICK)
    assert exported["parity"]["token_agreement"] == 1.0 and exported["parity"]["samples"] >= 5

    model = onnx.load(exported["onnx_path"])
    meta = json.loads({p.key: p.value for p in model.metadata_props}["aiaas"])
    spec = meta["decoder"]
    assert meta["model"] == f"hf: {folder}" and (spec["layers"], spec["heads"], spec["head_dim"]) == (2, 2, 16)
    assert (spec["bos_id"], spec["eos_id"], spec["pad_id"], spec["source_specials"]) == (0, 1, 0, True)
    assert json.loads(meta["tokenizer"])["post_processor"]["type"] == "TemplateProcessing"  # the model's own
    assert not any("lora_" in init.name for init in model.graph.initializer)  # adapters merged: plain weights

    answers = Predictor(exported["onnx_path"]).predict(["twenty one", {"text": "forty two", "beam_size": 2}])
    assert all(isinstance(a["text"], str) and len(a["tokens"]) <= spec["max_output"] for a in answers)
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("twenty one\nforty two\n", encoding="utf-8")
    rows = cli("predict", "seq2seq", str(inputs), "--model", exported["onnx_path"]).stdout.splitlines()
    assert [json.loads(r)["text"] for r in rows][:1] == [answers[0]["text"]]
