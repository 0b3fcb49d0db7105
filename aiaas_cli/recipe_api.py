"""The recipe contract: what varies per task. Stages call these methods and never ask which task.

A recipe module must stay light at import time (no torch): `aiaas recipes` imports it to list it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def bundled_conf_dir() -> Path:
    """The `conf/` folder shipped with aiaas (a package, so it also works from a wheel)."""
    import aiaas_conf

    return Path(aiaas_conf.__file__).resolve().parent


class Recipe:
    """Base class for a task. Subclasses fill in the names and the stage hooks they support."""

    name: str = ""
    description: str = ""
    config_name: str = ""  # the primary Hydra config, e.g. "image-cls"

    @property
    def config_dir(self) -> Path:
        return bundled_conf_dir()

    # preprocess: raw input -> dataset dir (arrays + manifest.json)
    def fingerprint(self, cfg: Any) -> str:
        """A key for the raw input and the preprocessing settings; same key -> cached dataset."""
        raise NotImplementedError

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        """Write arrays and return the manifest (a JSON-able dict) for ``out_dir``."""
        raise NotImplementedError

    # train: dataset dir -> LightningDataModule + LightningModule
    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        raise NotImplementedError

    def model(self, cfg: Any, manifest: dict) -> Any:
        """The LightningModule, built from the config (its `aiaas` checkpoint metadata included)."""
        raise NotImplementedError

    def load_model(self, checkpoint: dict) -> Any:
        """Rebuild the trained torch network from a checkpoint dict loaded with weights_only."""
        raise NotImplementedError

    # evaluate: (network, dataset dir) -> report
    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        raise NotImplementedError

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        """Write evaluation plots for ``report`` into ``out_dir``; return their paths."""
        return []
