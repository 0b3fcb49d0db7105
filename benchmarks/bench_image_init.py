"""image-cls on a foreign image set with 10 training images per class: test accuracy from scratch vs
`model.init_from=run:<id of a built-in digits run>` vs a timm model's pretrained weights (where cached).

The foreign set is made here, offline and deterministically: ten capital letters drawn with Pillow's bundled font
(random size, stroke width, rotation, shear and shift), brought down to the built-in digits' scale (8x8 pixels,
17 grey levels, light ink on black) with noise. Per class: 10 train, 5 val (early stopping, best checkpoint), 40 test.
Every arm trains small_cnn (the timm arm: the timm model) with the same settings and seeds, in one fresh workspace.

    .venv/bin/python -m benchmarks.bench_image_init                   (--seeds 3 --epochs 40 --timm resnet18.a1_in1k)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
LETTERS = "ACEHKLPRTX"
PER_SPLIT = {"train": 10, "val": 5, "test": 40}
SCALE = 8  # the built-in digits' side, in pixels
LEVELS = 16  # ... and their grey levels (0..16)


def letter(char: str, rng: np.random.Generator) -> np.ndarray:
    """One 8x8 uint8 image of ``char``: drawn at 32 px under a random affine map, then shrunk and quantised."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("L", (32, 32), 0)
    font = ImageFont.load_default(size=int(rng.integers(34, 43)))  # capitals 24-30 px: the digits fill the frame
    ImageDraw.Draw(canvas).text((16, 16), char, fill=255, font=font, anchor="mm",
                                stroke_width=int(rng.integers(0, 3)), stroke_fill=255)  # fmt: skip
    angle, shear = np.deg2rad(rng.uniform(-15, 15)), rng.uniform(-0.25, 0.25)
    scale, (dx, dy) = rng.uniform(0.9, 1.1), rng.uniform(-2, 2, 2)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    a, b, d, e = cos, sin + shear, -sin, cos  # output -> input pixel map, about the centre
    matrix = (a, b, 16 - 16 * a - 16 * b + dx, d, e, 16 - 16 * d - 16 * e + dy)
    drawn = canvas.transform((32, 32), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
    small = np.asarray(drawn.resize((SCALE, SCALE), Image.Resampling.BOX), np.float64) / 255 * LEVELS
    noisy = np.clip(np.round(small + rng.normal(0, 0.8, small.shape)), 0, LEVELS)
    return (noisy * (255 / LEVELS)).round().astype(np.uint8)


def write_letters(root: Path, seed: int = 0) -> Path:
    """train/ val/ test/ folders of one sub-folder per letter (PNG, 8x8 grey); the same files for the same seed."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, count in PER_SPLIT.items():
        for char in LETTERS:
            folder = root / split / char
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(letter(char, rng), mode="L").save(folder / f"{i:03d}.png")
    return root


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def test_accuracy(env: dict, overrides: list[str]) -> tuple[float, float, int]:
    """Train on the letters and evaluate on their test split; (accuracy, seconds, tensors loaded by init_from)."""
    start = time.perf_counter()
    trained = aiaas(env, "train", "image-cls", *overrides)
    metrics = aiaas(env, "evaluate", "image-cls", f"run={trained['run_id']}")["metrics"]
    return metrics["accuracy"], time.perf_counter() - start, trained.get("init_from", {}).get("loaded", 0)


def timm_cached(name: str) -> str | None:
    """Why the timm arm cannot run here (None: its weights are in the local caches)."""
    from aiaas_recipes.common.backbones.hub import hf_cache_dir
    from aiaas_recipes.common.backbones.timm_models import cached_file

    if cached_file(name) is None:
        return f"skipped: {name} is not in the cache {hf_cache_dir()} (no internet here; run it once online)"
    return None


def arms(args: argparse.Namespace, digits_run: str) -> dict[str, list[str] | str]:
    """Each arm's overrides, or the line that says why it is skipped."""
    init = ["model.init_from=run:" + digits_run]
    why_not = timm_cached(args.timm)
    timm = ["model=timm", f"model.name={args.timm}", f"model.input_size={args.timm_size}", "offline=true"]
    return {"scratch": [], f"init_from digits run {digits_run[:8]}": init, f"timm {args.timm}": why_not or timm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--digits-epochs", type=int, default=10)
    parser.add_argument("--timm", default="resnet18.a1_in1k", help="a timm model name (used only if cached)")
    parser.add_argument("--timm-size", type=int, default=64, help="its model.input_size (the letters are 8x8)")
    parser.add_argument("--skip", nargs="*", default=[], help="arms to leave out: scratch, init_from, timm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIAAS_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)
        root = write_letters(Path(home) / "letters")
        digits = aiaas(env, "train", "image-cls", f"trainer.max_epochs={args.digits_epochs}")["run_id"]
        common = [f"data.root={root}", f"trainer.max_epochs={args.epochs}", "data.batch_size=32"]
        print(
            f"letters {LETTERS}: {PER_SPLIT} images per class; small_cnn, {args.epochs} epochs, {args.seeds} seeds; "
            f"digits run {digits} ({args.digits_epochs} epochs)",
            flush=True,
        )
        for name, overrides in arms(args, digits).items():
            if any(name.startswith(skip) for skip in args.skip):
                continue
            if isinstance(overrides, str):
                print(f"{name:<34} {overrides}")
                continue
            results = [test_accuracy(env, [*common, *overrides, f"seed={seed}"]) for seed in range(args.seeds)]
            accuracy = np.array([a for a, _, _ in results])
            seconds, loaded = np.mean([s for _, s, _ in results]), results[0][2]
            print(f"{name:<34} test accuracy {accuracy.mean():.3f} +- {accuracy.std():.3f}  "
                  f"({', '.join(f'{a:.3f}' for a in accuracy)}; {seconds:.0f} s per run"
                  + (f"; {loaded} tensors loaded" if loaded else "") + ")", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
