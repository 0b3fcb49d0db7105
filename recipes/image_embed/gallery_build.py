"""`aiaas package image-embed run=<id> gallery=DIR`: a folder of identity folders enrolled, through the exported
model itself (what the service will do), into a gallery that the Bento starts with. Torch-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_cli import console
from aiaas_cli.errors import UserError

BATCH = 64


def build_gallery(root: Path, onnx_path: Path, folder: Path, strict: bool = False) -> int:
    """Enrol every identity folder under ``root``; unreadable images are skipped and reported (an error with
    ``strict``). Returns the number of identities."""
    from aiaas_cli.serving.runtime import BadInput, Predictor  # noqa: I001  (ONNX Runtime before usearch, see service)
    from aiaas_cli.serving.gallery import Gallery
    from aiaas_recipes.common.vision.folders import visible_dirs, visible_files

    predictor = Predictor(onnx_path, allowed={"aiaas_recipes.image_embed.serving"})
    gallery = Gallery(folder, int(predictor.metadata["embedding_dim"]))
    skipped: list[str] = []
    try:
        for person in visible_dirs(root):
            items = []
            for path in visible_files(person):
                try:
                    items.append(predictor.decode(path.read_bytes()))
                except (BadInput, OSError) as exc:
                    skipped.append(f"{path.relative_to(root)}: {exc}")
            if items:
                vectors = [p["embedding"] for i in range(0, len(items), BATCH)
                           for p in predictor.predict_decoded(items[i : i + BATCH])]  # fmt: skip
                gallery.enroll(person.name, np.asarray(vectors, dtype=np.float32))
        count = len(gallery)
    finally:
        gallery.close()
    if skipped and strict:
        raise UserError(f"{len(skipped)} gallery image(s) unreadable, first: {skipped[0]}", "fix them or drop strict")
    for line in skipped[:10]:
        console.warn(f"gallery: skipped {line}")
    if count == 0:
        raise UserError(f"gallery={root} holds no readable identity folder", "one sub-folder of images per identity")
    console.step(f"Gallery of {count} identities from {root}")
    return count
