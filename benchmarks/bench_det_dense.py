"""Dense scenes through every image-det stage: a YOLO-layout set (data.yaml) of small images with 8 to 12 objects
each, `aiaas pipeline image-det data.path=...` (preprocess, train, evaluate, export with its parity gate, package,
push), then the answers checked:

- `aiaas predict` with its defaults returns every detection above the served threshold (more than 5 per image);
- the served model (`aiaas serve` + `aiaas predict --url`) answers the same detections as the local one;
- mAP@[.5:.95] and mAP@.5 of predict's own output at the evaluation stage's threshold (and detection cap) match the
  evaluation stage's test figures within 0.01.

Run from the repository root: `python -m benchmarks.bench_det_dense [--epochs N]`.
Everything lives in a temporary AIAAS_HOME that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.serving_kit import free_port

SIZE = 96  # images are the model's input size, so predict's boxes (image pixels) and evaluation's coincide
CLASSES = ("square", "circle", "triangle")
COLOURS = ((230, 60, 60), (60, 200, 80), (70, 90, 230))


def scene(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, list[float]]]]:
    """One image with 8-12 non-overlapping objects: one per cell of a 4x4 grid, at a random spot inside it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (SIZE, SIZE), tuple(int(v) for v in rng.integers(0, 60, 3)))
    draw, objects, cell = ImageDraw.Draw(image), [], SIZE // 4
    for index in rng.permutation(16)[: int(rng.integers(8, 13))]:
        side = int(rng.integers(10, cell - 4))
        x0 = (index % 4) * cell + int(rng.integers(1, cell - side))
        y0 = (index // 4) * cell + int(rng.integers(1, cell - side))
        label, box = int(rng.integers(0, 3)), [x0, y0, x0 + side, y0 + side]
        colour = tuple(int(c) for c in np.clip(np.asarray(COLOURS[label]) + rng.integers(-25, 26, 3), 0, 255))
        if label == 0:
            draw.rectangle(box, fill=colour)
        elif label == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.polygon([(x0, y0 + side), (x0 + side, y0 + side), (x0 + side / 2, y0)], fill=colour)
        objects.append((label, [float(v) for v in box]))
    return np.asarray(image), objects


def write_yolo(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """root/data.yaml, images/<split>/*.png and labels/<split>/*.txt (class cx cy w h, relative)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            pixels, objects = scene(rng)
            Image.fromarray(pixels).save(root / "images" / split / f"{split}{i:04d}.png")
            lines = [
                f"{c} {(b[0] + b[2]) / 2 / SIZE:.6f} {(b[1] + b[3]) / 2 / SIZE:.6f} "
                f"{(b[2] - b[0]) / SIZE:.6f} {(b[3] - b[1]) / SIZE:.6f}\n"
                for c, b in objects
            ]
            (root / "labels" / split / f"{split}{i:04d}.txt").write_text("".join(lines))
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CLASSES))
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\ntest: images/test\nnames:\n{names}\n"
    )
    return root / "data.yaml"


def aiaas(*args: str, env: dict) -> dict:
    done = subprocess.run(["aiaas", *args, "--json"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"aiaas {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def serve(bento: str, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(["aiaas", "serve", bento, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)  # fmt: skip
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(url + "/readyz", timeout=2).status_code == 200:
                return server, url
        except requests.RequestException:
            time.sleep(0.5)
    stop(server)
    raise SystemExit(f"aiaas serve did not start:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def predict_map(onnx_path: str, data_root: Path) -> dict:
    """mAP of predict's own answers (Predictor: the code `aiaas predict` and the service run) on the test split, at
    the evaluation stage's threshold and cap, scored with the recipe's own metric."""
    import torch

    from aiaas_cli.serving.runtime import Predictor
    from aiaas_recipes.image_det.metrics import EVAL_MAX, EVAL_THRESHOLD, new_map

    predictor, preds, targets = Predictor(onnx_path), [], []
    index = {name: i for i, name in enumerate(CLASSES)}
    for image in sorted((data_root / "images" / "test").glob("*.png")):
        payload = {"image": image.read_bytes(), "score_threshold": EVAL_THRESHOLD}
        (answer,) = predictor.predict([payload], k=EVAL_MAX)
        found = answer["detections"]
        preds.append({"boxes": torch.tensor([d["box"] for d in found], dtype=torch.float32).reshape(-1, 4),
                      "scores": torch.tensor([d["score"] for d in found], dtype=torch.float32),
                      "labels": torch.tensor([index[d["label"]] for d in found], dtype=torch.int64)})  # fmt: skip
        rows = np.loadtxt(data_root / "labels" / "test" / f"{image.stem}.txt", ndmin=2)
        centre, half = rows[:, 1:3] * SIZE, rows[:, 3:5] * SIZE / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor(rows[:, 0]).long()})
    metric = new_map(class_metrics=False)
    metric.update(preds, targets)
    result = metric.compute()
    return {"map": float(result["map"]), "map50": float(result["map_50"])}


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return " ".join(sorted(set(re.findall(r"avx512[a-z_]*|avx2", text)))) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train", type=int, default=240)
    parser.add_argument("--test", type=int, default=48)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-det-dense-"))
    env = {**os.environ, "AIAAS_HOME": str(work / "home"), "BENTOML_HOME": str(work / "bentoml"), "TMPDIR": str(work)}
    server = None
    try:
        data = write_yolo(work / "scenes", {"train": args.train, "val": args.test, "test": args.test})
        started = time.monotonic()
        run = aiaas("pipeline", "image-det", f"data.path={data}", f"data.image_size={SIZE}",
                    f"trainer.max_epochs={args.epochs}", "trainer.early_stopping.enabled=false", env=env)  # fmt: skip
        pipeline_s = time.monotonic() - started
        test_images = str(work / "scenes" / "images" / "test")
        local = aiaas("predict", "image-det", test_images, "--model", run["onnx_path"], env=env)["predictions"]
        server, url = serve(run["bento_tag"], env, work / "serve.log")
        served = aiaas("predict", "image-det", test_images, "--url", url, env=env)["predictions"]
        counts = [len(p["detections"]) for p in local]
        same = [a["detections"] == b["detections"] for a, b in zip(local, served, strict=True)]
        ours = predict_map(run["onnx_path"], work / "scenes")
        evaluated = {"map": run["metrics"]["map"], "map50": run["metrics"]["map50"]}
        figures = {
            "cpu_flags": cpu_flags(),
            "images": {"train": args.train, "val": args.test, "test": args.test, "size": SIZE, "objects": "8-12"},
            "epochs": args.epochs,
            "pipeline_s": round(pipeline_s, 1),
            "parity": run["parity"],
            "evaluate_map": evaluated,
            "predict_map": {k: round(v, 4) for k, v in ours.items()},
            "map_gap": {k: round(abs(ours[k] - evaluated[k]), 4) for k in ours},
            "boxes_per_image_default": {
                "min": min(counts),
                "mean": round(float(np.mean(counts)), 2),
                "max": max(counts),
            },
            "served_equals_local": f"{sum(same)}/{len(same)}",
        }
        print(json.dumps(figures, indent=2))
        failed = [
            name
            for name, ok in (
                ("served detections equal local ones", all(same)),
                ("predict returns more than 5 boxes per image by default", max(counts) > 5),
                ("predict's mAP within 0.01 of evaluation's", max(figures["map_gap"].values()) <= 0.01),
            )
            if not ok
        ]
        if failed:
            raise SystemExit("FAILED: " + "; ".join(failed))
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
