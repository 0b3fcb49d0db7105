"""predict: files -> one JSON line (or CSV row) per input, from an exported model or a running service.

Torch-free: the model runs in ONNX Runtime through the recipe's serving adapter, as in the Bento. What an
input is, how it travels to a service and what its record holds all come from the recipe's serving module.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiaas_cli import console, tags, tracking, workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.stages import predict_inputs, predict_output

_URL_WORKERS = 4


@dataclass
class Request:
    recipe: str
    inputs: list[str]
    model: str | None = None
    url: str | None = None
    output: str | None = None
    top_k: int | None = None  # None: the serving module's DEFAULT_K (5 when it names none)
    batch_size: int = 32
    threads: int | None = None
    json: bool = False  # one JSON object on stdout (the predictions inside it) instead of JSON lines
    save: str | None = None  # a folder for what the recipe renders per prediction (WAV, annotated image, mask)
    shard: str | None = None  # "i/n": only the inputs whose name hashes to i of n (see predict_inputs)
    resume: bool = False  # continue --output FILE after a kill: skip the inputs it answers, append the rest

    def __post_init__(self) -> None:
        """`--output DIR/` (a folder) means: render into DIR and write DIR/predictions.jsonl beside the files."""
        if self.output and (self.output.endswith(("/", "\\")) or Path(self.output).expanduser().is_dir()):
            self.save = self.save or self.output
            self.output = str(Path(self.output).expanduser() / "predictions.jsonl")


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

    run_id = model.removeprefix("run=")
    tracking.configure(config.compose(recipes.load(recipe_name), []))
    found = tracking.get_run(run_id).data.tags
    if tags.ONNX not in found:
        raise UserError(
            f"run '{run_id}' has no exported model", f"export it first: aiaas export {recipe_name} run={run_id}"
        )
    local = Path(found[tags.ONNX])
    return local if local.is_file() else tracking.download(run_id, f"export/{local.name}")


def _error(name: str, error: str) -> dict[str, Any]:
    return {"input": name, "error": error}


def load_predictor(request: Request) -> Any:
    """The exported model with its recipe's adapter, after checking that it belongs to ``request.recipe``."""
    from aiaas_cli import recipes
    from aiaas_cli.serving.runtime import OnnxModel, Predictor

    path = model_path(request.recipe, request.model)
    owner = OnnxModel(path, threads=1).metadata.get("recipe")
    if owner != request.recipe:
        raise ConfigError(f"the model was exported by recipe '{owner}', not '{request.recipe}'")
    allowed = {recipes.load(request.recipe).serving_module}
    return Predictor(path, threads=request.threads, allowed=allowed)


def _chunks(inputs: Iterator[tuple[str, Any]], size: int) -> Iterator[list[tuple[str, Any]]]:
    chunk: list[tuple[str, Any]] = []
    for item in inputs:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _local_rows(request: Request, predictor: Any, inputs: Iterator[tuple[str, Any]]) -> Iterator[dict]:
    from aiaas_cli.serving.runtime import BadInput

    record = _recorder(predictor.module, request.save)
    k = answers_per_input(request, predictor.module, getattr(predictor.adapter, "max_k", None))
    for chunk in _chunks(inputs, request.batch_size):
        rows: list[dict | None] = [None] * len(chunk)
        ready, items = [], []
        for i, (name, payload) in enumerate(chunk):
            try:
                if isinstance(payload, Exception):
                    raise payload
                items.append(predictor.decode(payload))
                ready.append(i)
            except (BadInput, OSError) as exc:
                rows[i] = _error(name, str(exc))
        for i, prediction in zip(ready, predictor.predict_decoded(items, k)):
            rows[i] = record(chunk[i][0], chunk[i][1], prediction)
        yield from rows


def answers_per_input(request: Request, module: Any, model_limit: int | None = None) -> int:
    """--top-k, or the serving module's own default; above the module's MAX_K, or the exported model's own limit
    (the adapter's ``max_k``), it is refused, not cut silently."""
    if request.top_k is None:
        return int(getattr(module, "DEFAULT_K", 5))
    limit = model_limit or getattr(module, "MAX_K", None)
    if limit is not None and request.top_k > limit:
        raise ConfigError(f"--top-k {request.top_k} is above {request.recipe}'s limit of {limit}", f"--top-k {limit}")
    return request.top_k


