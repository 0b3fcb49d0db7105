"""The recipe contract: what varies per task. Stages call these methods and never ask which task.

A recipe module must stay light at import time (no torch): `aiaas recipes` imports it to list it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def bundled_conf_dir() -> Path:
    """The `conf/` folder shipped with aiaas (a package, so it also works from a wheel)."""
    import aiaas_conf

    return Path(aiaas_conf.__file__).resolve().parent


@dataclass
class ExportSpec:
    """How to trace a recipe's network to ONNX, and what the served model needs to know."""

    example_inputs: tuple  # torch tensors; a batch of 2+ so the batch axis stays symbolic
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]  # e.g. {"image": {0: "batch"}, "logits": {0: "batch"}}
    metadata: dict[str, Any] = field(default_factory=dict)  # JSON-able: labels, input size, normalisation


class Recipe:
    """Base class for a task. Subclasses fill in the names and the stage hooks they support."""

    name: str = ""
    description: str = ""
    config_name: str = ""  # the primary Hydra config, e.g. "image-cls"
    serving_module: str = ""  # torch-free module with build_adapter(metadata); see aiaas_cli.serving.runtime

    @property
    def config_dir(self) -> Path:
        return bundled_conf_dir()

    # preprocess: raw input -> dataset dir (arrays + manifest.json)
    def fingerprint(self, cfg: Any) -> str:
        """A key for the raw input and the preprocessing settings; same key -> cached dataset."""
        raise NotImplementedError

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        """Write arrays and return the manifest (a JSON-able dict) for ``out_dir``.

        The manifest needs "classes" and "counts" ({split: {class: n}}); it may list "skipped" inputs
        ({"file", "reason"}; "skipped_what" names them, default "unreadable file(s)") and "duplicates".
        """
        raise NotImplementedError

    # train: dataset dir -> LightningDataModule + LightningModule
    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        raise NotImplementedError

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path | None = None) -> Any:
        """The LightningModule, built from the config (its `aiaas` checkpoint metadata included).

        ``dataset_dir`` holds files the network is sized from or must carry into its checkpoint (a tokenizer).
        """
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

    # export: network -> model.onnx, checked against torch on held-out samples
    def export_spec(self, network: Any, checkpoint: dict) -> ExportSpec:
        """Example input, ONNX input/output names, dynamic axes and serving metadata for ``network``."""
        raise NotImplementedError

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[Any, Any]:
        """Up to ``limit`` model-ready inputs (a numpy batch) and their labels from ``split``.

        Export uses the test split for the parity check and the train split to calibrate int8 quantization.
        """
        raise NotImplementedError

    def score_outputs(self, outputs: Any, labels: Any) -> float:
        """The headline metric (0..1, higher is better) of raw model outputs; judges int8 quantization."""
        raise NotImplementedError

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        """A few raw held-out inputs as (name, payload) for the served model to show off; none by default."""
        return []
