"""Hub models (Hugging Face, timm) through the libraries' own loading code and caches (HF_HOME, TORCH_HOME): downloaded
when online, read from the cache when offline, and one clear line when offline and not cached — never a silent random
initialisation. Also where a network started from (``source``), recorded with the run so it can be repeated."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiaas_cli.errors import UserError

# A LightningModule that starts from pretrained weights sets this attribute to a `source` dict; the train stage logs
# it with the run (tags aiaas.source.*) and the registry entry.
SOURCE_ATTR = "aiaas_source"


def is_offline(cfg: Any = None) -> bool:
    """``offline=true`` in the config, or the libraries' own switches (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1)."""
    if cfg is not None and bool(getattr(cfg, "get", lambda *_: False)("offline", False)):
        return True
    return any(
        os.environ.get(flag, "").lower() in ("1", "true", "yes") for flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir() -> Path:
    """Where huggingface_hub caches downloads (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def load_hf(loader: Callable[..., Any], name: str, offline: bool, setting: str = "model.name", **kwargs: Any) -> Any:
    """``loader(name, **kwargs)`` (a ``from_pretrained``), from the local cache only when ``offline``; a model that
    cannot be had is one line naming it, the cache and what to do."""
    local = Path(name).expanduser()
    try:
        return loader(str(local) if local.exists() else name, local_files_only=offline, **kwargs)
    except (OSError, ValueError) as exc:  # huggingface_hub's not-found / offline errors are OSErrors
        if local.exists():
            raise UserError(f"cannot load the model in {local}: {str(exc).splitlines()[0]}",
                            "point model.name at a folder written by save_pretrained") from None  # fmt: skip
        if offline:
            raise UserError(f"hub model '{name}' is not in the cache {hf_cache_dir()} and offline mode is on",
                            "run once with internet (offline=false, HF_HUB_OFFLINE unset) or copy the model's "
                            f"folder there; or set {setting} to a local folder") from None  # fmt: skip
        hint = f"check {setting} (a hub id such as prajjwal1/bert-tiny, or a local folder)"
        raise UserError(f"cannot load hub model '{name}': {str(exc).splitlines()[0]}", hint) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """One digest of every file in ``folder`` (names and contents), for a model saved with save_pretrained."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def hf_source(name: str, config: Any) -> dict:
    """Where a Transformers model came from: a hub id and the commit of the revision read, or a local folder's
    sha256."""
    local = Path(name).expanduser()
    if local.exists():
        return {
            "kind": "hf",
            "name": str(local.resolve()),
            "sha256": folder_sha256(local) if local.is_dir() else file_sha256(local),
        }
    return {"kind": "hf", "name": name, "revision": getattr(config, "_commit_hash", None) or "unknown"}


def file_source(kind: str, path: Path) -> dict:
    """A weights file (a timm checkpoint, a torchvision download): its path and sha256."""
    return {"kind": kind, "name": str(Path(path).resolve()), "sha256": file_sha256(Path(path))}


def run_source(run_id: str) -> dict:
    """An earlier aiaas run (model.init_from=run:<id>)."""
    return {"kind": "run", "name": run_id}


OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextmanager
def offline_switches(cfg: Any) -> Iterator[None]:
    """With ``offline=true``, the libraries' own offline switches are on inside the block (HF_HUB_OFFLINE=1,
    TRANSFORMERS_OFFLINE=1), so Transformers, timm, huggingface_hub and our torchvision loader refuse the network."""
    import sys

    if not is_offline(cfg):
        yield
        return
    saved = {flag: os.environ.get(flag) for flag in OFFLINE_FLAGS}
    os.environ.update(dict.fromkeys(OFFLINE_FLAGS, "1"))
    # huggingface_hub reads the variable once, at import (Lightning and MLflow have imported it by now)
    constants = sys.modules.get("huggingface_hub.constants")
    was = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for flag, value in saved.items():
            if value is None:
                os.environ.pop(flag, None)
            else:
                os.environ[flag] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = was
