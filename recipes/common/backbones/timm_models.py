"""timm image models (`model=timm`) through timm's own ``create_model``: a model name's weights downloaded by timm into
the Hugging Face cache (HF_HOME) or TORCH_HOME when online, read from there when offline, or a local weights file
(``model.file``); the preprocessing the model expects read from its own config; nothing read again when a checkpoint
rebuilds the network (``pretrained=false``, no file: see pretrained.for_checkpoint)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiaas_cli.errors import ConfigError, UserError

CROP_MODES = ("center",)  # timm's "squash" and "border" eval crops are not reproduced by the numpy decoder


@dataclass
class Built:
    """A timm network, where its weights came from (None: random init) and the names of the parameters that hold
    pretrained weights (every one but the new classifier's)."""

    net: Any
    source: dict | None = None
    pretrained: set[str] = field(default_factory=set)


def _check_name(name: Any) -> str:
    import timm

    if not name or not timm.is_model(str(name)):
        raise ConfigError(
            f"model.name={name} is not a timm model" if name else "a timm model needs model.name",
            "a name from timm.list_models(), e.g. model.name=resnet18.a1_in1k or model.name=mobilenetv3_small_100",
        )
    return str(name)


def data_config(model_cfg: Mapping) -> dict:
    """The preprocessing model ``model_cfg.name`` expects (timm.data.resolve_data_config of its pretrained config):
    square input size (``model.input_size`` overrides it), interpolation, mean/std, crop_pct and crop_mode."""
    import timm
    from timm.data import resolve_data_config

    name = _check_name(model_cfg.get("name"))
    pretrained_cfg = timm.models.get_pretrained_cfg(name)
    resolved = resolve_data_config(pretrained_cfg=pretrained_cfg.to_dict() if pretrained_cfg else {})
    _, height, width = resolved["input_size"]
    size = model_cfg.get("input_size") or height
    if height != width and not model_cfg.get("input_size"):
        raise ConfigError(f"timm model {name} expects {height}x{width} images; image-cls feeds square ones",
                          f"set model.input_size, e.g. model.input_size={max(height, width)}")  # fmt: skip
    mode = resolved.get("crop_mode", "center")
    if mode not in CROP_MODES:
        raise ConfigError(f"timm model {name} evaluates with crop_mode={mode}, which aiaas cannot reproduce in serving",
                          "pick another timm model (most use the center crop)")  # fmt: skip
    return {
        "input_size": int(size),
        "interpolation": str(resolved["interpolation"]),
        "mean": [float(v) for v in resolved["mean"]],
        "std": [float(v) for v in resolved["std"]],
        "crop_pct": float(resolved["crop_pct"]),
        "crop_mode": mode,
    }


def _weights_file(model_cfg: Mapping) -> Path:
    given = Path(str(model_cfg["file"])).expanduser()
    if not given.is_file():
        raise ConfigError(f"model.file={model_cfg['file']} does not exist",
                        f"point model.file at a .safetensors/.pth file of {model_cfg.get('name')}'s weights, "
                        "or drop it to use timm's own download")  # fmt: skip
    return given.resolve()


def _hub_location(pretrained_cfg: Any) -> tuple[str, str | None]:
    repo, _, revision = str(pretrained_cfg.hf_hub_id).partition("@")
    return repo, revision or None


def cached_file(name: str) -> Path | None:
    """Where timm's download of ``name``'s weights sits in the local caches (HF hub cache, TORCH_HOME), if it does."""
    import timm
    from huggingface_hub import try_to_load_from_cache

    pretrained_cfg = timm.models.get_pretrained_cfg(name)
    if pretrained_cfg is None:
        return None
    if pretrained_cfg.hf_hub_id:
        repo, revision = _hub_location(pretrained_cfg)
        names = [pretrained_cfg.hf_hub_filename] if pretrained_cfg.hf_hub_filename else []
        for filename in (*names, "model.safetensors", "pytorch_model.bin"):  # timm's own order
            found = try_to_load_from_cache(repo, filename, revision=revision)
            if isinstance(found, str):
                return Path(found)
    if pretrained_cfg.url:
        path = _torch_hub_dir() / "checkpoints" / os.path.basename(pretrained_cfg.url)
        return path if path.is_file() else None
    return None


def _torch_hub_dir() -> Path:
    import torch

    return Path(torch.hub.get_dir())


def _offline_file(name: str) -> Path:
    from aiaas_recipes.common.backbones.hub import hf_cache_dir

    found = cached_file(name)
    if found is None:
        raise UserError(f"timm model '{name}' is not in the cache {hf_cache_dir()} (or {_torch_hub_dir()}) and offline "
                        "mode is on", "run once with internet (offline=false, HF_HUB_OFFLINE unset) to let timm "
                        "download it, or set model.file=<its weights file>")  # fmt: skip
    return found


def _head_size(path: Path, classifier: Any) -> int:
    """The number of classes of the classifier saved in ``path`` (0: a file without one, a bare backbone)."""
    from timm.models import load_state_dict

    head = classifier[0] if isinstance(classifier, (list, tuple)) else classifier
    try:
        state = load_state_dict(str(path))
    except Exception as exc:  # torch and safetensors raise many types for a file that is not a state dict
        raise UserError(f"cannot read weights file {path}: {str(exc).splitlines()[0]}",
                        "model.file must be a .safetensors or .pth state dict") from None  # fmt: skip
    weight = state.get(f"{head}.weight") if head else None
    return int(weight.shape[0]) if weight is not None else 0


def _create(name: str, **kwargs: Any) -> Any:
    """timm.create_model; a download or a weights file that fails is one line."""
    import timm

    try:
        return timm.create_model(name, **kwargs)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # hub errors are OSErrors; a state-dict mismatch
        why = " ".join(line.strip() for line in str(exc).splitlines()[:2])[:200]
        raise UserError(
            f"cannot load timm model '{name}': {why}",
            "check model.name and model.file (the file must hold that architecture's weights)",
        ) from None


def _source(name: str, file: Path | None, given_file: bool) -> dict:
    from aiaas_recipes.common.backbones.hub import file_source

    if given_file:
        return file_source("timm", file)
    import timm

    pretrained_cfg = timm.models.get_pretrained_cfg(name)
    hub_id = pretrained_cfg.hf_hub_id if pretrained_cfg else None
    cached = file or cached_file(name)
    commit = cached.parent.name if cached and "snapshots" in cached.parts else None  # <cache>/snapshots/<commit>/x
    return {"kind": "timm", "name": name, "revision": f"{hub_id}@{commit}" if commit else (hub_id or "unknown")}


def _pretrained(name: str, model_cfg: Mapping, offline: bool, **kwargs: Any) -> tuple[Any, dict]:
    """The model exactly as its weights were saved (their own classifier, so nothing is dropped silently)."""
    import timm

    given = bool(model_cfg.get("file"))
    file = _weights_file(model_cfg) if given else _offline_file(name) if offline else None
    pretrained_cfg = timm.models.get_pretrained_cfg(name)
    if file is None:
        return _create(name, pretrained=True, **kwargs), _source(name, None, False)
    classes = _head_size(file, pretrained_cfg.classifier if pretrained_cfg else None)
    if "features_only" not in kwargs:
        kwargs["num_classes"] = classes
    overlay = {"file": str(file), "num_classes": classes}  # timm drops the classifier when the two disagree
    return _create(name, pretrained=True, pretrained_cfg_overlay=overlay, **kwargs), _source(name, file, given)


def _check_flags(model_cfg: Mapping) -> bool:
    pretrained = bool(model_cfg.get("pretrained", True))
    if model_cfg.get("file") and not pretrained:
        raise ConfigError("model.file is set but model.pretrained=false", "drop model.file, or set pretrained=true")
    return pretrained


def check_weights(model_cfg: Mapping, offline: bool) -> None:
    """The weights a run will start from can be had (a model.file that exists; offline, timm's cached download), so
    that a usage mistake stops before any run opens."""
    if _check_flags(model_cfg) and model_cfg.get("file"):
        _weights_file(model_cfg)
    elif _check_flags(model_cfg) and offline:
        _offline_file(_check_name(model_cfg.get("name")))


def classifier(model_cfg: Mapping, num_classes: int, offline: bool = False) -> Built:
    """A timm classifier with a new ``num_classes`` head: pretrained weights (model.file, or timm's download / the
    cache) for the rest, or random weights with ``pretrained=false``."""
    name = _check_name(model_cfg.get("name"))
    if not _check_flags(model_cfg):
        return Built(_create(name, pretrained=False, num_classes=num_classes))
    net, source = _pretrained(name, model_cfg, offline)
    net.reset_classifier(num_classes)
    head = {id(p) for p in net.get_classifier().parameters()}
    return Built(net, source, {n for n, p in net.named_parameters() if id(p) not in head})


def features(model_cfg: Mapping, out_indices: tuple[int, ...] | None = None, offline: bool = False) -> Built:
    """A timm backbone with ``features_only=True``: its maps at ``out_indices`` (None: timm's default, every level);
    every parameter pretrained when weights were loaded."""
    name = _check_name(model_cfg.get("name"))
    kwargs = {"features_only": True, **({"out_indices": out_indices} if out_indices else {})}
    if not _check_flags(model_cfg):
        return Built(_create(name, pretrained=False, **kwargs))
    net, source = _pretrained(name, model_cfg, offline, **kwargs)
    return Built(net, source, {n for n, _ in net.named_parameters()})


def attach(module: Any, built: Built | None, prefix: str) -> Any:
    """Tell the train stage where ``module``'s weights started from: its source, and the names (as in
    ``module.named_parameters()``; ``built.net`` lives at ``prefix``) of the parameters holding pretrained weights."""
    if built is not None and built.source:
        from aiaas_recipes.common.backbones.hub import SOURCE_ATTR

        setattr(module, SOURCE_ATTR, built.source)
        module.pretrained_names = {f"{prefix}{name}" for name in built.pretrained}
    return module
