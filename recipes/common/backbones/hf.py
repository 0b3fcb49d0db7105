"""Transformers models for any recipe: a hub model (or save_pretrained folder) with the task's head, rebuilt later from
its config dict alone (evaluate and export machines need no hub), which weights came from the hub, gradient
checkpointing and LoRA; and the LightningModule part that writes merged (plain) weights into every checkpoint."""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import torch

from aiaas_recipes.common.backbones import lora
from aiaas_recipes.common.backbones.hub import hf_source, is_offline, load_hf
from aiaas_recipes.common.module import Classifier

# our head names -> the Transformers auto class that puts that head on any encoder
HEADS = {
    "sequence": "AutoModelForSequenceClassification",
    "token": "AutoModelForTokenClassification",
    "audio": "AutoModelForAudioClassification",
    "ctc": "AutoModelForCTC",
    "seq2seq": "AutoModelForSeq2SeqLM",
}
LORA_STATE = "aiaas_lora_state_dict"
# int8 on the matrix products (and embeddings) only: Transformers' attention adds the dtype's minimum as its padding
# mask, and a calibrated uint8 range over that leaves nothing for the scores (a tiny BERT: accuracy 1.0 -> 0.39)
INT8_OPS = ["MatMul", "Gemm", "Gather"]  # the training (adapter) weights in a checkpoint, for resuming a LoRA run


@contextlib.contextmanager
def quiet():
    """Transformers' load report and progress bars off: aiaas reports what was loaded itself."""
    from transformers.utils import logging

    level, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def auto_class(head: str) -> Any:
    import transformers

    return getattr(transformers, HEADS[head])


@dataclass
class Pretrained:
    """A hub model with a new task head: the model, the names of its parameters that did not come from the hub (the
    head), and where it came from (``hf_source``)."""

    model: Any
    new: set[str] = field(default_factory=set)
    source: dict = field(default_factory=dict)

    def hub_parameters(self) -> set[int]:
        """The ids of the parameters that came from the hub (ids, not names: peft renames them, not replaces)."""
        return {id(p) for name, p in self.model.named_parameters() if name not in self.new}


def label_kwargs(labels: list[str]) -> dict:
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }


