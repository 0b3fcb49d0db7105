"""Transformers backbones (recipes/common/backbones/hf.py, lora.py) on a tiny BERT made here and loaded through the real
loading path (model.name=<folder>; only the download from the Hub cannot run here: no internet)."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from aiaas_recipes.common.backbones import hf, lora
from tests.recipes.common.hub_models import tiny_bert

TEXTS = ["the striker scored a late goal", "garlic pasta baked in the oven", "the new laptop has a fast chip"] * 5
LABELS = ["food", "sports", "tech"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert") / "tiny", TEXTS)


def config(folder, r: int = 0):
    lora_cfg = {"r": r, "alpha": 8.0, "dropout": 0.0, "target_modules": None}
    finetune = {"freeze_epochs": 0, "backbone_lr": None, "gradient_checkpointing": False, "lora": lora_cfg}
    return OmegaConf.create({"model": {"kind": "hf", "name": str(folder), "revision": None}, "finetune": finetune})


def batch(bert):
    tokenizer = hf.load_tokenizer(config(bert))
    encoded = tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    return encoded["input_ids"], encoded["attention_mask"]


def test_new_head_is_told_apart_from_hub_weights(bert):
    pretrained = hf.from_pretrained("sequence", config(bert), LABELS)
    assert pretrained.new == {"classifier.weight", "classifier.bias"}
    assert pretrained.model.training  # Lightning keeps the mode it is given: dropout must be on
    assert pretrained.model.config.id2label == dict(enumerate(LABELS))
    net = hf.TransformersNet(pretrained.model, ["input_ids", "attention_mask"])
    names = hf.pretrained_names(torch.nn.ModuleDict({"net": net}), pretrained)
    assert "net.model.bert.embeddings.word_embeddings.weight" in names
    assert not any("classifier" in name for name in names) and len(names) == len(list(net.parameters())) - 2
    assert pretrained.source["kind"] == "hf" and len(pretrained.source["sha256"]) == 64


def test_rebuilt_from_config_dict_gives_the_same_outputs(bert):
    pretrained = hf.from_pretrained("sequence", config(bert), LABELS)
    model = pretrained.model.eval()
    rebuilt = hf.from_config("sequence", model.config.to_dict())
    rebuilt.load_state_dict(model.state_dict())
    ids, mask = batch(bert)
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids, attention_mask=mask).logits, rebuilt.eval()(ids, mask).logits)


def test_lora_merged_weights_give_the_adapted_outputs(bert):
    pretrained = hf.from_pretrained("sequence", config(bert, r=4), LABELS)
    adapted = hf.with_lora(pretrained, config(bert, r=4), "sequence")
    trainable = {name for name, p in adapted.named_parameters() if p.requires_grad}
    assert any("lora_A" in name for name in trainable) and any("classifier" in name for name in trainable)
    assert not any("query.base_layer.weight" in name for name in trainable)  # the hub weights stay frozen
    torch.manual_seed(1)
    with torch.no_grad():  # LoRA's B starts at zero: give the adapters something to merge
        for name, p in adapted.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    ids, mask = batch(bert)
    adapted.eval()
    merged = lora.merged(adapted).eval()
    assert not lora.active(merged) and not any("lora" in name for name, _ in merged.named_parameters())
    assert lora.active(adapted)  # merging worked on a copy: training goes on with the adapters
    with torch.no_grad():
        want = adapted(input_ids=ids, attention_mask=mask).logits
        got = merged(input_ids=ids, attention_mask=mask).logits
        with adapted.disable_adapter():
            without = adapted(input_ids=ids, attention_mask=mask).logits
    assert (want - without).abs().max() > 1e-4  # the adapters change the answers ...
    assert torch.allclose(want, got, rtol=0, atol=1e-6)  # ... and the merged weights give the same ones
    # the merged model holds plain weights under the names a run without LoRA has
    assert set(merged.state_dict()) == set(pretrained_plain_names(bert))


def pretrained_plain_names(bert) -> set[str]:
    return set(hf.from_pretrained("sequence", config(bert), LABELS).model.state_dict())