def _ask_service(session: Any, url: str, module: Any, item: tuple[str, Any], k: int, record: Any) -> dict:
    import requests

    name, payload = item
    if isinstance(payload, Exception):
        return _error(name, str(payload))
    try:
        answer = session.post(f"{url}/predict", **module.http_request(name, payload, k), timeout=60)
    except requests.ConnectionError:
        raise UserError(f"no service answers at {url}", "start one with `aiaas serve`, or check --url") from None
    except requests.RequestException as exc:
        return _error(name, f"request failed: {exc}")
    try:
        body = answer.json()
    except ValueError:
        body = {}
    predictions = module.http_predictions(body) if answer.status_code == 200 and isinstance(body, dict) else None
    if not predictions:
        return _error(name, str(body.get("error") or f"HTTP {answer.status_code}: {answer.text[:200]}"))
    return record(name, payload, predictions[0])


def _service_rows(request: Request, module: Any, inputs: Iterator[tuple[str, Any]]) -> Iterator[dict]:
    import requests

    url, record = request.url.rstrip("/"), _recorder(module, request.save)
    k = answers_per_input(request, module)
    with requests.Session() as session, ThreadPoolExecutor(_URL_WORKERS) as pool:
        for chunk in _chunks(inputs, request.batch_size):  # pool.map would read every input up front
            yield from pool.map(lambda item: _ask_service(session, url, module, item, k, record), chunk)


def _recorder(module: Any, save: str | None) -> Callable[[str, Any, dict], dict]:
    """``record(name, payload, prediction)``: the recipe's row, plus the rendered file's path when saving."""
    if save is None:
        return module.to_row
    if not hasattr(module, "render_output"):
        raise ConfigError(f"{module.__name__} renders nothing per prediction", "drop --save (or --output DIR/)")
    folder = Path(save).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    count = itertools.count()
    lock = threading.Lock()  # rows come from several threads with --url

    def record(name: str, payload: Any, prediction: dict) -> dict:
        suffix, data = module.render_output(payload, prediction)
        with lock:
            number = next(count)
        target = folder / f"{number:05d}_{_stem(name)}{suffix}"
        with workspace.atomic_file(target) as temp:
            temp.write_bytes(data)
        return {**module.to_row(name, payload, prediction), "file": str(target)}

    return record


def _stem(name: str) -> str:
    """A file-name-safe stem of an input's name ("notes.txt:3" -> "notes_3")."""
    path, _, line = name.partition(":") if not Path(name).exists() else (name, "", "")
    stem = Path(path).stem + (f"_{line}" if line else "")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80] or "input"


def predict(request: Request) -> dict:
    """Write one prediction per input; return counts. Unreadable inputs get an error, the rest still run."""
    from aiaas_cli import recipes
    from aiaas_cli.serving import runtime

    shard = predict_inputs.parse_shard(request.shard) if request.shard else None
    resume = predict_inputs.Resume(request.output) if request.resume else None
    module = runtime.serving_module(recipes.load(request.recipe).serving_module)
    found = predict_inputs.sources(request.inputs, getattr(module, "INPUT_SUFFIXES", None))
    names = predict_inputs.first_checked(found, request.inputs)
    if request.url:
        rows = _service_rows(request, module, predict_inputs.select(module, names, shard, resume))
    else:
        predictor = load_predictor(request)
        rows = _local_rows(request, predictor, predict_inputs.select(predictor.module, names, shard, resume))
    total = failed = 0
    collected: list[dict] = []
    keep = collected.append if request.json and not request.output else None  # --json: rows go into the one object
    ticker = predict_inputs.Ticker("Predicting")
    with predict_output.writer(request.output, keep, resume) as (write, flush):
        for row in rows:
            write(row)
            total += 1
            failed += "error" in row
            ticker.advance()
            if total % request.batch_size == 0:
                flush()  # a chunk at a time: a kill loses at most the chunk being written
    ticker.close()
    if failed:
        console.warn(f'{failed} of {total} input(s) could not be used (see their "error" field)')
    if failed == total and (total or not (shard or resume)):  # an empty shard, or nothing left to resume, is fine
        raise UserError(f"none of the {total} input(s) could be used")
    summary: dict[str, Any] = {"inputs": total, "failed": failed}
    if shard:
        summary["shard"] = f"{shard[0]}/{shard[1]}"
    if resume:
        summary["skipped"] = resume.done
    if request.output:
        console.step(f"Wrote {total} prediction(s) to {request.output}")
        summary["output"] = str(Path(request.output).expanduser())
    if request.save:
        summary["saved"] = str(Path(request.save).expanduser())
    elif keep is not None:
        summary["predictions"] = collected
    return summary
