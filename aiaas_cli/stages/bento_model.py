"""A run's exported model in BentoML's model store: model.onnx, the further graphs it names and the recipe's own
files (Recipe.package_files), stored once per content under a tag made from their digest."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from aiaas_cli import workspace


def _files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def model_files(path: Path, metadata: dict[str, Any]) -> dict[str, Path]:
    """Name in the Bento's model folder -> file: model.onnx and the further graphs its metadata names."""
    return {"model.onnx": path, **{file: path.with_name(file) for file in (metadata.get("graphs") or {}).values()}}


def save_model(path: Path, metadata: dict[str, Any], extra: Path | None = None) -> str:
    """model.onnx, its further graphs and ``extra``'s files (Recipe.package_files) into the model store; its tag."""
    import bentoml
    from bentoml.exceptions import NotFound

    files = model_files(path, metadata)
    if extra is not None:
        files.update({f.relative_to(extra).as_posix(): f for f in sorted(extra.rglob("*")) if f.is_file()})
    tag = f"aiaas-{metadata['recipe']}:{_files_digest(list(files.values()))[:16]}"
    # packages of one model started together: one stores it, the others find it stored (else "already exists")
    with workspace.lock(f"model-{tag.replace(':', '-')}"):
        try:
            return str(bentoml.models.get(tag).tag)
        except NotFound:
            pass
        labels = {"recipe": str(metadata["recipe"]), "run_id": str(metadata.get("run_id", ""))}
        with bentoml.models.create(tag, labels=labels, metadata={"aiaas": _without_none(metadata)}) as model:
            for name, source in files.items():
                Path(model.path_of(name)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, model.path_of(name))
        return str(model.tag)


def _without_none(value: Any) -> Any:
    """``value`` without the dict entries that are None: BentoML refuses None in a model's metadata, and readers
    take a missing key for None (``metadata.get``)."""
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value
