"""package: a run's model.onnx -> a Bento (ONNX Runtime service, no torch) in the local Bento store.

The Bento's code is the torch-free part of aiaas only: the service, the runtime, and the recipe's
serving module with what it imports, copied into a fresh build context. Its Python packages are
what that code imports, never the `aiaas` distribution (which needs torch).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiaas_cli import __version__, console, tags, tracking, workspace
from aiaas_cli.errors import UserError
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages.bento_model import save_model

SERVICE_MODULES = (
    "aiaas_cli.serving.service",
    "aiaas_cli.serving.connections",
    "aiaas_cli.serving.fast",
    "aiaas_cli.serving.batcher",
    "aiaas_cli.serving.limits",
    "aiaas_cli.serving.runtime",
)
FIRST_PARTY = ("aiaas_cli", "aiaas_recipes")
FORBIDDEN = ("torch", "torchvision", "lightning", "pytorch_lightning", "mlflow", "hydra", "aiaas_cli.cli")
PACKAGES = ("onnxruntime", "numpy", "pillow", "pydantic", "uvloop", "httptools")  # the last two: uvicorn's fast path
BUILDERS = ("docker", "podman", "buildah", "nerdctl", "buildctl")


def onnx_path(run_id: str) -> Path:
    """The run's exported model, or a clear error when it has none."""
    tagged = tracking.get_run(run_id).data.tags.get(tags.ONNX)
    path = Path(tagged) if tagged else workspace.run_dir(run_id) / "model.onnx"
    if not path.is_file():
        raise UserError(f"run '{run_id}' has no ONNX model", f"export it first: aiaas export RECIPE run={run_id}")
    return path


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by one source file (``from a import b`` also yields ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _source(module: str) -> Path | None:
    """The source file of ``module`` without importing it (a service module needs the Bento's arguments)."""
    from importlib.machinery import PathFinder

    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: found, not imported
        for i in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None  # an attribute imported from a module, not a module
            spec = PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def shipped_modules(serving_module: str) -> dict[str, Path]:
    """Module name -> source file for the service, the runtime, the serving module and what they import."""
    found: dict[str, Path] = {}
    first_party = (*FIRST_PARTY, serving_module.split(".")[0])  # a plugin recipe's own package ships too
    todo = [*SERVICE_MODULES, serving_module, service_for(serving_module).split(":")[0]]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # enclosing packages' __init__
        source = _source(name)
        if name in found or source is None:
            continue
        found[name] = source
        for imported in _imports(source):
            if imported.startswith(FORBIDDEN):
                raise UserError(f"{source} imports {imported}: the Bento must not need it", "keep serving torch-free")
            if imported.split(".")[0] in first_party:
                todo.append(imported)
    return found


def requirements(serving_module: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Pinned distributions the shipped modules import (PACKAGES plus e.g. tokenizers for text) and ``extra``
    (the recipe's bento_packages), never aiaas."""
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    names = set(PACKAGES) | set(extra)
    for source in shipped_modules(serving_module).values():
        for imported in _imports(source):
            top = imported.split(".")[0]
            if top not in (*FIRST_PARTY, serving_module.split(".")[0]):
                names.update(distributions.get(top, ()))
    names -= {"bentoml", "aiaas"}  # bentoml comes with the Bento; aiaas would pull in torch
    return sorted(f"{name}=={version(name)}" for name in names)


def write_build_context(serving_module: str, target: Path) -> list[str]:
    """Copy the shipped modules under their import names into ``target``; return their relative paths."""
    written = []
    for name, source in sorted(shipped_modules(serving_module).items()):
        relative = Path(*name.split("."))
        relative = relative / "__init__.py" if source.name == "__init__.py" else relative.with_suffix(".py")
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / relative)
        written.append(relative.as_posix())
    return written


def settings(serve: Any, model: Any = None) -> dict[str, Any]:
    """limits.Settings fields from the `serve` config group; `workers`/`threads` "auto" are sized from ``model`` (its
    ONNX file or its open OnnxModel: serving/sizing.py; without one, as for a fast model)."""
    from aiaas_cli.serving import sizing

    ms = sizing.item_ms(model) if serve.workers == "auto" and model is not None else None
    workers, threads = sizing.layout(serve.workers, serve.threads, ms)
    if "auto" in (serve.workers, serve.threads):
        console.step(sizing.describe(workers, threads, ms))
    return {
        "top_k": int(serve.top_k),
        "limits": dict(serve.get("limits") or {}),
        "max_body_bytes": int(float(serve.max_body_mb) * 1024 * 1024),
        "max_batch_size": int(serve.max_batch_size),
        "max_latency_ms": float(serve.max_latency_ms),
        "threads": threads,
        "workers": workers,
        "body_timeout_s": float(serve.body_timeout_s),
        "decode_threads": int(serve.decode_threads),
        "accept_in_turns": bool(serve.accept_in_turns),
        "max_decode_seconds": float(serve.max_decode_seconds),
        "max_connections": int(serve.max_connections),
        "header_timeout_s": float(serve.header_timeout_s),
        "fast_path": bool(serve.fast_path),
        "access_log": bool(serve.access_log),
        "metrics": bool(serve.metrics),
        "tracing": bool(serve.tracing),
        "state_dir": str(serve.state_dir) if serve.get("state_dir") else None,
    }


def service_for(serving_module: str) -> str:
    """The "module:Class" of the BentoML service that serves models of ``serving_module`` (its SERVICE)."""
    from aiaas_cli.serving import runtime

    own = getattr(runtime.serving_module(serving_module), "SERVICE", None)
    if own is None:
        raise UserError(f"{serving_module} names no SERVICE", "define SERVICE = 'module:Class' in that module")
    return own


def _labels(recipe: Recipe, run_id: str, metadata: dict[str, Any]) -> dict[str, str]:
    """The Bento's labels: recipe, run and the run's test figures (the recipe's metrics)."""
    metrics = tracking.run_metrics(run_id)  # this process's own, while the tracking server is away
    labels = {"recipe": metadata["recipe"], "run_id": run_id, "aiaas_version": __version__}
    names = (f"test_{name}" for name in recipe.metrics.names)
    labels.update({name: f"{metrics[name]:.4f}" for name in names if name in metrics})
    return labels


def _forget_services(serving_module: str) -> None:
    """bentoml.build imports the service in this process; a service module imported for an earlier Bento still holds
    that Bento's arguments (SETTINGS: its model tag, limits), so it must be imported afresh."""
    for name in ("aiaas_cli.serving.service", service_for(serving_module).split(":")[0]):
        sys.modules.pop(name, None)


def build_bento(
    path: Path,
    metadata: dict[str, Any],
    settings: dict[str, Any],
    labels: dict[str, str],
    recipe: Recipe,
    extra: Path | None = None,
) -> dict:
    """Store ``path`` (and the files under ``extra``) as a BentoML model and build its Bento; ``settings`` are
    limits.Settings fields."""
    import bentoml

    model_tag = save_model(path, metadata, extra)
    console.step(f"Model {model_tag} in the BentoML model store")
    _forget_services(metadata["serving_module"])
    with tempfile.TemporaryDirectory(prefix="aiaas-bento-", dir=workspace.scratch_dir()) as context:
        files = write_build_context(metadata["serving_module"], Path(context))
        console.step(f"Building the Bento from {len(files)} torch-free modules")
        cwd = os.getcwd()  # bentoml.build enters the build context and leaves it only when the import succeeds
        try:
            bento = _build(bentoml, context, files, metadata, labels, model_tag, settings, recipe)
        finally:
            os.chdir(cwd)
    return {"bento_tag": str(bento.tag), "model_tag": model_tag, "bento_path": bento.path, "files": files}


def _build(bentoml: Any, context: str, files: list[str], metadata: dict, labels: dict, model_tag: str,
           settings: dict, recipe: Recipe) -> Any:  # fmt: skip
    return bentoml.build(
        service_for(metadata["serving_module"]),
        name=f"aiaas-{metadata['recipe']}",
        labels={**labels, "model": model_tag},
        description=f"aiaas {metadata['recipe']} model (run {labels.get('run_id', '-')}) served with ONNX Runtime",
        include=files,
        python={"packages": requirements(metadata["serving_module"], recipe.bento_packages), "lock_packages": False},
        docker={"system_packages": list(recipe.system_packages)} if recipe.system_packages else None,
        models=[model_tag],
        build_ctx=context,
        args={**settings, "model_tag": model_tag, "serving_module": recipe.serving_module},
    )


def build(cfg: Any, recipe: Recipe, run_id: str, path: Path | str) -> dict[str, Any]:
    """Build the Bento for ``run_id``'s ONNX model at ``path``; return its tag and what went into it."""
    from aiaas_cli.serving.runtime import OnnxModel

    path = Path(path)
    model = OnnxModel(path, threads=1)
    metadata = model.metadata
    if metadata.get("recipe") != recipe.name:
        raise UserError(f"{path} was exported by recipe '{metadata.get('recipe')}', not '{recipe.name}'")
    serve = settings(cfg.serve, model)  # the session just opened is timed: no second load
    with tempfile.TemporaryDirectory(prefix="aiaas-model-files-", dir=workspace.scratch_dir()) as extra:
        recipe.package_files(cfg, path, Path(extra))  # what the served model starts with (a gallery...)
        built = build_bento(path, metadata, serve, _labels(recipe, run_id, metadata), recipe, Path(extra))
    return {**built, "workers": serve["workers"], "threads": serve["threads"]}


def available_builder() -> str | None:
    """The first container builder that answers (docker needs its daemon, not just its CLI)."""
    import bentoml

    for backend in BUILDERS:
        try:
            if bentoml.container.health(backend):
                return backend
        except Exception:  # a CLI without its daemon raises instead of answering False
            continue
    return None


def containerize(bento_tag: str) -> str | None:
    """Build an OCI image with the first available builder; None (with a warning) when there is none."""
    import bentoml

    backend = available_builder()
    if backend is None:
        console.warn(f"no container builder available ({', '.join(BUILDERS)}); the Bento {bento_tag} is built")
        return None
    console.step(f"Containerizing {bento_tag} with {backend}")
    bentoml.container.build(bento_tag, backend=backend)
    return bento_tag
