"""export: checkpoint -> model.onnx (metadata embedded), checked against torch on held-out samples."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli import __version__, checkpoints, console, tracking, workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import ExportSpec, Recipe
from aiaas_cli.serving.runtime import METADATA_KEY, OnnxModel
from aiaas_cli.stages import preprocess as preprocess_stage

EXPORTERS = ("dynamo", "torchscript")
MODEL_TAG = "aiaas.onnx"  # the run's served model (int8 when accepted), read by `aiaas predict run=<id>`
_CHUNK = 64


@dataclass
class Parity:
    max_abs_diff: float
    top1_agreement: float
    samples: int


@dataclass
class Exported:
    run_id: str
    onnx_path: Path  # what predict and the Bento serve
    float_path: Path
    parity: Parity
    example: tuple[np.ndarray, np.ndarray]  # one input batch and its outputs, for the MLflow signature
    quantized: dict | None = None
    registered: dict | None = None

    def summary(self) -> dict[str, Any]:
        payload = {"run_id": self.run_id, "onnx_path": str(self.onnx_path), "float_onnx_path": str(self.float_path)}
        payload["parity"] = asdict(self.parity)
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


def metadata(cfg: Any, recipe: Recipe, spec: ExportSpec, run_id: str) -> dict[str, Any]:
    """What a served model needs to know, embedded in the ONNX file under the "aiaas" key."""
    return {
        **spec.metadata,
        "recipe": recipe.name,
        "serving_module": recipe.serving_module,
        "run_id": run_id,
        "aiaas_version": __version__,
        "input_name": spec.input_names[0],
        "output_name": spec.output_names[0],
        "opset": int(cfg.export.opset),
        "exporter": str(cfg.export.exporter),
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


def embed_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` into the model's metadata_props and run the ONNX checker on the result."""
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in kept}, METADATA_KEY: json.dumps(meta)})
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise UserError(f"the exported ONNX model is invalid: {str(exc).splitlines()[0]}") from exc
    onnx.save(model, str(path))


def torch_outputs(network: Any, inputs: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        chunks = [network(torch.from_numpy(inputs[i : i + _CHUNK])).numpy() for i in range(0, len(inputs), _CHUNK)]
    return np.concatenate(chunks)


def onnx_outputs(model: OnnxModel, inputs: np.ndarray) -> np.ndarray:
    return np.concatenate([model.run(inputs[i : i + _CHUNK]) for i in range(0, len(inputs), _CHUNK)])


def parity(expected: np.ndarray, actual: np.ndarray) -> Parity:
    """Largest absolute output difference and the share of rows whose arg-max agrees."""
    diff = float(np.abs(expected.astype(np.float64) - actual.astype(np.float64)).max())
    agree = float((expected.argmax(-1) == actual.argmax(-1)).mean())
    return Parity(max_abs_diff=diff, top1_agreement=agree, samples=len(expected))


def _check_parity(result: Parity, export_cfg: Any) -> None:
    if result.max_abs_diff > float(export_cfg.tolerance) or result.top1_agreement < float(
        export_cfg.min_top1_agreement
    ):
        raise UserError(
            f"ONNX Runtime disagrees with torch on {result.samples} test samples: max |diff| "
            f"{result.max_abs_diff:.3g} (tolerance {export_cfg.tolerance}), top-1 agreement "
            f"{result.top1_agreement:.2%} (minimum {float(export_cfg.min_top1_agreement):.0%})",
            "try export.exporter=torchscript or another export.opset; model.onnx was not written",
        )


def export(cfg: Any, recipe: Recipe, run_id: str) -> Exported:
    """Write the run's model.onnx, checked against torch; int8-quantize it when asked."""
    _check_config(cfg.export)
    checkpoint = checkpoints.load(checkpoints.path_for_run(run_id), recipe)
    network = recipe.load_model(checkpoint)
    dataset = preprocess_stage.from_run(run_id)
    inputs, labels = recipe.export_samples(dataset.dir, dataset.manifest, "test", int(cfg.export.parity_samples))
    if len(inputs) == 0:
        raise UserError("the dataset has no test samples for the parity check", "raise data.split.test")
    spec = recipe.export_spec(network, checkpoint)
    meta = metadata(cfg, recipe, spec, run_id)
    target = workspace.run_dir(run_id) / "model.onnx"
    console.step(f"Exporting <{type(network).__name__}> to ONNX (opset {cfg.export.opset}, {cfg.export.exporter})")
    expected = torch_outputs(network, inputs)
    with workspace.atomic_file(target) as temp:
        try:
            _torch_export(network, spec, temp, cfg.export)
        except Exception as exc:  # the exporters raise many types for unsupported models
            raise UserError(
                f"torch.onnx.export failed: {str(exc).strip().splitlines()[0]}",
                "try export.exporter=torchscript (or dynamo), or another export.opset",
            ) from exc
        embed_metadata(temp, meta)
        float_model = OnnxModel(temp)
        actual = onnx_outputs(float_model, inputs)
        result = parity(expected, actual)
        _check_parity(result, cfg.export)
    console.step(f"Parity on {result.samples} test samples: max |diff| {result.max_abs_diff:.2e}, "
                 f"top-1 agreement {result.top1_agreement:.2%}")  # fmt: skip
    exported = Exported(run_id, target, target, result, (inputs[:2], actual[:2]))
    if cfg.export.quantize == "int8":
        from aiaas_cli.stages import quantize

        calibration, _ = recipe.export_samples(
            dataset.dir, dataset.manifest, "train", int(cfg.export.calibration_samples)
        )
        report = quantize.int8(target, meta, calibration, inputs, labels, recipe.score_outputs, cfg.export)
        exported.quantized = report
        if report["accepted"]:
            exported.onnx_path = Path(report["path"])
    return exported


def log(cfg: Any, exported: Exported) -> None:
    """Register the served model, tag it on the run, and log the model files and the report."""
    if cfg.export.register:
        name = str(cfg.export.registered_model_name)
        console.step(f"Registering {exported.onnx_path.name} as MLflow model '{name}'")
        version = tracking.register_onnx(exported.onnx_path, name, exported.example)
        exported.registered = {"name": name, "version": version}
        tracking.set_tags({"aiaas.registered_model": f"{name}/{version}"})
    report_path = workspace.run_dir(exported.run_id) / "export_report.json"
    workspace.write_json(report_path, exported.summary())
    for path in dict.fromkeys((exported.float_path, exported.onnx_path, report_path)):
        tracking.log_artifact(path, "export")
    tracking.log_metrics({
        "export_max_abs_diff": exported.parity.max_abs_diff,
        "export_top1_agreement": exported.parity.top1_agreement,
    })  # fmt: skip
    tracking.set_tags({MODEL_TAG: exported.onnx_path})
