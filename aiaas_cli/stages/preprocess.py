"""preprocess: raw input -> dataset dir (arrays + manifest.json), cached by input fingerprint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiaas_cli import console, tracking, workspace
from aiaas_cli.config import leaf_keys
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Recipe


@dataclass
class Dataset:
    dir: Path
    manifest: dict
    cached: bool


def build(cfg: Any, recipe: Recipe) -> Dataset:
    """The dataset dir for this config: reused when the input and settings are unchanged."""
    key = recipe.fingerprint(cfg)
    target = workspace.datasets_dir() / f"{recipe.name}-{key[:16]}"
    manifest_path = target / "manifest.json"
    cached = manifest_path.exists()
    if cached:
        console.step(f"Dataset unchanged, using cache {target}")
        dataset = Dataset(target, workspace.read_json(manifest_path), cached)
        _report_problems(dataset, strict=bool(cfg.strict))
        return dataset
    console.step(f"Preprocessing into {target}")
    with workspace.atomic_dir(target) as temp:
        manifest = {"recipe": recipe.name, "fingerprint": key, **recipe.build_dataset(cfg, temp)}
        dataset = Dataset(target, manifest, cached)
        _report_problems(dataset, strict=bool(cfg.strict))  # before the rename: a strict failure leaves nothing
        workspace.write_json(temp / "manifest.json", manifest)
    return dataset


def _report_problems(dataset: Dataset, strict: bool) -> None:
    skipped = dataset.manifest.get("skipped", [])
    if skipped:
        first = skipped[0]
        what = dataset.manifest.get("skipped_what", "unreadable file(s)")
        message = f"skipped {len(skipped)} {what}, e.g. {first['file']}: {first['reason']}"
        if strict:
            raise UserError(message, "fix or remove them (--strict), or drop --strict to skip them")
        console.warn(f"{message} (full list in {dataset.dir / 'manifest.json'})")
    crossing = dataset.manifest.get("duplicates", {}).get("cross_split_groups", 0)
    if crossing:
        console.warn(f"{crossing} identical file(s) appear in more than one split: test accuracy will be inflated")


def log(cfg: Any, dataset: Dataset) -> None:
    """Record the dataset on the active run."""
    tracking.log_params({k: v for k, v in leaf_keys(cfg.data).items() if not isinstance(v, dict)})
    tracking.set_tags({"aiaas.dataset_dir": dataset.dir, "aiaas.dataset_fingerprint": dataset.manifest["fingerprint"]})
    tracking.log_artifact(dataset.dir / "manifest.json", "dataset")


def summary(dataset: Dataset) -> dict:
    counts = dataset.manifest["counts"]
    return {
        "dataset_dir": str(dataset.dir),
        "cached": dataset.cached,
        "classes": dataset.manifest["classes"],
        "split_sizes": {split: sum(per_class.values()) for split, per_class in counts.items()},
        "skipped": len(dataset.manifest.get("skipped", [])),
    }


def from_run(run_id: str) -> Dataset:
    """The dataset a run was trained on, if it is still in this workspace."""
    tags = tracking.get_run(run_id).data.tags
    path = Path(tags.get("aiaas.dataset_dir") or "/nonexistent")
    if not (path / "manifest.json").exists():
        raise UserError(
            f"the dataset of run '{run_id}' is not in this workspace ({path})", "run `aiaas preprocess` again"
        )
    return Dataset(path, workspace.read_json(path / "manifest.json"), cached=True)
