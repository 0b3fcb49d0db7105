"""predict: files -> one JSON line (or CSV row) per input, from an exported model or a running service.

Torch-free: the model runs in ONNX Runtime through the recipe's serving adapter, as in the Bento.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiaas_cli import console, tracking, workspace
from aiaas_cli.errors import ConfigError, UserError

CSV_FIELDS = ("input", "label", "score", "topk", "error")
_URL_WORKERS = 4


@dataclass
class Request:
    recipe: str
    inputs: list[str]
    model: str | None = None
    url: str | None = None
    output: str | None = None
    top_k: int = 5
    batch_size: int = 32
    threads: int | None = None


def expand(inputs: list[str]) -> list[Path]:
    """Files as given, folders searched recursively; hidden files and folders are skipped."""
    found: list[Path] = []
    for name in inputs:
        path = Path(name).expanduser()
        if not path.is_dir():
            found.append(path)  # a missing file becomes an error line, not an abort
            continue
        for child in sorted(path.rglob("*")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            if child.is_file() and not hidden:
                found.append(child)
    if not found:
        raise ConfigError(f"no input files in {', '.join(inputs)}", "pass image files or folders that contain them")
    return found


def model_path(recipe_name: str, model: str | None) -> Path:
    """``path/to/model.onnx``, or the model that `aiaas export` made for run ``run=<id>``."""
    if not model:
        raise ConfigError("say which model to use", "--model run=<id> or --model path/to/model.onnx (or --url URL)")
    if not model.startswith("run="):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist", "--model run=<id> or --model path/to/model.onnx")
        return path
    from aiaas_cli import config, recipes
    from aiaas_cli.stages.export import MODEL_TAG

    run_id = model.removeprefix("run=")
    tracking.configure(config.compose(recipes.load(recipe_name), []))
    tags = tracking.get_run(run_id).data.tags
    if MODEL_TAG not in tags:
        raise UserError(
            f"run '{run_id}' has no exported model", f"export it first: aiaas export {recipe_name} run={run_id}"
        )
    local = Path(tags[MODEL_TAG])
    return local if local.is_file() else tracking.download(run_id, f"export/{local.name}")


def _row(name: str, topk: list[dict] | None = None, error: str | None = None) -> dict[str, Any]:
    if error is not None:
        return {"input": name, "error": error}
    return {"input": name, "label": topk[0]["label"], "score": topk[0]["score"], "topk": topk}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise OSError("no such file") from None
    except OSError as exc:
        raise OSError(f"cannot read file: {exc.strerror or exc}") from None


def load_predictor(request: Request) -> Any:
    """The exported model with its recipe's adapter, after checking that it belongs to ``request.recipe``."""
    from aiaas_cli.serving.runtime import Predictor

    predictor = Predictor(model_path(request.recipe, request.model), threads=request.threads)
    owner = predictor.metadata.get("recipe")
    if owner != request.recipe:
        raise ConfigError(f"the model was exported by recipe '{owner}', not '{request.recipe}'")
    return predictor


def _local_rows(request: Request, predictor: Any, paths: list[Path]) -> Iterator[dict]:
    from aiaas_cli.serving.runtime import BadInput

    for start in range(0, len(paths), request.batch_size):
        chunk = paths[start : start + request.batch_size]
        rows: list[dict | None] = [None] * len(chunk)
        ready, items = [], []
        for i, path in enumerate(chunk):
            try:
                items.append(predictor.decode(_read(path)))
                ready.append(i)
            except (BadInput, OSError) as exc:
                rows[i] = _row(str(path), error=str(exc))
        for i, topk in zip(ready, predictor.predict_decoded(items, request.top_k)):
            rows[i] = _row(str(chunk[i]), topk)
        yield from rows


def _ask_service(session: Any, url: str, path: Path, k: int) -> dict:
    import requests

    try:
        data = _read(path)
    except OSError as exc:
        return _row(str(path), error=str(exc))
    try:
        answer = session.post(f"{url}/predict", files={"image": (path.name, data)}, data={"k": str(k)}, timeout=60)
    except requests.ConnectionError:
        raise UserError(f"no service answers at {url}", "start one with `aiaas serve`, or check --url") from None
    except requests.RequestException as exc:
        return _row(str(path), error=f"request failed: {exc}")
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or "predictions" not in body:
        return _row(str(path), error=str(body.get("error") or f"HTTP {answer.status_code}: {answer.text[:200]}"))
    return _row(str(path), body["predictions"][:k])


def _service_rows(request: Request, paths: list[Path]) -> Iterator[dict]:
    import requests

    url = request.url.rstrip("/")
    with requests.Session() as session, ThreadPoolExecutor(_URL_WORKERS) as pool:
        yield from pool.map(lambda p: _ask_service(session, url, p, request.top_k), paths)


@contextmanager
def _writer(output: str | None) -> Iterator[Any]:
    """A ``write(row)`` callable: JSON lines on stdout, or a .jsonl/.csv file written atomically."""
    if output is None:
        yield console.emit_json
        return
    target = Path(output).expanduser()
    if target.suffix.lower() not in (".jsonl", ".csv"):
        raise ConfigError(f"--output must end in .jsonl or .csv, got '{target.name}'")
    with workspace.atomic_file(target) as temp, temp.open("w", newline="") as handle:
        yield _csv_writer(handle) if target.suffix.lower() == ".csv" else _jsonl_writer(handle)


def _jsonl_writer(handle: IO[str]):
    return lambda row: handle.write(json.dumps(row) + "\n")


def _csv_writer(handle: IO[str]):
    writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
    writer.writeheader()

    def write(row: dict) -> None:
        writer.writerow({**row, "topk": json.dumps(row["topk"]) if "topk" in row else ""})

    return write


def predict(request: Request) -> dict:
    """Write one prediction per input; return counts. Unreadable inputs get an error, the rest still run."""
    paths = expand(request.inputs)
    rows = _service_rows(request, paths) if request.url else _local_rows(request, load_predictor(request), paths)
    failed = 0
    with _writer(request.output) as write, console.progress("Predicting", len(paths)) as bar:
        for row in rows:
            write(row)
            failed += "error" in row
            bar.advance()
    if failed:
        console.warn(f'{failed} of {len(paths)} input(s) could not be used (see their "error" field)')
    if failed == len(paths):
        raise UserError(f"none of the {len(paths)} input(s) could be used")
    if request.output:
        console.step(f"Wrote {len(paths)} prediction(s) to {request.output}")
    return {"inputs": len(paths), "failed": failed}