def from_pretrained(head: str, cfg: Any, labels: list[str]) -> Pretrained:
    """``cfg.model.name`` (hub id or folder, at cfg.model.revision) with a new ``head`` for ``labels``; a head of the
    same name but another size (a checkpoint fine-tuned on other labels) is re-initialised."""
    model_cfg = cfg.model
    kwargs = {"revision": model_cfg.get("revision") or "main", "ignore_mismatched_sizes": True}
    with quiet():
        model, info = load_hf(auto_class(head).from_pretrained, str(model_cfg.name), is_offline(cfg),
                              output_loading_info=True, **kwargs, **label_kwargs(labels))  # fmt: skip
    new = set(info.get("missing_keys", ())) | {item[0] for item in info.get("mismatched_keys", ())}
    if cfg.get("finetune") is not None and cfg.finetune.get("gradient_checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()  # from_pretrained gives eval mode, which Lightning would keep (dropout off) through training
    return Pretrained(model, new, hf_source(str(model_cfg.name), model.config))


def from_config(head: str, config: dict) -> Any:
    """The model rebuilt from its config dict (``config.to_dict()``) with random weights: a checkpoint brings them."""
    from transformers import AutoConfig

    values = dict(config)
    with quiet():
        return auto_class(head).from_config(AutoConfig.for_model(values.pop("model_type"), **values))


def load_tokenizer(cfg: Any) -> Any:
    """The model's own (fast) tokenizer, through the same loading path and cache as the model."""
    from transformers import AutoTokenizer

    model_cfg = cfg.model
    with quiet():
        tokenizer = load_hf(AutoTokenizer.from_pretrained, str(model_cfg.name), is_offline(cfg),
                            revision=model_cfg.get("revision") or "main")  # fmt: skip
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        from aiaas_cli.errors import UserError

        raise UserError(
            f"the tokenizer of {model_cfg.name} has no tokenizer.json (a slow tokenizer)",
            "use a model with a fast tokenizer: serving tokenizes with the `tokenizers` library",
        )
    return tokenizer


def causal_mask(attention_mask: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """A decoder step's 4-D mask [batch, 1, new, past + new] (0: attend, a large negative: not), built from tensor
    ops. Transformers takes a 4-D mask as given; its own mask building reads sizes as Python numbers, which the ONNX
    tracer would fix at the example's sizes."""
    total = torch.ones_like(attention_mask[0]).cumsum(0) - 1  # key slots 0..past+new-1, as tensors
    query = torch.ones_like(tokens[0]).cumsum(0) - 1 + (total.shape[0] - tokens.shape[1])
    allowed = (total[None, :] <= query[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
    return (~allowed).float() * -1e9


TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def tokenizer_inputs(tokenizer: Any) -> list[str]:
    """What the tokenizer gives a text model, in the order ONNX names them (ids and mask always)."""
    given = set(tokenizer.model_input_names)
    return [name for name in TEXT_INPUTS if name in given or name != "token_type_ids"]


def input_names(model: Any, given: list[str]) -> list[str]:
    """Of the tokenizer's outputs ``given``, those the model reads (token type ids only where it takes them)."""
    takes = inspect.signature(model.forward).parameters
    return [name for name in given if name in takes]


def meta(head: str, model: Any, inputs: list[str], pad_id: int) -> dict:
    """What a checkpoint needs to rebuild the network without the hub."""
    return {"head": head, "config": model.config.to_dict(), "inputs": list(inputs), "pad_id": int(pad_id)}


def pretrained_names(module: Any, pretrained: Pretrained) -> set[str]:
    """Names, as ``module.named_parameters()`` gives them, of the weights that came from the hub."""
    ids = pretrained.hub_parameters()
    return {name for name, p in module.named_parameters() if id(p) in ids}


def mark_pretrained(module: Any, pretrained: Pretrained) -> Any:
    """``module`` with its hub weights named (finetune.freeze_epochs/backbone_lr act on them) and where they came
    from (recorded with the run); returns it."""
    from aiaas_recipes.common.backbones.hub import SOURCE_ATTR

    module.pretrained_names = pretrained_names(module, pretrained)
    setattr(module, SOURCE_ATTR, pretrained.source)
    return module


def rebuild(hub: dict) -> Any:
    """The network rebuilt from a checkpoint's "hub" metadata alone (config, head, inputs): no hub needed."""
    return TransformersNet(from_config(hub["head"], hub["config"]), hub["inputs"])


def with_lora(pretrained: Pretrained, cfg: Any, head: str) -> Any:
    """The model to train: LoRA adapters when finetune.lora.r > 0, else the model itself."""
    if cfg.get("finetune") is None or not lora.wanted(cfg.finetune):
        return pretrained.model
    head_modules = sorted({name.split(".")[0] for name in pretrained.new}) or None
    return lora.apply(pretrained.model, cfg.finetune.lora, head, head_modules)


class TransformersNet(torch.nn.Module):
    """A Transformers model taking its inputs positionally, in the order ONNX names them, and giving the logits
    tensor (what export, evaluation and the Lightning module call)."""

    def __init__(self, model: Any, names: list[str]):
        super().__init__()
        self.model, self.names = model, list(names)

    # named parameters, not *tensors: torch.export matches one dynamic shape to each positional parameter
    def forward(self, first: torch.Tensor, second: torch.Tensor | None = None, third: torch.Tensor | None = None):
        tensors = (first, second, third)[: len(self.names)]
        return self.model(**dict(zip(self.names, tensors))).logits


class MergedCheckpoints:
    """LightningModule mixin for a ``net`` holding a Transformers model: checkpoints get the LoRA adapters merged
    into plain weights (what evaluate, export and init_from read); the adapter weights ride beside them so a run
    resumes with its adapters."""

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        if lora.active(self.net.model):
            merged = TransformersNet(lora.merged(self.net.model), self.net.names)
            checkpoint[LORA_STATE] = checkpoint["state_dict"]
            checkpoint["state_dict"] = {f"net.{k}": v.detach().cpu() for k, v in merged.state_dict().items()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if LORA_STATE in checkpoint:  # resuming: the adapters, not the merged weights
            checkpoint["state_dict"] = checkpoint.pop(LORA_STATE)


class HubClassifier(MergedCheckpoints, Classifier):
    """A Classifier around a Transformers model (sequence or audio classification)."""
