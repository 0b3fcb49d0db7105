"""model=hf for audio-cls: a Transformers audio-classification model (Wav2Vec2, HuBERT, WavLM: raw-waveform models)
loaded by Transformers itself, with its feature extractor's settings as the recipe's front end. A checkpoint
rebuilds the network from the config it recorded, without the hub."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.backbones.hub import hf_source, is_offline, load_hf

# the feature extractor's keys that decide the numbers the model hears (recorded with the run and in the ONNX file)
EXTRACTOR_KEYS = ("feature_extractor_type", "sampling_rate", "do_normalize", "feature_size", "padding_value")


class HFAudio(nn.Module):
    """(N, samples) normalised waveforms -> (N, classes) logits: the Transformers model's logits as one tensor, so
    the Classifier, the ONNX export and the parity gate see a plain network."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return self.model(input_values=waveforms).logits


def _revision(model_cfg: Any) -> dict:
    revision = model_cfg.get("revision")
    return {"revision": revision} if revision else {}


def extractor_settings(cfg: Any) -> dict:
    """The model's own preprocessing from its feature extractor: sampling rate, normalisation. Only raw-waveform
    extractors are taken (a log-mel one such as AST's is refused with one line)."""
    from transformers import AutoFeatureExtractor

    name = str(cfg.model.name)
    extractor = load_hf(AutoFeatureExtractor.from_pretrained, name, is_offline(cfg), **_revision(cfg.model))
    settings = {key: value for key, value in extractor.to_dict().items() if key in EXTRACTOR_KEYS}
    names = getattr(extractor, "model_input_names", [])
    if int(settings.get("feature_size", 0)) != 1 or "input_values" not in names:
        raise ConfigError(
            f"model.name={name} takes {type(extractor).__name__} features, not raw waveforms",
            "audio-cls model=hf takes raw-waveform models (Wav2Vec2, HuBERT, WavLM, Data2VecAudio)",
        )
    return settings


def front_end(data_cfg: Any, extractor: dict) -> dict:
    """The recipe's front end for a waveform model: its rate, the clip length at that rate, its normalisation."""
    rate = int(extractor["sampling_rate"])
    return {
        "input": "waveform",
        "rate": rate,
        "clip": int(round(float(data_cfg.clip_seconds) * rate)),
        "do_normalize": bool(extractor.get("do_normalize", True)),
        "feature_extractor": extractor,
    }


def _labels(classes: list[str]) -> dict:
    return {
        "num_labels": len(classes),
        "id2label": dict(enumerate(classes)),
        "label2id": {name: i for i, name in enumerate(classes)},
    }


def load_pretrained(cfg: Any, manifest: dict) -> tuple[HFAudio, set[str]]:
    """The hub model with a new head for the dataset's classes and the names (as ``net.*`` in the LightningModule)
    of every parameter that came from the hub: all but the new head."""
    from transformers import AutoModelForAudioClassification

    if manifest.get("input") != "waveform":
        raise ConfigError("this dataset holds log-mels, not the waveforms model=hf takes", "preprocess with model=hf")

    model, info = load_hf(
        AutoModelForAudioClassification.from_pretrained,
        str(cfg.model.name),
        is_offline(cfg),
        output_loading_info=True,
        ignore_mismatched_sizes=True,  # a saved head of another size is replaced, as for a new label set
        **_labels(manifest["classes"]),
        **_revision(cfg.model),
    )
    model.train()  # from_pretrained hands it over in eval mode; Lightning keeps each submodule's mode
    if bool(cfg.finetune.get("gradient_checkpointing", False)):
        model.gradient_checkpointing_enable()
    fresh = set(info.get("missing_keys", ())) | {entry[0] for entry in info.get("mismatched_keys", ())}
    pretrained = {f"net.model.{name}" for name, _ in model.named_parameters() if name not in fresh}
    return HFAudio(model), pretrained


def source(cfg: Any, net: HFAudio) -> dict:
    """Where the weights came from (hub id and commit, or the local folder's sha256)."""
    return hf_source(str(cfg.model.name), net.model.config)


def from_config(config: dict) -> HFAudio:
    """The network a checkpoint recorded (``config.to_dict()``), with random weights for the checkpoint to fill:
    nothing is read from the hub."""
    from transformers import CONFIG_MAPPING, AutoModelForAudioClassification

    return HFAudio(AutoModelForAudioClassification.from_config(CONFIG_MAPPING[config["model_type"]].from_dict(config)))
