"""The tts recipe (text-to-speech): what the registry sees. Light at import time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity
from aiaas_recipes.common.torch_recipe import TorchRecipe

META_KEYS = ("vocabulary", "language", "mel_mean", "mel_std", "rate", "n_fft", "hop", "n_mels")
PARITY_ROWS = 16  # utterances of very different lengths: the mels are padded to the longest


class TextToSpeech(TorchRecipe):
    name = "tts"
    description = "Text-to-speech from (text, audio) pairs (built-in: sentences spoken by espeak-ng in one voice)"
    config_name = "tts"
    serving_module = "aiaas_recipes.tts.serving"
    models = ("fastspeech_small",)
    metrics = Metrics(names=("mcd", "duration_error", "f0_rmse"), headline="mcd", higher_is_better=False, bounded=False)
    input_names = ("phonemes", "lengths", "speed")
    output_names = ("mel", "mel_lengths", "durations")
    bento_packages = ("espeakng-loader", "soundfile", "scipy")

    def check_config(self, cfg: Any) -> None:
        data = cfg.data
        if data.path and not Path(str(data.path)).expanduser().is_dir():
            raise ConfigError(f"data.path {data.path} is not a folder", "pass an LJSpeech-style folder")
        if int(data.hop) <= 0 or int(data.n_fft) < int(data.hop) or int(data.n_mels) <= 0:
            raise ConfigError("data.n_fft, data.hop and data.n_mels must be positive, with n_fft >= hop")
        if float(data.split.val) + float(data.split.test) >= 1:
            raise ConfigError("data.split.val + data.split.test must be below 1")

    def data_path(self, cfg: Any) -> Path:
        from aiaas_recipes.tts import builtin

        if cfg.data.path:
            return Path(str(cfg.data.path)).expanduser().resolve()
        return builtin.materialize(str(cfg.data.builtin), int(cfg.data.sentences))

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import all_files, digest, files_digest

        root = self.data_path(cfg)
        keys = ("sample_rate", "n_fft", "hop", "n_mels", "min_seconds", "max_seconds", "trim_db", "language")
        settings = {key: cfg.data.get(key) for key in keys}
        settings.update(split=dict(cfg.data.split), rounds=cfg.data.align_rounds, v=3)  # v3: .npy arrays (was .npz)
        return digest({"root": str(root), "input": files_digest(root, listing=all_files), "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.tts import dataset, sources

        root = self.data_path(cfg)
        items, skipped = sources.scan(root)
        return {"source": str(root), **dataset.build(items, skipped, out_dir, cfg.data)}

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("rate", "n_mels", "hop", "language")
        return {"phonemes": len(manifest["vocabulary"]) - 2, **{key: manifest[key] for key in keys}}

    def load_model(self, path: Path) -> tuple[Any, dict]:
        network, meta = super().load_model(path)
        network.aiaas_meta = meta  # evaluation vocodes with the run's own Griffin-Lim settings
        return network, meta

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.tts.training import SpeechDataModule

        return SpeechDataModule(dataset_dir, cfg.data, cfg.seed)

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        from aiaas_cli.config import instantiate

        sizes = {"vocab_size": len(meta["vocabulary"]), "n_mels": int(meta["n_mels"])}
        return instantiate(model_cfg, **sizes, duration_bias=float(meta.get("mean_log_duration", 0.0)))

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_recipes.common.module import optimizers_from
        from aiaas_recipes.tts.training import SpeechModule

        meta = {"recipe": self.name, "model": OmegaConf.to_container(cfg.model, resolve=True)}
        meta.update({key: manifest[key] for key in META_KEYS}, mean_log_duration=manifest.get("mean_log_duration", 0.0))
        meta["serving"] = OmegaConf.to_container(cfg.synthesis, resolve=True)
        optimizer, scheduler = optimizers_from(cfg)
        return SpeechModule(self.build_network(cfg.model, meta), optimizer, scheduler, meta)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.tts.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def report_tables(self, report: dict) -> list[Any]:
        return []

    def write_plots(self, report: dict, out_dir: Path) -> list[Path]:
        from aiaas_recipes.tts.evaluation import write_samples

        return write_samples(report, out_dir)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        import torch

        example = (torch.randint(2, len(meta["vocabulary"]), (2, 24)), torch.tensor([24, 17]), torch.ones(2))
        phonemes_axes = {0: "batch", 1: "phonemes"}
        return ExportSpec(
            example_inputs=example,
            input_names=list(self.input_names),
            output_names=list(self.output_names),
            dynamic_axes={"phonemes": phonemes_axes, "lengths": {0: "batch"}, "speed": {0: "batch"},
                          "mel": {0: "batch", 1: "frames"}, "mel_lengths": {0: "batch"}, "durations": phonemes_axes},
            metadata={**{key: meta[key] for key in META_KEYS}, **meta["serving"]},
        )  # fmt: skip

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        import numpy as np

        from aiaas_recipes.tts.dataset import load_split
        from aiaas_recipes.tts.training import pad

        rows = load_split(dataset_dir, split)[: min(limit, PARITY_ROWS)]
        if not rows:
            return {"phonemes": np.zeros((0, 1), np.int64)}, []
        feeds = {
            "phonemes": pad([r["ids"] for r in rows]).numpy(),
            "lengths": np.array([len(r["ids"]) for r in rows], np.int64),
            "speed": np.ones(len(rows), np.float32),
        }
        return feeds, [r["durations"] for r in rows]

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        import torch

        with torch.inference_mode():
            out = network(*(torch.from_numpy(inputs[name]) for name in self.input_names))
        return {name: tensor.numpy() for name, tensor in zip(self.output_names, out)}

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        """An utterance agrees when its phoneme durations are identical and its mel frames are within
        export.tolerance (relative to max(1, |value|)); the largest mel difference is reported."""
        import numpy as np

        from aiaas_recipes.common.parity import excess, max_abs

        tolerance, mel, lengths = float(export_cfg.tolerance), expected["mel"], expected["mel_lengths"]
        same = [bool(np.array_equal(a, b)) for a, b in zip(expected["durations"], actual["durations"])]
        ratio = [float(excess(mel[i : i + 1, :n], actual["mel"][i : i + 1, :n], tolerance)[0]) if same[i] else np.inf
                 for i, n in enumerate(lengths)]  # fmt: skip
        i = int(np.argmax(ratio)) if ratio else 0
        worst = ""
        if ratio and ratio[i] > 1:
            worst = f"utterance {i}: " + ("phoneme durations differ" if not same[i] else
                                          f"mel {ratio[i]:.3g}x export.tolerance={tolerance} (relative)")  # fmt: skip
        agree = float(np.mean([r <= 1 for r in ratio])) if ratio else 1.0
        raw = max((max_abs(mel[i, :n], actual["mel"][i, :n]) for i, n in enumerate(lengths) if same[i]), default=0.0)
        return Parity(raw, agree, len(ratio), "utterance_agreement", worst, "tolerance")

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        """Mean absolute per-phoneme duration error in frames (the mel itself needs the vocoder to be scored)."""
        import numpy as np

        errors = [np.abs(d[: len(t)] - t).mean() for d, t in zip(outputs["durations"], targets)]
        return float(np.mean(errors)) if errors else 0.0

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        utterances = json.loads((dataset_dir / "test.json").read_text())[:limit]
        return [(u["id"], u["text"]) for u in utterances]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.tts.builtin import write_corpus

        root = Path(workdir) / "speech"
        if not (root / "metadata.csv").is_file():
            write_corpus(root, 12)
        return [f"data.path={root}", "data.batch_size=4", "model.dim=16", "model.layers=1", "data.align_rounds=2"]


recipe = TextToSpeech()
