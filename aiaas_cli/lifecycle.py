"""What each command runs: stages chained inside one MLflow run, each handing its artifact to the next.

A single-stage command resolves its input from the run id once, at its start; `pipeline` hands values on.
"""

from __future__ import annotations

from typing import Any

from aiaas_cli import artifacts, config, console, tags, tracking, workspace
from aiaas_cli.artifacts import Dataset, Evaluated, Trained
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages import evaluate as evaluate_stage
from aiaas_cli.stages import preprocess as preprocess_stage
from aiaas_cli.tracking import search


def _save_config(cfg: Any, run_id: str, stage: str) -> None:
    if not tracking.is_rank_zero():
        return
    path = workspace.run_dir(run_id) / "config" / f"{stage}.yaml"
    with workspace.atomic_file(path) as temp:
        temp.write_text(config.to_yaml(cfg))
    tracking.log_artifact(path, "config")


def _dataset(cfg: Any, recipe: Recipe, run_id: str) -> Dataset:
    if cfg.run:
        found = artifacts.run_tags(run_id)
        if tags.DATASET_DIR in found:
            return artifacts.dataset_of(run_id, found)
    dataset = preprocess_stage.build(cfg, recipe)
    preprocess_stage.log(cfg, dataset)
    return dataset


def _train_in_run(cfg: Any, recipe: Recipe, run_id: str) -> Trained:
    from aiaas_cli.stages import train as train_stage
    from aiaas_cli.training import resume_run

    dataset = _dataset(cfg, recipe, run_id)
    _save_config(cfg, run_id, "train")
    tracking.log_params({k: v for k, v in config.leaf_keys(cfg).items() if not isinstance(v, dict)})
    resume_from = resume_run.last_checkpoint(run_id) if cfg.get(resume_run.KEY) else None
    try:
        trained = train_stage.fit(cfg, recipe, dataset, run_id, resume_from)
    except resume_run.Stopped as stopped:
        stopped.run_id, stopped.recipe = run_id, recipe.name
        raise
    train_stage.log(trained)
    return trained


def _evaluate_in_run(recipe: Recipe, trained: Trained) -> tuple[Evaluated, dict]:
    evaluated = evaluate_stage.evaluate(recipe, trained)
    evaluate_stage.log(recipe, evaluated)
    evaluate_stage.render(recipe, evaluated.report)
    payload = {
        "metrics": evaluate_stage.metrics_summary(recipe, evaluated.report),
        "metrics_file": str(evaluated.files[0]),
    }
    if "leaderboard" in evaluated.report:  # model=auto: every candidate's val and test score
        payload["leaderboard"] = evaluated.report["leaderboard"]
    return evaluated, payload


def _latest(cfg: Any, tag: str, what: str) -> None:
    if not cfg.run:
        cfg.run = search.latest_run_with(cfg, tag)
        console.step(f"{what} the latest run {cfg.run}")


def preprocess(cfg: Any, recipe: Recipe) -> dict:
    with tracking.run(cfg, "preprocess") as run_id:
        dataset = preprocess_stage.build(cfg, recipe)
        preprocess_stage.log(cfg, dataset)
        _save_config(cfg, run_id, "preprocess")
    return {"run_id": run_id, **preprocess_stage.summary(recipe, dataset)}


def train(cfg: Any, recipe: Recipe) -> dict:
    from aiaas_cli.stages import train as train_stage

    with tracking.run(cfg, "train") as run_id:
        trained = _train_in_run(cfg, recipe, run_id)
        return {"run_id": run_id, **preprocess_stage.summary(recipe, trained.dataset), **train_stage.summary(trained)}


def evaluate(cfg: Any, recipe: Recipe) -> dict:
    _latest(cfg, tags.CHECKPOINT, "Evaluating")
    with tracking.run(cfg, "evaluate") as run_id:
        trained = artifacts.trained_of(run_id)
        return {"run_id": run_id, **_evaluate_in_run(recipe, trained)[1]}


def export(cfg: Any, recipe: Recipe) -> dict:
    _latest(cfg, tags.CHECKPOINT, "Exporting")
    with tracking.run(cfg, "export") as run_id:
        return _export_in_run(cfg, recipe, artifacts.trained_of(run_id)).summary()


def _export_in_run(cfg: Any, recipe: Recipe, trained: Trained) -> Any:
    from aiaas_cli.stages import export as export_stage

    exported = export_stage.export(cfg, recipe, trained)
    export_stage.log(cfg, exported)
    return exported


def package(cfg: Any, recipe: Recipe, containerize: bool = False) -> dict:
    from aiaas_cli.stages import package as package_stage

    _latest(cfg, tags.ONNX, "Packaging")
    tracking.configure(cfg)
    path = package_stage.onnx_path(cfg.run)  # fail before the run is reopened (and marked failed)
    with tracking.run(cfg, "package") as run_id:
        built = package_stage.build(cfg, recipe, run_id, path)
        tracking.set_tags({tags.BENTO: built["bento_tag"]})
    result = {"run_id": run_id, **built}
    if containerize:
        result["image"] = package_stage.containerize(built["bento_tag"])
    return result


def _show_samples(recipe: Recipe, dataset: Dataset, onnx_path: str, k: int) -> list[dict]:
    """Predict a few held-out inputs with the exported model, the way the served Bento will."""
    from rich.table import Table

    from aiaas_cli.serving.runtime import Predictor

    samples = recipe.sample_inputs(dataset.dir, dataset.manifest, limit=3)
    if not samples:
        return []
    predictor = Predictor(onnx_path, allowed={recipe.serving_module})
    k = getattr(predictor.module, "DEFAULT_K", k)  # the recipe's own default answer count (image-det: every box)
    predictions = predictor.predict([payload for _, payload in samples], k=k)
    rows = [predictor.to_row(name, payload, p) for (name, payload), p in zip(samples, predictions)]
    columns = [key for key in rows[0] if not isinstance(rows[0][key], (dict, list))][:4]
    table = Table(*columns, title="Sample predictions (exported model)")
    for row in rows:
        table.add_row(*(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    console.show(table)
    return rows


def pipeline(cfg: Any, recipe: Recipe) -> dict:
    """Every stage in one run: preprocess → train → evaluate → export → package → push."""
    from aiaas_cli.stages import package as package_stage
    from aiaas_cli.stages import push as push_stage
    from aiaas_cli.stages import train as train_stage

    with tracking.run(cfg, "pipeline") as run_id:
        trained = _train_in_run(cfg, recipe, run_id)
        result = {"run_id": run_id, **preprocess_stage.summary(recipe, trained.dataset), **train_stage.summary(trained)}
        result.update(_evaluate_in_run(recipe, trained)[1])
        exported = _export_in_run(cfg, recipe, trained).summary()
        result.update({k: exported[k] for k in ("onnx_path", "parity", "quantized") if k in exported})
        result.update(package_stage.build(cfg, recipe, run_id, exported["onnx_path"]))
        tracking.set_tags({tags.BENTO: result["bento_tag"]})
    result["uri"] = push_stage.push(result["bento_tag"], str(cfg.push.target))["uri"]
    result["sample_predictions"] = _show_samples(recipe, trained.dataset, result["onnx_path"], int(cfg.serve.top_k))
    console.step(f"Ready to serve: aiaas serve {result['bento_tag']}")
    return result
