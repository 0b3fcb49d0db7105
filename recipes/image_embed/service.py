"""The image-embed BentoML service: embeddings, verification, and a persistent gallery to enrol identities in and
identify against (aiaas_cli/serving/gallery.py in the service's state folder, shared by its workers). No torch."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

import bentoml
import numpy as np
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from aiaas_cli.serving.limits import send_error
from aiaas_cli.serving.service import SERVICE_OPTIONS, SETTINGS, Engine, error, guard, state_dir, upload_bytes
from aiaas_recipes.image_embed.serving import named, verdict

GALLERIES: list[Any] = []  # this worker's gallery, for the DELETE route (answered in GalleryRoutes)
PACKAGED = "gallery"  # the folder `aiaas package ... gallery=DIR` put beside model.onnx
TopK = Annotated[int, Field(ge=1, le=100, description="How many identities to return, best first.")]


class Embedding(BaseModel):
    embedding: list[float]


class Verdict(BaseModel):
    similarity: float
    same: bool
    threshold: float


class Match(BaseModel):
    name: str
    score: float


class Identified(BaseModel):
    identity: str  # the best match's name, or "unknown" when its score is below the threshold
    matches: list[Match]
    threshold: float


class Enrolled(BaseModel):
    name: str
    enrolled: int
    identities: int


def open_gallery(dim: int) -> Any:
    """The gallery in the state folder; the first start copies in the one packaged with the model (if any)."""
    # imported here, after ONNX Runtime: loading usearch's library first makes onnxruntime's import crash (SIGSEGV)
    from aiaas_cli.serving.gallery import Gallery

    folder = state_dir() / "gallery"
    packaged = Path(bentoml.models.get(SETTINGS.model_tag).path) / PACKAGED
    if packaged.is_dir() and not folder.exists():
        temp = folder.with_name(f".gallery-{id(folder)}")
        shutil.copytree(packaged, temp, dirs_exist_ok=True)
        try:
            temp.rename(folder)  # another worker may have put it there first: keep theirs
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)
    return Gallery(folder, dim, threads=SETTINGS.threads)  # a worker's share of the cores, as ONNX Runtime's


@bentoml.service(name="aiaas-image-embedder", **SERVICE_OPTIONS)
class EmbedService:
    """Image uploads (multipart) in; embeddings, same/different verdicts and gallery matches out."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.threshold = float(self.engine.metadata.get("threshold", 0.5))
        self.gallery = open_gallery(int(self.engine.metadata["embedding_dim"]))
        GALLERIES.append(self.gallery)

    async def _embed(self, payloads: list[bytes]) -> Any:
        answer = await self.engine.infer(payloads, 1)
        return answer if isinstance(answer, JSONResponse) else [one["embedding"] for one in answer]

    async def _gallery(self, call, *args) -> Any:
        """A gallery call off the event loop (SQLite commits and index updates block)."""
        from aiaas_cli.serving.gallery import GalleryError

        try:
            return await asyncio.get_running_loop().run_in_executor(None, call, *args)
        except GalleryError as exc:
            return error(400, str(exc))

    @bentoml.api(route="/predict")
    async def predict(self, image: Path) -> Embedding:
        """The L2-normalised embedding of one image (multipart field `image`)."""
        return await self._embedding(image)

    @bentoml.api(route="/embed")
    async def embed(self, image: Path) -> Embedding:
        """The L2-normalised embedding of one image (multipart field `image`)."""
        return await self._embedding(image)

    async def _embedding(self, image: Any) -> Any:
        found = await self._embed([upload_bytes(image)])
        return found if isinstance(found, JSONResponse) else Embedding(embedding=found[0])

    @bentoml.api(route="/verify")
    async def verify(self, image_a: Path, image_b: Path) -> Verdict:
        """Cosine similarity of two images and whether it says the same identity (the model's stored threshold)."""
        found = await self._embed([upload_bytes(image_a), upload_bytes(image_b)])
        return found if isinstance(found, JSONResponse) else Verdict(**verdict(*found, self.threshold))

    @bentoml.api(route="/enroll")
    async def enroll(self, name: str, images: list[Path]) -> Enrolled:
        """Add images (repeated field `images`) of identity `name` to the gallery; durable when answered."""
        if not name.strip():
            return error(400, "name must not be empty")
        found = await self._embed([upload_bytes(f) for f in images])
        if isinstance(found, JSONResponse):
            return found
        count = await self._gallery(self.gallery.enroll, name.strip(), np.asarray(found, dtype=np.float32))
        if isinstance(count, JSONResponse):
            return count
        return Enrolled(name=name.strip(), enrolled=len(found), identities=len(self.gallery))

    @bentoml.api(route="/identify")
    async def identify(self, image: Path, k: TopK = SETTINGS.top_k) -> Identified:
        """The k best-matching enrolled identities of one image, and the answer: the best, or "unknown"."""
        found = await self._embed([upload_bytes(image)])
        if isinstance(found, JSONResponse):
            return found
        matches = await self._gallery(self.gallery.identify, np.asarray(found, dtype=np.float32), k)
        if isinstance(matches, JSONResponse):
            return matches
        return Identified(**named(matches[0], self.threshold))


class GalleryRoutes:
    """ASGI middleware for what BentoML's POST-only APIs cannot say: ``DELETE /enroll/{name}`` (404 for an unknown
    identity) and ``GET /gallery`` (the enrolled names and their image counts)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path, method = scope.get("path", ""), scope.get("method")
        if scope["type"] != "http" or not (path.startswith("/enroll/") and method == "DELETE" or path == "/gallery"):
            return await self.app(scope, receive, send)
        if not GALLERIES:
            return await send_error(send, 503, "the service is starting; try again")
        gallery = GALLERIES[0]
        loop = asyncio.get_running_loop()
        if path == "/gallery":
            names = await loop.run_in_executor(None, gallery.names)
            return await _json(send, 200, {"identities": [{"name": n, "images": c} for n, c in names]})
        from aiaas_cli.serving.gallery import GalleryError

        name = unquote(path.removeprefix("/enroll/")).strip()
        if not name:
            return await send_error(send, 400, "name must not be empty")
        try:
            removed = await loop.run_in_executor(None, gallery.remove, name)
        except GalleryError as exc:
            return await send_error(send, 404, str(exc))
        return await _json(send, 200, {"name": name, "removed": removed, "identities": len(gallery)})


async def _json(send: Any, status: int, body: dict) -> None:
    import json

    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


EmbedService.add_asgi_middleware(GalleryRoutes)
guard(EmbedService)
