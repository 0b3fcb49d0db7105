"""Torch-free serving half of image-gen: a request {"label", "seed", "steps", "guidance"} -> the numpy sampling loop
(sampling.py) over the exported ONNX graph (the denoiser, the VAE's decoder or the GAN's generator) -> a PNG.

Used by export's parity check, `aiaas predict` and the Bento alike (the adapter's `run`), so one seed gives one image
everywhere. Item i of a request for n images uses seed + i.

`aiaas predict image-gen FILE` reads requests from text lines such as ``label=3 n=4 seed=1 steps=20 guidance=2``
(any key may be left out) or from JSON files (an object or a list of objects with those keys).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.serving.runtime import BadInput, read_files
from aiaas_recipes.image_gen.sampling import generate

SERVICE = "aiaas_recipes.image_gen.service:ImageGenService"
INPUT_SUFFIXES = (".txt", ".json")
MAX_GUIDANCE = 20.0
MAX_SEED = 2**63 - 1
MAX_LINE_IMAGES = 1000  # images one line of a request file may ask `predict` for
KEYS = ("label", "n", "seed", "steps", "guidance")
__all__ = [
    "SERVICE", "build_adapter", "http_predictions", "http_request", "http_response", "read_inputs", "render_output",
    "to_row",
]  # fmt: skip


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}, got {value!r}", status=422)
    return int(value)


def png_bytes(image: np.ndarray) -> bytes:
    """One (H, W, C) uint8 image as PNG (grey for one channel)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


