"""`aiaas gallery`: enrol identities from files through an exported embedding model, list them, remove one.

Torch-free like `predict`: the files go through the recipe's serving adapter (runtime.Predictor) and each
prediction's "embedding" is appended to its identity in the gallery folder (aiaas_cli.serving.gallery).
A file that cannot be read or decoded is skipped and reported (``strict``: the command fails instead).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.stages import predict_inputs


@dataclass
class Enrolment:
    folder: str  # the gallery
    inputs: list[str]  # a folder per identity, or files and folders of one identity (``name``)
    model: str  # run=<id> or path/to/model.onnx
    recipe: str | None  # the recipe that exported it (its serving module turns files into embeddings); None: the
    # one the model names (a model file's metadata, or the run's recipe tag)
    name: str | None = None
    batch_size: int = 32
    strict: bool = False


def identities(request: Enrolment) -> list[tuple[str, list[str]]]:
    """(identity, input files): ``name`` with every file under ``inputs``, or one identity per sub-folder."""
    if request.name is not None:
        return [
            (request.name, list(predict_inputs.first_checked(predict_inputs.sources(request.inputs), request.inputs)))
        ]
    if len(request.inputs) != 1 or not Path(request.inputs[0]).expanduser().is_dir():
        raise ConfigError("enroll takes one folder with a sub-folder per identity", "or --name NAME FILES...")
    root = Path(request.inputs[0]).expanduser()
    found = [(d.name, [str(p) for p in predict_inputs.walk(d)]) for d in sorted(root.iterdir()) if _visible_dir(d)]
    if not any(files for _, files in found):
        raise ConfigError(
            f"no identity folders with files in {root}", "ROOT/<identity>/<file>, or --name NAME FILES..."
        )
    return found


def _recipe_of(model: str) -> str:
    """The recipe that exported ``model``: a file's own metadata, or run=<id>'s recipe tag in the default store."""
    from omegaconf import OmegaConf

    from aiaas_cli import tags, tracking
    from aiaas_cli.serving.runtime import OnnxModel

    if not model.startswith("run="):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist", "--model run=<id> or --model path/to/model.onnx")
        return str(OnnxModel(path, threads=1).metadata.get("recipe"))
    tracking.configure(OmegaConf.create({"tracking": {"uri": None}}))
    found = tracking.get_run(model.removeprefix("run=")).data.tags.get(tags.RECIPE)
    if not found:
        raise ConfigError(f"run '{model.removeprefix('run=')}' names no recipe", "say which one with --recipe RECIPE")
    return found


def _visible_dir(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(".")


def enroll(request: Enrolment) -> dict[str, Any]:
    """Embed every file and append the embeddings to their identities; a summary with what was skipped."""
    from aiaas_cli.serving.gallery import GalleryError
    from aiaas_cli.stages.predict import Request, load_predictor

    people = identities(request)
    recipe = request.recipe or _recipe_of(request.model)
    predictor = load_predictor(Request(recipe, request.inputs, request.model))
    enrolled: dict[str, int] = {}
    skipped: list[dict[str, str]] = []
    gallery = None
    try:
        for name, files in people:
            vectors = _embed(predictor, files, request.batch_size, skipped, request.strict)
            if not len(vectors):
                skipped.append({"input": name, "error": "no usable file: identity not enrolled"})
                continue
            gallery = gallery or _open(request.folder, vectors.shape[1])
            try:
                gallery.enroll(name, vectors)
            except GalleryError as exc:
                raise UserError(f"cannot enrol {name!r}: {exc}") from None
            enrolled[name] = len(vectors)
    finally:
        if gallery is not None:
            gallery.close()
    for item in skipped:
        console.warn(f"skipped {item['input']}: {item['error']}")
    if not enrolled:
        raise UserError("nothing was enrolled: no file could be embedded", "see the skipped files above")
    return {"gallery": request.folder, "enrolled": enrolled, "vectors": sum(enrolled.values()), "skipped": skipped}


def _embed(predictor: Any, files: list[str], batch_size: int, skipped: list, strict: bool) -> np.ndarray:
    """The embeddings of the files that decode; the others are appended to ``skipped`` (or fail with ``strict``)."""
    from aiaas_cli.serving.runtime import BadInput

    rows: list[list[float]] = []
    for start in range(0, len(files), batch_size):
        items = []
        for name, payload in predict_inputs.read(predictor.module, files[start : start + batch_size]):
            try:
                if isinstance(payload, Exception):
                    raise payload
                items.append(predictor.decode(payload))
            except (BadInput, OSError) as exc:
                if strict:
                    raise UserError(f"{name}: {exc}", "drop --strict to skip unreadable files") from None
                skipped.append({"input": name, "error": str(exc)})
        rows += [_embedding(p) for p in predictor.predict_decoded(items)]
    return np.array(rows, dtype=np.float32)


def _embedding(prediction: dict) -> list[float]:
    if "embedding" not in prediction:
        raise UserError("the model's predictions hold no 'embedding'", "enrol with an embedding recipe's model")
    return prediction["embedding"]


def _open(folder: str, dim: int | None = None):
    """The gallery in ``folder``: created with ``dim`` when given, else it must exist (its dim is stored)."""
    from aiaas_cli.serving.gallery import Gallery, GalleryError

    path = Path(folder).expanduser()
    dim = dim or stored_dim(path)
    try:
        return Gallery(path, dim)
    except GalleryError as exc:
        raise UserError(str(exc), "use another --gallery folder, or the model it was made with") from None


def stored_dim(path: Path) -> int:
    """The vector size of the gallery in ``path``; ConfigError when there is none."""
    file = path / "gallery.sqlite"
    if not file.is_file():
        raise ConfigError(f"no gallery in {path}", "enrol into it first: aiaas gallery enroll DIR --gallery DIR")
    try:
        with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0])
    except (sqlite3.Error, TypeError) as exc:
        raise UserError(f"{file} is not a readable gallery: {exc}") from None


def list_identities(folder: str) -> dict[str, Any]:
    """Every identity with its vector count, sorted by name."""
    gallery = _open(folder)
    try:
        rows = gallery.names()
    finally:
        gallery.close()
    return {"gallery": folder, "identities": [{"name": n, "vectors": v} for n, v in rows]}


def remove(folder: str, name: str) -> dict[str, Any]:
    """Delete one identity and its vectors."""
    from aiaas_cli.serving.gallery import GalleryError

    gallery = _open(folder)
    try:
        removed = gallery.remove(name)
    except GalleryError as exc:
        raise UserError(str(exc), "see `aiaas gallery list --gallery DIR`") from None
    finally:
        gallery.close()
    return {"gallery": folder, "removed": name, "vectors": removed}
