"""image-seg data and serving halves without training: the folder reader's checks, the mask answer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from aiaas_cli.errors import ConfigError
from aiaas_cli.serving.runtime import BadInput
from aiaas_recipes.image_seg import dataset, serving, shapes
from aiaas_recipes.image_seg.images import read_mask_png

DATA = {"classes": None, "image_size": 16, "split": {"val": 0.2, "test": 0.2, "seed": 0}}


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def broken_folder(tmp_path) -> Path:
    """Ten good shape scenes plus one of each problem the reader must report."""
    root = shapes.write_folder(tmp_path / "mine", count=10)
    (root / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "masks" / "corrupt.png").write_bytes(png(np.zeros((64, 64), np.uint8), "L"))
    (root / "images" / "small_mask.png").write_bytes(png(np.zeros((64, 64, 3), np.uint8)))
    (root / "masks" / "small_mask.png").write_bytes(png(np.zeros((32, 32), np.uint8), "L"))
    (root / "images" / "odd_class.png").write_bytes(png(np.zeros((64, 64, 3), np.uint8)))
    (root / "masks" / "odd_class.png").write_bytes(png(np.full((64, 64), 7, np.uint8), "L"))
    (root / "images" / "no_mask.png").write_bytes(png(np.zeros((64, 64, 3), np.uint8)))
    (root / "images" / "rgb_mask.png").write_bytes(png(np.zeros((64, 64, 3), np.uint8)))
    (root / "masks" / "rgb_mask.png").write_bytes(png(np.zeros((64, 64, 3), np.uint8)))
    return root


def test_shapes_are_deterministic_and_cover_every_class():
    first = [shapes.scene(np.random.default_rng(3)) for _ in range(2)]
    image, mask = shapes.scene(np.random.default_rng(3))
    assert np.array_equal(image, first[0][0]) and np.array_equal(mask, first[0][1])
    rng = np.random.default_rng(0)
    seen = set().union(*(np.unique(shapes.scene(rng)[1]).tolist() for _ in range(20)))
    assert seen == {0, 1, 2, 3}


def test_reader_skips_and_reports_each_bad_pair(broken_folder, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    manifest = dataset.build(broken_folder, out, OmegaConf.create(DATA))
    reasons = {row["file"]: row["reason"] for row in manifest["skipped"]}
    assert set(reasons) == {f"images/{n}.png" for n in ("corrupt", "small_mask", "odd_class", "no_mask", "rgb_mask")}
    assert "unreadable image" in reasons["images/corrupt.png"]
    assert "32x32" in reasons["images/small_mask.png"] and "64x64" in reasons["images/small_mask.png"]
    assert "[7]" in reasons["images/odd_class.png"] and "no mask" in reasons["images/no_mask.png"]
    assert "class index" in reasons["images/rgb_mask.png"]
    assert sum(manifest["splits"].values()) == 10 and manifest["classes"] == list(shapes.CLASSES)
    assert np.load(out / "train_y.npy").shape[1:] == (16, 16) and np.load(out / "train_x.npy").shape[1:] == (16, 16, 3)


def test_names_come_from_the_config_and_a_folder_needs_both_parts(broken_folder, tmp_path):
    (tmp_path / "out").mkdir()
    cfg = OmegaConf.create({**DATA, "classes": ["bg", "round", "box", "tri", "x", "y", "z", "seven"]})
    manifest = dataset.build(broken_folder, tmp_path / "out", cfg)
    assert manifest["classes"][7] == "seven" and "images/odd_class.png" not in {r["file"] for r in manifest["skipped"]}
    with pytest.raises(ConfigError, match="images/ and a masks/"):
        dataset.find_pairs(tmp_path)
    with pytest.raises(ConfigError, match="multiple of 4"):
        dataset.check_settings(OmegaConf.create({**DATA, "image_size": 18}), 2)


def test_adapter_answers_a_mask_at_the_inputs_size():
    adapter = serving.build_adapter({"labels": ["bg", "a", "b"], "input_size": 8, "mean": [0.5] * 3, "std": [0.2] * 3})
    item = adapter.decode(png(np.zeros((30, 50, 3), np.uint8)))
    assert item[0].shape == (8, 8, 3) and item[1] == (50, 30)
    assert adapter.batch([item, item])["image"].shape == (2, 3, 8, 8)
    logits = np.zeros((1, 3, 8, 8), np.float32)
    logits[0, 1, :, :4] = 1.0  # the left half is class "a"
    answer = adapter.postprocess({"logits": logits}, [item], 1)[0]
    mask = read_mask_png(answer["mask"])
    assert mask.shape == (30, 50) and set(np.unique(mask)) == {0, 1}
    assert answer["areas"]["a"] == pytest.approx(0.5) and sum(answer["counts"].values()) == 1500
    row = serving.to_row("x.png", b"", answer)
    assert row["label"] == "a" and row["input"] == "x.png"
    with pytest.raises(BadInput, match="not an image"):
        adapter.decode(b"hello")
    with pytest.raises(BadInput, match="above the limit"):
        serving.build_adapter(adapter.__dict__ | {"labels": ["a"], "input_size": 8}, max_pixels=100).decode(
            png(np.zeros((30, 50, 3), np.uint8))
        )


def _coco_folder(root: Path) -> Path:
    """Six 32x32 images: a square polygon on each, a crowd region (RLE) on one, an unknown category on one, and an
    image the json lists that is not on disk."""
    from pycocotools import mask as rle

    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    for i in range(7):
        if i < 6:
            Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(root / "images" / f"{i}.png")
        images.append({"id": i + 10, "file_name": f"{i}.png", "width": 32, "height": 32})
        square = [4.0, 4.0, 20.0, 4.0, 20.0, 20.0, 4.0, 20.0]
        annotations.append({"id": i, "image_id": i + 10, "category_id": 7 if i % 2 else 3,
                            "segmentation": [square], "area": 256.0, "iscrowd": 0})  # fmt: skip
    crowd = np.zeros((32, 32), np.uint8, order="F")
    crowd[24:30, 24:30] = 1
    encoded = rle.encode(crowd)
    encoded["counts"] = encoded["counts"].decode("ascii")
    annotations.append(
        {"id": 50, "image_id": 10, "category_id": 3, "segmentation": encoded, "area": 36.0, "iscrowd": 1}
    )
    annotations.append({"id": 51, "image_id": 11, "category_id": 99, "segmentation": [[0, 0, 5, 0, 5, 5]], "area": 9.0,
                        "iscrowd": 0})  # fmt: skip
    categories = [{"id": 7, "name": "bolt"}, {"id": 3, "name": "nut"}]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def test_coco_polygons_and_rle_become_masks_with_every_problem_reported(tmp_path):
    json_path = _coco_folder(tmp_path / "coco")
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(json_path, out, OmegaConf.create({**DATA, "image_size": 32, "images": None}))
    assert manifest["classes"] == ["background", "nut", "bolt"]  # background, then categories in id order
    reasons = {item["file"]: item["reason"] for item in manifest["skipped"]}
    assert "unknown category" in reasons["1.png"] and "6.png" in reasons and len(reasons) == 2
    assert sum(manifest["splits"].values()) == 6 and not (out / ".coco-masks").exists()
    masks = np.concatenate([np.load(out / f"{split}_y.npy") for split in ("train", "val", "test")])
    names = sum(((out / f"{split}_files.txt").read_text().split() for split in ("train", "val", "test")), [])
    first = masks[names.index("0.png")]
    assert first[10, 10] == 1 and first[26, 26] == 255 and first[0, 31] == 0  # nut, crowd (ignored), background
    assert masks[names.index("1.png")][10, 10] == 2  # bolt


def test_turns_and_flips_move_image_and_mask_together_and_default_to_the_builtin_only():
    import torch

    from aiaas_recipes.image_seg.datamodule import MaskBatches, turns

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 4, (16, 8, 8)).astype(np.uint8)
    images = np.repeat(masks[..., None] * 60, 3, axis=-1).astype(np.uint8)  # colour = class, so pairs can be checked
    x, y = MaskBatches([0.0] * 3, [1 / 255] * 3, flips=True, turns=True)({"x": images, "y": masks})
    assert torch.equal(x[:, 0].round().long(), y * 60)  # every view of the image is the same view of its mask
    assert not torch.equal(y, torch.from_numpy(masks).long())  # and some views did change
    data = OmegaConf.create({"root": None, "augment": {"flips": True, "turns": None}})
    assert turns(data) and not turns(OmegaConf.merge(data, {"root": "/my/scenes"}))
    assert not turns(OmegaConf.merge(data, {"augment": {"turns": False}}))
