"""The audio-cls recipe (keyword spotting): what the registry sees. Light at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.recipe import ClassificationRecipe, StatisticsLRModels

FRONT_KEYS = ("rate", "clip", "n_mels", "win", "hop", "n_fft", "frames", "min_seconds", "max_seconds", "trim_db")
WAVEFORM_KEYS = ("input", "do_normalize", "feature_extractor")  # a hub waveform model's front end (model=hf)


def is_hf(model_cfg: Any) -> bool:
    return model_cfg.get("kind") == "hf"


def is_pooled_lr(model_cfg: Any) -> bool:
    return model_cfg.get("_target_") == "aiaas_recipes.audio_cls.pooled.PooledLR"  # pooled.TARGET (a heavy module)


class AudioClassification(StatisticsLRModels, ClassificationRecipe):
    name = "audio-cls"
    description = "Keyword spotting from class folders of recordings (built-in: espeak-ng keywords)"
    statistics_lr = "aiaas_recipes.audio_cls.pooled.PooledLR"  # trains itself, saved with skops
    config_name = "audio-cls"
    serving_module = "aiaas_recipes.audio_cls.serving"
    models = ("audio_cnn", "pooled_lr", "hf")
    auto_candidates = ("pooled_lr", "audio_cnn")  # model=auto, cheapest first (both read the log-mels)
    input_names = ("features",)
    bento_packages = ("soundfile", "scipy")

    def data_path(self, cfg: Any) -> Path:
        from aiaas_recipes.audio_cls import builtin

        if cfg.data.path:
            return Path(str(cfg.data.path)).expanduser().resolve()
        return builtin.materialize(cfg.data.builtin)

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.audio_cls.sources import scan
        from aiaas_recipes.common.data.fingerprint import digest, listing_digest

        listing = ((item.path, f"{item.path}\0{item.label}\0{item.split}") for item in scan(self.data_path(cfg)))
        settings = {key: cfg.data.get(key) for key in ("sample_rate", "clip_seconds", "n_mels", "n_fft")}
        settings.update(split=dict(cfg.data.split), limits=[cfg.data.min_seconds, cfg.data.max_seconds])
        settings.update(trim=cfg.data.get("trim_db"), v=2)
        if is_hf(cfg.model):  # the model's own preprocessing decides the arrays
            from aiaas_recipes.audio_cls.hf_model import extractor_settings

            settings.update(model=[cfg.model.name, cfg.model.get("revision")], extractor=extractor_settings(cfg))
        return digest({"input": listing_digest(listing), "settings": settings})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.audio_cls import dataset
        from aiaas_recipes.audio_cls.sources import scan

        path = self.data_path(cfg)
        front = None
        if is_hf(cfg.model):
            from aiaas_recipes.audio_cls.hf_model import extractor_settings, front_end

            front = front_end(cfg.data, extractor_settings(cfg))
        return {"source": str(path), **dataset.build(scan(path), out_dir, cfg.data, front)}

    def dataset_summary(self, manifest: dict) -> dict:
        return {"classes": manifest["classes"], "sample_rate": manifest["rate"], "frames": manifest["frames"]}

    def check_config(self, cfg: Any) -> None:
        from aiaas_cli.errors import ConfigError

        if is_hf(cfg.model) and not cfg.model.get("name"):
            raise ConfigError("model=hf needs model.name", "a hub id or a folder written by save_pretrained")

    def candidates(self, cfg: Any, manifest: dict) -> list[str]:
        from aiaas_cli.errors import ConfigError

        names = super().candidates(cfg, manifest)
        if "hf" in names:  # the run's dataset holds log-mels; a hub waveform model needs its own
            raise ConfigError("model=auto trains log-mel models: model=hf (waveform input) is not a candidate",
                              "train it on its own with model=hf")  # fmt: skip
        return names

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.audio_cls.datamodule import AudioDataModule

        return AudioDataModule(dataset_dir, cfg.data, cfg.seed)

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_cli.config import instantiate
        from aiaas_recipes.common.module import Classifier, optimizers_from

        model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
        meta = {"recipe": self.name, "classes": manifest["classes"], "model": model_cfg}
        meta.update({key: manifest.get(key) for key in (*FRONT_KEYS, *WAVEFORM_KEYS)})
        if is_pooled_lr(cfg.model):  # trains itself; _partial_: the metadata stays plain Python values
            return instantiate(cfg.model, _partial_=True)(meta=meta, seed=int(cfg.seed))
        pretrained, source = None, None
        if is_hf(cfg.model):
            from aiaas_recipes.audio_cls import hf_model

            net, pretrained = hf_model.load_pretrained(cfg, manifest)
            model_cfg["config"] = net.model.config.to_dict()  # a checkpoint rebuilds the network from it
            source = hf_model.source(cfg, net)
        else:
            net = instantiate(cfg.model, num_classes=len(manifest["classes"]), n_mels=manifest["n_mels"])
            model_cfg["n_mels"] = manifest["n_mels"]
        optimizer, scheduler = optimizers_from(cfg)
        module = Classifier(net, optimizer, scheduler, cfg.loss.label_smoothing, meta)
        if pretrained is not None:  # the names the fine-tuning controls treat as backbone; where they came from
            from aiaas_recipes.common.backbones.hub import SOURCE_ATTR

            module.pretrained_names = pretrained
            setattr(module, SOURCE_ATTR, source)
        return module

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        if is_hf(model_cfg):
            from aiaas_recipes.audio_cls.hf_model import from_config

            return from_config(model_cfg["config"])
        return super().build_network(model_cfg, meta)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.audio_cls.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        import torch

        from aiaas_recipes.audio_cls.pooled import PooledLR
        from aiaas_recipes.audio_cls.serving import INPUT_NAME

        # the length stays the clip's, as the service fits every upload to it (a hub waveform model would take any
        # length, but a symbolic one is then timed by packaging at a size below its convolutions' reach)
        if meta.get("input") == "waveform":
            example = torch.randn(2, int(meta["clip"]), generator=torch.Generator().manual_seed(0))
        else:
            example = torch.zeros(2, int(meta["n_mels"]), int(meta["frames"]))
        axes = {INPUT_NAME: {0: "batch"}, "logits": {0: "batch"}}
        front = {k: meta[k] for k in (*FRONT_KEYS, *WAVEFORM_KEYS) if meta.get(k) is not None}
        return ExportSpec(
            example_inputs=(example,),
            input_names=[INPUT_NAME],
            output_names=["logits"],
            dynamic_axes=axes,
            # BentoML metadata takes no None: an unset trim_db is left out
            metadata={"labels": list(meta["classes"]), **front},
            convert=network.convert if isinstance(network, PooledLR) else None,  # skl2onnx behind the pooling step
        )

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        import numpy as np

        from aiaas_recipes.audio_cls.datamodule import load_split
        from aiaas_recipes.audio_cls.serving import INPUT_NAME

        mels, labels = load_split(dataset_dir, split)
        pick = np.sort(np.random.default_rng(0).permutation(len(labels))[:limit])
        return {INPUT_NAME: mels[pick]}, labels[pick]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        from aiaas_recipes.audio_cls.smoke import tone_folders

        root = tone_folders(Path(workdir) / "tones")
        return [f"data.path={root}", "data.batch_size=8", "model.channels=[4,8]"]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        files = (dataset_dir / "test_files.txt").read_text().splitlines()
        files = files[:: max(len(files) // limit, 1)][:limit]  # spread over the sorted list: several classes
        return [(name, Path(name).read_bytes()) for name in files]


recipe = AudioClassification()
