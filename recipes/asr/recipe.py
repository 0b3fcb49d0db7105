"""The asr recipe (speech recognition with CTC over characters): what the registry sees. Light at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

_FINGERPRINT_VERSION = 1  # bump when the dataset dir's layout or content changes
META_KEYS = ("rate", "n_mels", "win", "hop", "n_fft", "window_frames", "min_seconds", "max_seconds", "trim_db")


class SpeechRecognition(TorchRecipe):
    name = "asr"
    description = "Speech recognition (CTC over characters) from transcribed recordings (built-in: espeak-ng sentences)"
    config_name = "asr"
    serving_module = "aiaas_recipes.asr.serving"
    models = ("asr_gru",)
    metrics = Metrics(names=("wer", "cer"), headline="wer", higher_is_better=False, details=("examples",))
    input_names = ("features", "lengths")
    output_names = ("log_probs",)
    bento_packages = ("soundfile", "scipy")

    def check_config(self, cfg: Any) -> None:
        from aiaas_cli.errors import ConfigError

        data = cfg.data
        if float(data.window_seconds) < 1.0:
            raise ConfigError(f"data.window_seconds={data.window_seconds} is too short", "use at least 1")
        if not 0 < float(data.min_seconds) < float(data.max_seconds):
            raise ConfigError("data.min_seconds must be above 0 and below data.max_seconds")
        if float(data.split.val) + float(data.split.test) >= 1.0:
            raise ConfigError("data.split.val + data.split.test must leave some data for training (below 1)")
        if int(data.n_mels) < 8 or int(data.n_fft) < int(round(0.025 * int(data.sample_rate))):
            raise ConfigError("data.n_mels must be at least 8 and data.n_fft at least one 25 ms window of samples")

    def data_path(self, cfg: Any) -> Path:
        from aiaas_recipes.asr import builtin

        if cfg.data.path:
            return Path(str(cfg.data.path)).expanduser().resolve()
        return builtin.materialize(cfg.data.builtin)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.asr.sources import scan
        from aiaas_recipes.common.data.fingerprint import digest, listing_digest

        listing = ((i.path, f"{i.path}\0{i.text}\0{i.split}\0{i.speaker}") for i in scan(self.data_path(cfg)))
        keys = ("sample_rate", "n_mels", "n_fft", "window_seconds", "min_seconds", "max_seconds", "trim_db")
        settings = {key: cfg.data.get(key) for key in keys}
        settings.update(split=dict(cfg.data.split), v=_FINGERPRINT_VERSION)
        return digest({"input": listing_digest(listing), "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.asr import dataset
        from aiaas_recipes.asr.sources import scan

        path = self.data_path(cfg)
        return {"source": str(path), **dataset.build(scan(path), out_dir, cfg.data)}

    def dataset_summary(self, manifest: dict) -> dict:
        return {
            "alphabet": "".join(manifest["alphabet"]),
            "seconds": manifest["seconds"],
            "sample_rate": manifest["rate"],
        }

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.asr.datamodule import SpeechDataModule

        return SpeechDataModule(dataset_dir, cfg.data, manifest["alphabet"], cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from aiaas_cli.config import instantiate

        return instantiate(model_cfg, n_mels=int(meta["n_mels"]), num_classes=len(meta["alphabet"]) + 1)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_recipes.asr.module import Transcriber
        from aiaas_recipes.common.module import optimizers_from

        meta = {"recipe": self.name, "alphabet": manifest["alphabet"], "model": OmegaConf.to_container(cfg.model)}
        meta.update({key: manifest.get(key) for key in META_KEYS})
        optimizer, scheduler = optimizers_from(cfg)
        augment = {key: int(cfg.augment[key]) for key in ("freq", "time", "masks")}
        return Transcriber(self.build_network(cfg.model, meta), optimizer, scheduler, meta, augment)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.asr.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        from aiaas_recipes.asr.evaluation import examples_table

        return [examples_table(report)]

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.asr.evaluation import write_examples

        return [write_examples(report, out_dir)]

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.asr.export import export_spec

        return export_spec(meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.asr.export import samples

        return samples(dataset_dir, split, limit, manifest["alphabet"])

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.asr.export import compare

        return compare(expected, actual)

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        from aiaas_recipes.asr.export import score

        return score(outputs, targets)

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        files = (dataset_dir / "test_files.txt").read_text(encoding="utf-8").splitlines()[:limit]
        return [(name, Path(name).read_bytes()) for name in files]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.asr.builtin import write_sentences

        root = Path(workdir) / "speech"
        write_sentences(root, {"train": 12, "val": 3, "test": 3})
        return [f"data.path={root}", "data.batch_size=4", "model.channels=16", "model.hidden=16", "model.layers=1"]


recipe = SpeechRecognition()
