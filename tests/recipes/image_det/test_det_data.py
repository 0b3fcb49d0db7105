"""image-det readers and dataset build without training: YOLO, COCO and VOC layouts, each problem reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from aiaas_cli.errors import ConfigError
from aiaas_recipes.image_det import dataset, readers, shapes

DATA = {"image_size": 32, "split": {"val": 0.2, "test": 0.2, "seed": 0}}
W, H = shapes.WIDTH, shapes.HEIGHT


def build(source: readers.Source, tmp_path: Path) -> dict:
    out = tmp_path / "dataset"
    out.mkdir()
    return dataset.build(source, out, OmegaConf.create(DATA))


@pytest.fixture()
def broken_yolo(tmp_path) -> Path:
    """A YOLO folder with a corrupt image, an unknown class, a box past the edge, a flat box and no label file."""
    path = shapes.write_yolo(tmp_path / "yolo", splits={"train": 8, "val": 3})
    root = path.parent
    (root / "images" / "train" / "0000.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with (root / "labels" / "train" / "0001.txt").open("a") as labels:
        labels.write("7 0.5 0.5 0.2 0.2\n")  # class 7 of 3
        labels.write("0 0.95 0.5 0.3 0.2\n")  # reaches past the right edge
        labels.write("1 0.5 0.5 0.0 0.2\n")  # no width
        labels.write("1 0.5\n")  # malformed
    (root / "labels" / "val" / "0002.txt").unlink()  # background image
    return path


def test_scenes_are_deterministic_and_boxes_fit_the_shapes():
    (_, image, boxes, labels), *_ = shapes.scenes(1, seed=5)
    (_, again, boxes_again, _), *_ = shapes.scenes(1, seed=5)
    assert np.array_equal(image, again) and np.array_equal(boxes, boxes_again)
    assert image.shape == (H, W, 3) and len(boxes) == len(labels) >= 1
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= W).all()
    seen = {int(c) for _, _, _, lab in shapes.scenes(30) for c in lab}
    assert seen == {0, 1, 2}


def test_yolo_reader_reports_every_problem_and_keeps_background(broken_yolo, tmp_path):
    source = readers.read_source(broken_yolo)
    assert source.layout == "yolo" and source.classes == list(shapes.CLASSES)
    manifest = build(source, tmp_path)
    assert manifest["problems"] == {
        "class_out_of_range": 1,
        "bad_label": 1,
        "no_labels": 1,
        "unreadable_image": 1,
        "box_clipped": 1,
        "box_dropped": 1,
    }
    kinds = {row["kind"]: row for row in manifest["skipped"]}
    assert kinds["unreadable_image"]["file"] == "images/train/0000.png"
    assert "class 7" in kinds["class_out_of_range"]["reason"] and kinds["no_labels"]["file"] == "images/val/0002.png"
    assert sum(manifest["splits"].values()) == 10  # the corrupt image alone is left out
    assert manifest["splits"]["val"] == 3 and manifest["splits"]["test"] >= 1  # test carved from train
    assert any(line.startswith("box_clipped: 1") for line in manifest["warnings"])
    out = tmp_path / "dataset"
    boxes, offsets = np.load(out / "val_boxes.npy"), np.load(out / "val_offsets.npy")
    names = (out / "val_files.txt").read_text().splitlines()
    background = names.index("images/val/0002.png")
    assert offsets[background + 1] == offsets[background]  # kept, with no boxes
    assert (boxes >= 0).all() and (boxes <= 32).all()


def test_yolo_boxes_are_scaled_to_the_model_input(tmp_path):
    path = shapes.write_yolo(tmp_path / "yolo", splits={"train": 3})
    first = (path.parent / "labels" / "train" / "0000.txt").read_text().splitlines()[0].split()
    manifest = build(readers.read_source(path.parent), tmp_path)  # a folder holding data.yaml works too
    out = tmp_path / "dataset"
    files = {split: (out / f"{split}_files.txt").read_text().splitlines() for split in manifest["splits"]}
    split = next(s for s, names in files.items() if "images/train/0000.png" in names)
    i = files[split].index("images/train/0000.png")
    offsets, boxes = np.load(out / f"{split}_offsets.npy"), np.load(out / f"{split}_boxes.npy")
    cx, cy, w, h = (float(v) for v in first[1:])
    want = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * 32
    assert np.allclose(boxes[offsets[i]], want, atol=1e-3)


def test_coco_reader_maps_any_category_ids_and_reports_problems(tmp_path):
    path = shapes.write_coco(tmp_path / "coco", count=6, first_id=11)
    data = json.loads(path.read_text())
    first = data["annotations"][0]
    data["annotations"] += [
        {**first, "id": 900, "category_id": 99},  # unknown category
        {**first, "id": 901, "iscrowd": 1},  # crowd: left out, not a problem
        {**first, "id": 902, "bbox": [W - 5, 2, 20, 10]},  # past the right edge
        {**first, "id": 903, "bbox": [3, 3, 10, 0]},  # flat
    ]
    path.write_text(json.dumps(data))
    (path.parent / "images" / "0003.png").write_bytes(b"not an image at all")
    source = readers.read_source(path)
    assert source.classes == list(shapes.CLASSES) and source.layout == "coco"
    assert int(source.records[0].labels[0]) == first["category_id"] - 11
    assert any("crowd" in note for note in source.notes)
    manifest = build(source, tmp_path)
    assert manifest["problems"] == {"class_out_of_range": 1, "unreadable_image": 1, "box_clipped": 1, "box_dropped": 1}
    assert sum(manifest["splits"].values()) == 5 and manifest["layout"] == "coco"


def _voc_folder(root: Path, count: int) -> Path:
    from PIL import Image

    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for name, pixels, boxes, labels in shapes.scenes(count):
        Image.fromarray(pixels).save(root / "JPEGImages" / f"{name}.png")
        objects = "".join(
            f"<object><name>{shapes.CLASSES[c]}</name><bndbox><xmin>{b[0]:.1f}</xmin><ymin>{b[1]:.1f}</ymin>"
            f"<xmax>{b[2]:.1f}</xmax><ymax>{b[3]:.1f}</ymax></bndbox></object>"
            for b, c in zip(boxes, labels)
        )
        xml = f"<annotation><filename>{name}.png</filename>{objects}</annotation>"
        (root / "Annotations" / f"{name}.xml").write_text(xml)
    (root / "Annotations" / "broken.xml").write_text("<annotation><object>")
    return root


def test_voc_reader_reads_boxes_and_reports_a_broken_file(tmp_path):
    root = _voc_folder(tmp_path / "voc", 5)
    source = readers.read_source(root)
    assert source.layout == "voc" and source.classes == sorted({*shapes.CLASSES} & set(source.classes))
    (_, _, boxes, _), *_ = shapes.scenes(1)
    assert np.allclose(source.records[0].boxes, boxes, atol=0.06)
    assert [p["kind"] for p in source.problems] == ["bad_label"]
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "val.txt").write_text("0003\n0004\n")
    split = {r.name: r.split for r in readers.read_source(root).records}
    assert split["0003.png"] == split["0004.png"] == "val" and split["0000.png"] is None
    only = readers.read_source(root, classes=["circle"])
    assert only.classes == ["circle"] and any(p["kind"] == "class_out_of_range" for p in only.problems)


def test_unusable_sources_are_config_errors(tmp_path):
    (tmp_path / "bad.yaml").write_text("names: [a]\n")
    with pytest.raises(ConfigError, match="train"):
        readers.read_source(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="COCO"):
        readers.read_source(tmp_path / "bad.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="VOC"):
        readers.read_source(tmp_path / "empty")
    path = shapes.write_yolo(tmp_path / "yolo", splits={"train": 2})
    with pytest.raises(ConfigError, match="data.classes names 2 classes"):
        readers.read_source(path, classes=["a", "b"])


def test_identical_images_across_splits_are_counted(tmp_path):
    path = shapes.write_yolo(tmp_path / "yolo", splits={"train": 4, "val": 2})
    root = path.parent
    (root / "images" / "val" / "0001.png").write_bytes((root / "images" / "train" / "0001.png").read_bytes())
    manifest = build(readers.read_source(path), tmp_path)
    assert manifest["duplicates"] == {"cross_split_groups": 1}


def test_strict_preprocess_fails_on_a_data_problem_and_bad_settings_are_usage_errors(cli, tmp_path):
    path = shapes.write_yolo(tmp_path / "yolo", splits={"train": 6, "val": 2})
    (path.parent / "labels" / "train" / "0003.txt").unlink()
    strict = cli("preprocess", "image-det", f"data.path={path}", "data.image_size=32", "--strict", expect=1)
    assert "no label file" in strict.stderr and "Traceback" not in strict.stderr
    size = cli("preprocess", "image-det", f"data.path={path}", "data.image_size=30", expect=2)
    assert "multiple of 16" in size.stderr
    missing = cli("preprocess", "image-det", f"data.path={tmp_path / 'nowhere.yaml'}", expect=2)
    assert "does not exist" in missing.stderr


def test_images_are_memory_mapped_and_batch_like_in_memory_arrays(tmp_path):
    from aiaas_recipes.image_det.datamodule import BoxDataset, load_split

    rng = np.random.default_rng(0)
    np.save(tmp_path / "train_x.npy", rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8))
    np.save(tmp_path / "train_boxes.npy", rng.uniform(0, 8, (7, 4)).astype(np.float32))
    np.save(tmp_path / "train_labels.npy", rng.integers(0, 3, 7))
    np.save(tmp_path / "train_offsets.npy", np.array([0, 2, 2, 5, 6, 7]))
    images, boxes, labels = load_split(tmp_path, "train")
    assert isinstance(images, np.memmap) and [len(b) for b in boxes] == [2, 0, 3, 1, 1]
    mapped = BoxDataset(images, boxes, labels, [0.5] * 3, [0.25] * 3).__getitems__([3, 0, 4])
    loaded = BoxDataset(np.array(images), boxes, labels, [0.5] * 3, [0.25] * 3).__getitems__([3, 0, 4])
    assert mapped[0].equal(loaded[0]) and all(a.equal(b) for a, b in zip(mapped[1], loaded[1]))