class GenAdapter:
    """Requests to sampling feeds, the sampling loop over the ONNX graph, images to PNGs."""

    def __init__(self, metadata: dict[str, Any], max_n: int | None = None, max_steps: int | None = None):
        self.meta = metadata
        self.kind, self.classes = metadata["kind"], list(metadata["classes"])
        sampling = metadata["sampling"]
        self.max_n = min(int(max_n or sampling["max_n"]), int(sampling["max_n"]))
        self.max_steps = min(int(max_steps or sampling["max_steps"]), int(sampling["max_steps"]))
        self.steps, self.guidance = int(sampling["steps"]), float(sampling["guidance"])

    def label(self, value: Any) -> int:
        """A class index or a class name; None (or no classes: an unconditional model) is the null label."""
        if not self.classes or value is None:
            return int(self.meta["null_label"])
        if isinstance(value, str) and value in self.classes:
            return self.classes.index(value)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < len(self.classes):
            return int(value)
        shown = ", ".join(self.classes[:20])
        raise BadInput(f"label {value!r} is not a class index (0-{len(self.classes) - 1}) or name ({shown})", 422)

    def decode(self, payload: Any) -> dict:
        """{"label", "seed", "steps", "guidance"} for one image; BadInput (422) for a value out of range."""
        if not isinstance(payload, dict):
            raise BadInput(f"expected an object with {', '.join(KEYS)}, got {type(payload).__name__}", status=422)
        unknown = sorted(set(payload) - set(KEYS))
        if unknown:
            raise BadInput(f"unknown key(s) {', '.join(unknown)}; a request has {', '.join(KEYS)}", status=422)
        if payload.get("n", 1) != 1:
            raise BadInput("one request item is one image (n=1): ask for n images as n items", status=422)
        guidance = payload.get("guidance", self.guidance)
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 0 <= guidance <= MAX_GUIDANCE:
            raise BadInput(f"guidance must be a number from 0 to {MAX_GUIDANCE:g}, got {guidance!r}", status=422)
        return {
            "label": self.label(payload.get("label")),
            "seed": _integer(payload.get("seed", 0), "seed", 0, MAX_SEED),
            "steps": _integer(payload.get("steps", self.steps), "steps", 1, self.max_steps),
            "guidance": float(guidance),
        }

    def batch(self, items: list[dict]) -> dict[str, np.ndarray]:
        """{"label": int64 [n], "seed": int64 [n], "steps": int64 [n], "guidance": float32 [n]}."""
        return {
            "label": np.array([i["label"] for i in items], np.int64),
            "seed": np.array([i["seed"] for i in items], np.int64),
            "steps": np.array([i["steps"] for i in items], np.int64),
            "guidance": np.array([i["guidance"] for i in items], np.float32),
        }

    def run(self, model: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{"images": uint8 [n, H, W, C]}: the sampling loop over the exported graph."""
        if self.kind == "diffusion":
            network = lambda x, t, label: model.run({"x": x, "t": t, "label": label})["eps"]  # noqa: E731
        else:
            network = lambda z, label: model.run({"z": z, "label": label})["image"]  # noqa: E731
        return {"images": generate(self.kind, network, feeds, self.meta)}

    def postprocess(self, outputs: dict[str, Any], items: list[dict], k: int) -> list[dict]:
        """One {"label", "seed", "steps", "guidance", "png_base64"} per item."""
        answers = []
        for item, image in zip(items, outputs["images"]):
            name = self.classes[item["label"]] if item["label"] < len(self.classes) else None
            png = base64.b64encode(png_bytes(image)).decode()
            answers.append({"label": name, "seed": item["seed"], "steps": item["steps"],
                            "guidance": item["guidance"], "png_base64": png})  # fmt: skip
        return answers


def build_adapter(metadata: dict[str, Any], max_n: int | None = None, max_steps: int | None = None) -> GenAdapter:
    """The adapter for image-gen models; `serve.limits.max_n` / `max_steps` may lower the exported limits."""
    return GenAdapter(metadata, max_n=max_n, max_steps=max_steps)


def expand(request: dict) -> list[dict]:
    """A request for n images as n one-image items, seeds seed, seed + 1, ..."""
    n, seed = request.get("n", 1), request.get("seed", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise BadInput(f"n must be a whole number of at least 1, got {n!r}", status=422)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadInput(f"seed must be a whole number, got {seed!r}", status=422)
    base = {key: value for key, value in request.items() if key != "n"}
    return [{**base, "seed": seed + i} for i in range(n)]


def parse_line(line: str) -> dict:
    """``label=3 n=4 seed=1 steps=20 guidance=2.5`` -> a request object."""
    request: dict[str, Any] = {}
    for part in line.split():
        key, sep, value = part.partition("=")
        if not sep or key not in KEYS:
            raise BadInput(f"expected key=value pairs with keys {', '.join(KEYS)}, got {part!r}")
        try:
            request[key] = float(value) if key == "guidance" else int(value)
        except ValueError:
            request[key] = value  # a class name
    return request


def _requests(name: str, data: bytes) -> Iterator[tuple[str, Any]]:
    text = data.decode("utf-8-sig")
    if name.endswith(".json"):
        body = json.loads(text)
        for i, request in enumerate(body if isinstance(body, list) else [body], start=1):
            yield f"{name}:{i}", request
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                yield f"{name}:{number}", parse_line(line)
            except BadInput as exc:
                yield f"{name}:{number}", exc


def read_inputs(paths: list[Path]) -> Iterator[tuple[str, Any]]:
    """One-image payloads from request lines or JSON files, a request for n images as n inputs named ``file:line#i``;
    a bad line or file is one error row and the others go on."""
    for name, data in read_files(paths):
        if isinstance(data, Exception):
            yield name, data
            continue
        try:
            requests = list(_requests(name, data))
        except (UnicodeDecodeError, ValueError) as exc:
            yield name, BadInput(f"not a request file (text lines key=value, or JSON): {str(exc)[:120]}")
            continue
        for where, request in requests:
            if isinstance(request, Exception) or not isinstance(request, dict):
                yield where, request if isinstance(request, Exception) else BadInput("a request is a JSON object")
                continue
            if isinstance(request.get("n", 1), int) and request.get("n", 1) > MAX_LINE_IMAGES:
                yield where, BadInput(f"n={request['n']} is above {MAX_LINE_IMAGES} images for one request line")
                continue
            try:
                yield from ((f"{where}#{i}", item) for i, item in enumerate(expand(request)))
            except BadInput as exc:
                yield where, exc


def http_request(name: str, payload: Any, k: int) -> dict[str, Any]:
    """`aiaas predict --url`: one image per request, answered as JSON."""
    return {"json": {**payload, "n": 1}}


def http_response(predictions: list[dict]) -> dict:
    return {"images": list(predictions)}


def http_predictions(body: dict[str, Any]) -> list[dict]:
    return list(body.get("images") or [])


def to_row(name: str, payload: Any, prediction: dict) -> dict:
    """`aiaas predict`'s record: the request's values as used, and the PNG (base64)."""
    return {"input": name, **prediction}


def render_output(payload: Any, prediction: dict) -> tuple[str, bytes]:
    """The PNG of one generated image, for `aiaas predict --save DIR`."""
    return ".png", base64.b64decode(prediction["png_base64"])
