"""Batch-1 latency: ONNX Runtime vs torch eager, and int8 vs float ONNX (latency and file size).

Two models: the digits SmallCNN that `aiaas export` writes (trained here for two epochs in a temporary workspace,
unless --home/--run name an exported run), and torchvision's resnet18 at 224x224 with random weights, exported by
this script. Both sides use the same intra-op thread count; ONNX Runtime has every graph optimisation on (the
session options of aiaas_cli.serving.runtime). Timings are medians, taken in alternating rounds because the machine
is shared. Targets: ORT <= 0.8x torch eager, and int8 faster than float.

    .venv/bin/python -m benchmarks.bench_onnx        (--check exits 1 on a FAIL)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from omegaconf import OmegaConf

from aiaas_cli.cpu import detect
from aiaas_cli.serving.runtime import session_options
from aiaas_cli.stages.quantize import latency_ms, pick_settings, quantize_static

AIAAS = str(Path(sys.executable).with_name("aiaas"))
ORT_RATIO_TARGET = 0.8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads, both sides")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds per model")
    parser.add_argument("--runs", type=int, default=100, help="timed batch-1 calls per round (resnet18: a fifth)")
    parser.add_argument("--home", help="an AIAAS_HOME that has an exported digits run (default: train one)")
    parser.add_argument("--run", help="the exported run id in --home")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args()


def aiaas_json(home: str, *args: str) -> dict:
    done = subprocess.run(
        [AIAAS, *args, "--json"], env={**os.environ, "AIAAS_HOME": home}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"aiaas {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def digits_model(args: argparse.Namespace, workdir: Path) -> tuple[torch.nn.Module, Path, np.ndarray, np.ndarray]:
    """The trained SmallCNN, its exported model.onnx, calibration (train) and timing (test) samples."""
    from aiaas_cli import artifacts, recipes, workspace

    home = args.home or str(workdir / "home")
    run_id = args.run
    if not run_id:
        print("training and exporting the digits model (2 epochs)...", file=sys.stderr)
        run_id = aiaas_json(home, "pipeline", "image-cls", "trainer.max_epochs=2")["run_id"]
        aiaas_json(home, "export", "image-cls", f"run={run_id}", "export.register=false")
    os.environ["AIAAS_HOME"] = home
    from aiaas_cli import config, tracking

    recipe = recipes.load("image-cls")
    tracking.configure(config.compose(recipe, []))
    trained = artifacts.trained_of(run_id)
    network, _ = recipe.load_model(trained.checkpoint)
    dataset = trained.dataset
    calibration, _ = recipe.export_samples(dataset.dir, dataset.manifest, "train", 256)
    test, _ = recipe.export_samples(dataset.dir, dataset.manifest, "test", 64)
    return network, workspace.run_dir(run_id) / "model.onnx", calibration["image"], test["image"]


def export_resnet18(workdir: Path) -> tuple[torch.nn.Module, Path]:
    """torchvision resnet18 (random weights) exported with the same exporter settings as `aiaas export`."""
    import torchvision

    torch.manual_seed(0)
    network = torchvision.models.resnet18(weights=None).eval()
    path = workdir / "resnet18.onnx"
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (torch.randn(2, 3, 224, 224),),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            opset_version=18,
            dynamo=True,
            external_data=False,
            dynamic_shapes=({0: batch},),
            verbose=False,
        )
    return network, path


def resnet18_model(workdir: Path) -> tuple[torch.nn.Module, Path, np.ndarray, np.ndarray]:
    """The exported resnet18 plus random calibration and sample batches."""
    network, path = export_resnet18(workdir)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((32, 3, 224, 224), dtype=np.float32)
    return network, path, calibration, rng.standard_normal((8, 3, 224, 224), dtype=np.float32)


def compare(name: str, network, float_path: Path, calibration, samples, args, runs: int) -> dict:
    """Median batch-1 latencies of torch eager, ORT float and ORT int8, in alternating rounds; sizes; agreement."""
    int8_path = float_path.with_name(float_path.stem + ".bench-int8.onnx")
    input_name = ort.InferenceSession(str(float_path)).get_inputs()[0].name
    # the settings `aiaas export` picks for this CPU (7-bit weights without VNNI)
    settings = pick_settings(
        OmegaConf.create({"target_cpu": "auto", "per_channel": True, "reduce_range": None}), detect()
    )
    quantize_static(float_path, int8_path, {input_name: calibration}, settings)
    sessions = {kind: ort.InferenceSession(str(p), session_options(args.threads)) for kind, p in
                (("float", float_path), ("int8", int8_path))}  # fmt: skip
    one = samples[:1]

    def torch_run(x):
        with torch.inference_mode():
            return network(torch.from_numpy(x))

    runners = {
        "torch": torch_run,
        "float": lambda x: sessions["float"].run(None, {input_name: x}),
        "int8": lambda x: sessions["int8"].run(None, {input_name: x}),
    }
    rounds: dict[str, list[float]] = {kind: [] for kind in runners}
    for _ in range(args.rounds):
        for kind, run in runners.items():
            rounds[kind].append(latency_ms(run, one, runs))
    latency = {kind: float(np.median(values)) for kind, values in rounds.items()}
    expected = torch_run(samples).numpy()
    float_out = sessions["float"].run(None, {input_name: samples})[0]
    int8_out = sessions["int8"].run(None, {input_name: samples})[0]
    result = {
        "model": name,
        "latency_ms": latency,
        "ort_vs_torch": latency["float"] / latency["torch"],
        "int8_vs_float": latency["int8"] / latency["float"],
        "size_mb": {"float": float_path.stat().st_size / 1e6, "int8": int8_path.stat().st_size / 1e6},
        "float_max_abs_diff": float(np.abs(expected - float_out).max()),
        "int8_top1_agreement": float((float_out.argmax(-1) == int8_out.argmax(-1)).mean()),
    }
    int8_path.unlink()
    return result


def report(results: list[dict], args: argparse.Namespace) -> bool:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    print(f"CPU: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start of report")
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, threads {args.threads} (both sides), "
          f"ORT graph optimisations ORT_ENABLE_ALL, {args.rounds} alternating rounds, medians")  # fmt: skip
    print()
    header = f"{'model':<22}{'torch ms':>10}{'ORT ms':>9}{'ORT/torch':>11}{'int8 ms':>9}{'int8/float':>12}"
    header += f"{'float MB':>10}{'int8 MB':>9}{'max|diff|':>11}{'int8 top1':>11}"
    print(header)
    ok = True
    for r in results:
        lat, size = r["latency_ms"], r["size_mb"]
        print(
            f"{r['model']:<22}{lat['torch']:>10.3f}{lat['float']:>9.3f}{r['ort_vs_torch']:>10.2f}x{lat['int8']:>9.3f}"
            f"{r['int8_vs_float']:>11.2f}x{size['float']:>10.2f}{size['int8']:>9.2f}{r['float_max_abs_diff']:>11.1e}"
            f"{r['int8_top1_agreement']:>10.0%}"
        )
    print()
    for r in results:
        ort_ok, int8_ok = r["ort_vs_torch"] <= ORT_RATIO_TARGET, r["int8_vs_float"] < 1.0
        ok = ok and ort_ok and int8_ok
        print(f"{r['model']}: ORT/torch {r['ort_vs_torch']:.2f}x (target <= {ORT_RATIO_TARGET}x) "
              f"{'PASS' if ort_ok else 'FAIL'}; int8/float {r['int8_vs_float']:.2f}x (target < 1.0x) "
              f"{'PASS' if int8_ok else 'FAIL'}")  # fmt: skip
    return ok


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-onnx-") as tmp:
        workdir = Path(tmp)
        network, path, calibration, samples = digits_model(args, workdir)
        results = [compare("digits SmallCNN 32x32", network, path, calibration, samples, args, args.runs)]
        network, path, calibration, samples = resnet18_model(workdir)
        results.append(compare("resnet18 224x224", network, path, calibration, samples, args, max(args.runs // 5, 5)))
    ok = report(results, args)
    if args.check and not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
