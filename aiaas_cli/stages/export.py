"""export: trained model -> model.onnx (metadata embedded), checked against the trained model on held-out samples."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiaas_cli import __version__, console, tags, tracking, workspace
from aiaas_cli.artifacts import Trained
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import ExportSpec, Parity, Recipe
from aiaas_cli.serving.runtime import Feeds, OnnxModel, load_adapter, runner
from aiaas_cli.stages.onnx_file import embed_metadata, onnx_outputs

EXPORTERS = ("dynamo", "torchscript")


@dataclass
class Exported:
    run_id: str
    onnx_path: Path  # what predict and the Bento serve
    float_path: Path
    parity: Parity
    example: tuple[Feeds, Feeds]  # a few inputs and their outputs, for the MLflow signature
    metadata: dict[str, Any]
    quantized: dict | None = None
    registered: dict | None = None

    def summary(self) -> dict[str, Any]:
        payload = {"run_id": self.run_id, "onnx_path": str(self.onnx_path), "float_onnx_path": str(self.float_path)}
        payload["parity"] = self.parity.as_dict()
        if self.quantized is not None:
            payload["quantized"] = self.quantized
        if self.registered is not None:
            payload["registered_model"] = self.registered
        return payload


def _check_config(export_cfg: Any) -> None:
    if export_cfg.exporter not in EXPORTERS:
        raise ConfigError(f"export.exporter must be one of {', '.join(EXPORTERS)}, got {export_cfg.exporter!r}")
    if export_cfg.quantize not in (None, "int8"):
        raise ConfigError(f"export.quantize must be null or int8, got {export_cfg.quantize!r}")
    if export_cfg.quantize == "int8":  # bad int8 settings fail before any export work
        from aiaas_cli import cpu
        from aiaas_cli.stages.quantize import pick_settings

        pick_settings(export_cfg, cpu.detect())


def metadata(cfg: Any, recipe: Recipe, spec: ExportSpec, run_id: str) -> dict[str, Any]:
    """What a served model needs to know, embedded in the ONNX file under the "aiaas" key."""
    return {
        **spec.metadata,
        "recipe": recipe.name,
        "serving_module": recipe.serving_module,
        "run_id": run_id,
        "aiaas_version": __version__,
        "input_names": list(spec.input_names),
        "output_names": list(spec.output_names),
        "opset": int(cfg.export.opset),
        "exporter": "own" if spec.convert else str(cfg.export.exporter),
    }


def _torch_export(network: Any, spec: ExportSpec, path: Path, export_cfg: Any) -> None:
    import torch

    axes = spec.dynamic_axes if export_cfg.dynamic_batch else None
    example = spec.example_inputs if axes else tuple(x[:1] for x in spec.example_inputs)  # fixed batch of 1
    if export_cfg.exporter == "dynamo":
        # torch.export wants one {axis: Dim} per positional input; the outputs' axes follow from the graph
        shapes = [{i: torch.export.Dim(n) for i, n in (axes or {}).get(name, {}).items()} for name in spec.input_names]
        kwargs = {"dynamo": True, "external_data": False, "dynamic_shapes": tuple(shapes) if axes else None}
    else:
        kwargs = {"dynamo": False, "dynamic_axes": axes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice is not the user's business
        torch.onnx.export(
            network.eval(),
            example,
            str(path),
            input_names=spec.input_names,
            output_names=spec.output_names,
            opset_version=int(export_cfg.opset),
            verbose=False,
            **kwargs,
        )


def _write_onnx(network: Any, spec: ExportSpec, path: Path, export_cfg: Any) -> None:
    if spec.convert is not None:  # not a torch model: the recipe converts it (skl2onnx)
        spec.convert(path, int(export_cfg.opset))
        return
    try:
        _torch_export(network, spec, path, export_cfg)
    except Exception as exc:  # the exporters raise many types for unsupported models
        raise UserError(
            f"torch.onnx.export failed: {str(exc).strip().splitlines()[0]}",
            "try export.exporter=torchscript (or dynamo), or another export.opset",
        ) from exc


def _run_exported(path: Path, inputs: Feeds, allowed: set[str] | None = None) -> Feeds:
    """The exported model's outputs, run as `predict` and the service run it: the adapter of its serving module (one
    in ``allowed``) runs its own loop when it has one (runtime.runner). An exporter can write a graph ONNX Runtime
    will not load or run (an axis fixed to the example's size, an op the runtime lacks): one line, not a traceback."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, NotImplemented, RuntimeException

    try:
        model = OnnxModel(path)
        run = runner(model, load_adapter(model.metadata, allowed)) if allowed else model.run
        if run == model.run:  # fed its own inputs: a recipe's samples may hold feeds for each kind of its graphs
            inputs = {name: inputs[name] for name in model.input_names}
        return onnx_outputs(run, inputs)
    except (Fail, InvalidArgument, NotImplemented, RuntimeException) as exc:
        raise UserError(
            f"ONNX Runtime cannot run the exported model: {str(exc).strip().splitlines()[0][:300]}",
            "try export.exporter=torchscript (or dynamo) or another export.opset; model.onnx was not written",
        ) from exc


def _check_parity(recipe: Recipe, expected: Feeds, actual: Feeds, export_cfg: Any, run_id: str) -> Parity:
    """The recipe's gate, in its task's terms. A failure keeps the run and its checkpoint: the hint is the command
    that exports them again without retraining."""
    result = recipe.compare_outputs(expected, actual, export_cfg)
    problem = recipe.parity_problem(result, export_cfg)
    if problem:
        again = f"aiaas export {recipe.name} run={run_id}"
        raise UserError(
            f"ONNX Runtime disagrees with the trained model on {result.samples} test samples: {problem}",
            f"the run and its checkpoint are kept; export again without retraining: `{again} "
            f"export.exporter=torchscript`, or loosen the gate: `{again} export.{result.setting}=...` "
            "(model.onnx was not written)",
        )
    return result


def export(cfg: Any, recipe: Recipe, trained: Trained) -> Exported:
    """Write the run's model.onnx, checked against the trained model; int8-quantize it when asked."""
    _check_config(cfg.export)
    network, meta = recipe.load_model(trained.checkpoint)
    dataset = trained.dataset
    inputs, targets = recipe.export_samples(dataset.dir, dataset.manifest, "test", int(cfg.export.parity_samples))
    if len(next(iter(inputs.values()))) == 0:
        raise UserError("the dataset has no test samples for the parity check", "raise data.split.test")
    spec = recipe.export_spec(network, meta)
    info = metadata(cfg, recipe, spec, trained.run_id)
    target = workspace.run_dir(trained.run_id) / "model.onnx"
    how = "its own converter" if spec.convert else cfg.export.exporter
    console.step(f"Exporting <{type(network).__name__}> to ONNX (opset {cfg.export.opset}, {how})")
    expected = recipe.reference_outputs(network, inputs)
    if spec.graphs:
        info["graphs"] = {name: f"{name}.onnx" for name in spec.graphs}
    try:
        with workspace.temp_dir(target.parent) as folder:  # every graph lands together, only once parity holds
            temp = folder / target.name
            for name, part in spec.graphs.items():
                _write_onnx(part.module or network, part, folder / info["graphs"][name], cfg.export)
            _write_onnx(spec.module or network, spec, temp, cfg.export)
            embed_metadata(temp, info)
            actual = _run_exported(temp, inputs, {recipe.serving_module})
            result = _check_parity(recipe, expected, actual, cfg.export, trained.run_id)
            for file in (*info.get("graphs", {}).values(), target.name):  # model.onnx last: it names the others
                os.replace(folder / file, target.parent / file)
    except OSError as exc:  # a full disk is one line: nothing was written under the model's names
        raise workspace.disk_full(exc, target) or exc from None
    shown = ", ".join(f"{k.replace('_', ' ')} {v:.3g}" for k, v in result.as_dict().items() if k != "samples")
    console.step(f"Parity on {result.samples} test samples: {shown}")
    example = ({k: v[:2] for k, v in inputs.items() if k in spec.input_names}, {k: v[:2] for k, v in actual.items()})
    exported = Exported(trained.run_id, target, target, result, example, info)
    if cfg.export.quantize:
        _quantize(cfg, recipe, trained, exported, inputs, targets)
    return exported


def _quantize(cfg: Any, recipe: Recipe, trained: Trained, exported: Exported, inputs: Feeds, targets: Any) -> None:
    from aiaas_cli.stages import quantize, quantize_loop

    adapter = load_adapter(exported.metadata, {recipe.serving_module})
    if quantize_loop.needs_loop(exported.metadata, adapter):  # graphs fed only inside the loop: no calibration
        report = quantize_loop.int8(
            exported.float_path,
            exported.metadata,
            inputs,
            targets,
            recipe.score_outputs,
            cfg.export,
            adapter=adapter,
            metrics=recipe.metrics,
        )
    else:
        dataset = trained.dataset
        calibration, _ = recipe.export_samples(
            dataset.dir, dataset.manifest, "train", int(cfg.export.calibration_samples)
        )
        report = quantize.int8(
            exported.float_path,
            exported.metadata,
            calibration,
            inputs,
            targets,
            recipe.score_outputs,
            cfg.export,
            metrics=recipe.metrics,
        )
    exported.quantized = report
    if report["accepted"]:
        exported.onnx_path = Path(report["path"])


def log(cfg: Any, exported: Exported) -> None:
    """Register the served model, tag it on the run, and log the model files and the report."""
    if cfg.export.register:
        name = str(cfg.export.registered_model_name)
        console.step(f"Registering {exported.onnx_path.name} as MLflow model '{name}'")
        version = tracking.register_onnx(exported.onnx_path, name, exported.example)  # tags the run with it
        exported.registered = {"name": name, "version": version}
    report_path = workspace.run_dir(exported.run_id) / "export_report.json"
    workspace.write_json(report_path, exported.summary())
    graphs = [exported.float_path.with_name(file) for file in exported.metadata.get("graphs", {}).values()]
    if exported.onnx_path != exported.float_path:  # the int8 model's own graph files
        graphs += [exported.onnx_path.with_name(file) for file in (exported.quantized or {}).get("graph_files", [])]
    for path in dict.fromkeys((exported.float_path, *graphs, exported.onnx_path, report_path)):
        tracking.log_artifact(path, "export")
    tracking.log_metrics({f"export_{k}": float(v) for k, v in exported.parity.as_dict().items() if k != "samples"})
    tracking.set_tags({tags.ONNX: exported.onnx_path})
