"""What each command runs: stages chained inside one MLflow run, returning the --json payload."""

from __future__ import annotations

from typing import Any

from aiaas_cli import config, console, tracking, workspace
from aiaas_cli.recipe_api import Recipe
from aiaas_cli.stages import evaluate as evaluate_stage
from aiaas_cli.stages import preprocess as preprocess_stage


def _save_config(cfg: Any, run_id: str, stage: str) -> None:
    if not tracking.is_rank_zero():
        return
    path = workspace.run_dir(run_id) / "config" / f"{stage}.yaml"
    with workspace.atomic_file(path) as temp:
        temp.write_text(config.to_yaml(cfg))
    tracking.log_artifact(path, "config")


def _dataset(cfg: Any, recipe: Recipe, run_id: str) -> preprocess_stage.Dataset:
    if cfg.run and "aiaas.dataset_dir" in tracking.get_run(run_id).data.tags:
        return preprocess_stage.from_run(run_id)
    dataset = preprocess_stage.build(cfg, recipe)
    preprocess_stage.log(cfg, dataset)
    return dataset


def _train_in_run(cfg: Any, recipe: Recipe, run_id: str) -> dict:
    from aiaas_cli.stages import train as train_stage

    dataset = _dataset(cfg, recipe, run_id)
    _save_config(cfg, run_id, "train")
    tracking.log_params({k: v for k, v in config.leaf_keys(cfg).items() if not isinstance(v, dict)})
    result = train_stage.fit(cfg, recipe, dataset, run_id)
    train_stage.log(result)
    return {"dataset_dir": str(dataset.dir), **result}


def _evaluate_in_run(recipe: Recipe, run_id: str) -> dict:
    dataset = preprocess_stage.from_run(run_id)
    report = evaluate_stage.evaluate(recipe, run_id, dataset)
    evaluate_stage.log(report, run_id)
    evaluate_stage.render(report)
    return {
        "metrics": evaluate_stage.metrics_summary(report),
        "metrics_file": str(workspace.run_dir(run_id) / "evaluation" / "metrics.json"),
    }


def preprocess(cfg: Any, recipe: Recipe) -> dict:
    with tracking.run(cfg, "preprocess") as run_id:
        dataset = preprocess_stage.build(cfg, recipe)
        preprocess_stage.log(cfg, dataset)
        _save_config(cfg, run_id, "preprocess")
    return {"run_id": run_id, **preprocess_stage.summary(dataset)}


def train(cfg: Any, recipe: Recipe) -> dict:
    with tracking.run(cfg, "train") as run_id:
        return {"run_id": run_id, **_train_in_run(cfg, recipe, run_id)}


def evaluate(cfg: Any, recipe: Recipe) -> dict:
    if not cfg.run:
        cfg.run = tracking.latest_run_with(cfg, "aiaas.checkpoint")
        console.step(f"Evaluating the latest trained run {cfg.run}")
    with tracking.run(cfg, "evaluate") as run_id:
        return {"run_id": run_id, **_evaluate_in_run(recipe, run_id)}


def export(cfg: Any, recipe: Recipe) -> dict:

    if not cfg.run:
        cfg.run = tracking.latest_run_with(cfg, "aiaas.checkpoint")
        console.step(f"Exporting the latest trained run {cfg.run}")
    with tracking.run(cfg, "export") as run_id:
        return _export_in_run(cfg, recipe, run_id)


def package(cfg: Any, recipe: Recipe, containerize: bool = False) -> dict:
    from aiaas_cli.stages import package as package_stage

    if not cfg.run:
        cfg.run = tracking.latest_run_with(cfg, "aiaas.onnx")
        console.step(f"Packaging the latest exported run {cfg.run}")
    tracking.configure(cfg)
    package_stage.onnx_path(cfg.run)  # fail before the run is reopened (and marked failed)
    with tracking.run(cfg, "package") as run_id:
        built = package_stage.build(cfg, run_id)
        tracking.set_tags({"aiaas.bento": built["bento_tag"]})
    result = {"run_id": run_id, **built}
    if containerize:
        result["image"] = package_stage.containerize(built["bento_tag"])
    return result


def _export_in_run(cfg: Any, recipe: Recipe, run_id: str) -> dict:
    from aiaas_cli.stages import export as export_stage

    exported = export_stage.export(cfg, recipe, run_id)
    export_stage.log(cfg, exported)
    return exported.summary()


def _show_samples(recipe: Recipe, run_id: str, onnx_path: str, k: int) -> list[dict]:
    """Predict a few held-out inputs with the exported model, the way the served Bento will."""
    from rich.table import Table

    from aiaas_cli.serving.runtime import Predictor

    dataset = preprocess_stage.from_run(run_id)
    samples = recipe.sample_inputs(dataset.dir, dataset.manifest, limit=3)
    if not samples:
        return []
    predictions = Predictor(onnx_path).predict([payload for _, payload in samples], k=k)
    rows = [{"input": name, "topk": top} for (name, _), top in zip(samples, predictions)]
    table = Table("input", "label", "score", title="Sample predictions (exported model)")
    for row in rows:
        table.add_row(row["input"], row["topk"][0]["label"], f"{row['topk'][0]['score']:.3f}")
    console.show(table)
    return rows


def pipeline(cfg: Any, recipe: Recipe) -> dict:
    """Every stage in one run: preprocess → train → evaluate → export → package → push."""
    from aiaas_cli.stages import package as package_stage
    from aiaas_cli.stages import push as push_stage

    with tracking.run(cfg, "pipeline") as run_id:
        result = {"run_id": run_id, **_train_in_run(cfg, recipe, run_id)}
        result.update(_evaluate_in_run(recipe, run_id))
        exported = _export_in_run(cfg, recipe, run_id)
        result.update({k: exported[k] for k in ("onnx_path", "parity", "quantized") if k in exported})
        result.update(package_stage.build(cfg, run_id))
        tracking.set_tags({"aiaas.bento": result["bento_tag"]})
    result["uri"] = push_stage.push(result["bento_tag"], str(cfg.push.target))["uri"]
    result["sample_predictions"] = _show_samples(recipe, run_id, result["onnx_path"], int(cfg.serve.top_k))
    console.step(f"Ready to serve: aiaas serve {result['bento_tag']}")
    return result
