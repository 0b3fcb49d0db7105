"""preprocess: raw input -> dataset dir (arrays + manifest.json), cached by input fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli import console, tags, tracking, workspace
from aiaas_cli.artifacts import Dataset
from aiaas_cli.config import leaf_keys
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Recipe


def build(cfg: Any, recipe: Recipe) -> Dataset:
    """The dataset dir for this config: reused when the input and settings are unchanged."""
    key = recipe.fingerprint(cfg)
    target = workspace.datasets_dir() / f"{recipe.name}-{key[:16]}"
    # jobs started together on one home (a CI matrix) with the same input: one builds, the others wait and reuse
    # it, instead of each replacing the folder another is already reading
    with workspace.lock(f"dataset-{target.name}"):
        return _build_or_reuse(cfg, recipe, key, target)


def _build_or_reuse(cfg: Any, recipe: Recipe, key: str, target: Path) -> Dataset:
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
        if not isinstance(manifest.get("splits"), dict):
            raise TypeError(f"recipe {recipe.name}: build_dataset must return 'splits' ({{split: samples}})")
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
        console.warn(f"{crossing} identical input(s) appear in more than one split: test figures will be inflated")
    for line in dataset.manifest.get("warnings", []):
        console.warn(line)


def log(cfg: Any, dataset: Dataset) -> None:
    """Record the dataset on the active run."""
    tracking.log_params({k: v for k, v in leaf_keys(cfg.data).items() if not isinstance(v, dict)})
    tracking.set_tags({tags.DATASET_DIR: dataset.dir, tags.DATASET_FINGERPRINT: dataset.manifest["fingerprint"]})
    tracking.log_artifact(dataset.dir / "manifest.json", "dataset")


def summary(recipe: Recipe, dataset: Dataset) -> dict:
    return {
        "dataset_dir": str(dataset.dir),
        "cached": dataset.cached,
        "split_sizes": dict(dataset.manifest["splits"]),
        "skipped": len(dataset.manifest.get("skipped", [])),
        **recipe.dataset_summary(dataset.manifest),
    }
