"""Read the box layouts people already have into one list of records: YOLO data.yaml, COCO json, Pascal VOC xml.

Readers only parse: a label that cannot be used is reported as a problem ({"file", "kind", "reason"}) and left out;
images are decoded and boxes checked against them later (dataset.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aiaas_cli.errors import ConfigError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@dataclass
class Record:
    name: str  # shown in reports and predict output: the image's path relative to the dataset root
    image: Path
    boxes: np.ndarray  # (K, 4) x1, y1, x2, y2; fractions of the image's size when ``normalized``
    labels: np.ndarray  # (K,) class indices into the source's classes
    split: str | None = None  # given by the layout; None: the seeded split decides
    normalized: bool = False


@dataclass
class Source:
    root: Path
    layout: str
    classes: list[str]
    records: list[Record]
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def problem(file: str, kind: str, reason: str) -> dict:
    return {"file": file, "kind": kind, "reason": reason}


def _boxes(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 4)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


# --- YOLO / Ultralytics ------------------------------------------------------------------------------------------
def _yolo_names(config: dict, path: Path) -> list[str]:
    names = config.get("names")
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names, key=int)]
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    raise ConfigError(f"{path} has no 'names' (a list of class names, or {{id: name}})")


def _yolo_images(base: Path, entry, path: Path) -> list[Path]:
    """The images of one split entry: a folder, a .txt list of image paths, or a list of either."""
    files: list[Path] = []
    for item in entry if isinstance(entry, list) else [entry]:
        where = (base / str(item)).resolve()
        if where.is_dir():
            files += _images_in(where)
        elif where.suffix == ".txt" and where.is_file():
            lines = [line.strip() for line in where.read_text().splitlines() if line.strip()]
            files += [(base / line).resolve() for line in lines]
        else:
            raise ConfigError(f"{path}: split folder {where} does not exist", "paths are relative to its 'path' key")
    return files


def _yolo_label_file(image: Path) -> Path:
    """Ultralytics' rule: the last images/ folder of the path becomes labels/, the suffix .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _yolo_row(values: list[str], n_classes: int) -> tuple[int, list[float]]:
    """(class, normalised box) of a label line; a polygon (segment) line gives its bounding box. ValueError: why not."""
    if len(values) < 5 or (len(values) > 5 and len(values) % 2 == 0):
        raise ValueError(f"expected 'class cx cy w h', got {len(values)} values")
    label, numbers = int(float(values[0])), [float(v) for v in values[1:]]
    if len(numbers) == 4:
        cx, cy, w, h = numbers
        box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    else:
        xy = np.asarray(numbers).reshape(-1, 2)
        box = [*xy.min(0).tolist(), *xy.max(0).tolist()]
    return label, box


def _yolo_labels(image: Path, name: str, n_classes: int, problems: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    label_file = _yolo_label_file(image)
    if not label_file.is_file():
        problems.append(problem(name, "no_labels", "no label file: kept as a background image"))
        return _boxes([]), np.zeros(0, np.int64)
    boxes, labels = [], []
    for number, line in enumerate(label_file.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            label, box = _yolo_row(line.split(), n_classes)
        except ValueError as exc:
            problems.append(problem(name, "bad_label", f"line {number}: {exc}"))
            continue
        if not 0 <= label < n_classes:
            problems.append(
                problem(name, "class_out_of_range", f"line {number}: class {label} is not in 0..{n_classes - 1}")
            )
            continue
        boxes.append(box)
        labels.append(label)
    return _boxes(boxes), np.asarray(labels, np.int64)


def read_yolo(path: Path) -> Source:
    import yaml

    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(config, dict) or "train" not in config:
        raise ConfigError(f"{path} needs 'train' (and 'val') image folders and 'names'", "see Ultralytics' data.yaml")
    base = (path.parent / str(config.get("path") or ".")).resolve()
    classes = _yolo_names(config, path)
    records, problems = [], []
    for key in ("train", "val", "test"):
        if not config.get(key):
            continue
        for image in _yolo_images(base, config[key], path):
            name = str(image.relative_to(base)) if image.is_relative_to(base) else str(image)
            boxes, labels = _yolo_labels(image, name, len(classes), problems)
            records.append(Record(name, image, boxes, labels, split=key, normalized=True))
    return Source(base, "yolo", classes, records, problems)


# --- COCO ----------------------------------------------------------------------------------------------------------
def _coco_image_dir(path: Path, config_dir: str | None) -> Path:
    if config_dir:
        return Path(config_dir).expanduser().resolve()
    return path.parent / "images" if (path.parent / "images").is_dir() else path.parent


def read_coco(path: Path, image_dir: str | None = None) -> Source:
    try:
        data = json.loads(path.read_text())
        categories = sorted(data["categories"], key=lambda c: c["id"])
        images = data["images"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a COCO annotation file ({exc})", "it needs images, annotations, categories"
        ) from None
    index = {c["id"]: i for i, c in enumerate(categories)}  # any ids (1-based, sparse) -> 0..C-1
    folder = _coco_image_dir(path, image_dir)
    by_image: dict = {img["id"]: ([], []) for img in images}
    problems, crowd = [], 0
    names = {img["id"]: img["file_name"] for img in images}
    for ann in data.get("annotations", []):
        where = names.get(ann.get("image_id"), f"image_id {ann.get('image_id')}")
        if ann.get("image_id") not in by_image:
            problems.append(problem(where, "unknown_image", f"annotation {ann.get('id')} names an image not listed"))
        elif ann.get("iscrowd"):
            crowd += 1  # a crowd region is neither a target nor a false positive in COCO's own evaluation
        elif ann.get("category_id") not in index:
            problems.append(
                problem(where, "class_out_of_range", f"category_id {ann.get('category_id')} is not in categories")
            )
        else:
            x, y, w, h = (float(v) for v in ann["bbox"])
            by_image[ann["image_id"]][0].append([x, y, x + w, y + h])
            by_image[ann["image_id"]][1].append(index[ann["category_id"]])
    records = [
        Record(img["file_name"], folder / img["file_name"], _boxes(by_image[img["id"]][0]),
               np.asarray(by_image[img["id"]][1], np.int64))
        for img in images
    ]  # fmt: skip
    notes = [f"{crowd} crowd annotation(s) (iscrowd=1) left out, as COCO's evaluation does"] if crowd else []
    return Source(folder, "coco", [str(c["name"]) for c in categories], records, problems, notes)


# --- Pascal VOC ----------------------------------------------------------------------------------------------------
def _voc_objects(xml: Path) -> tuple[str | None, list[tuple[str, list[float]]]]:
    import xml.etree.ElementTree as ET

    root = ET.parse(xml).getroot()
    found = []
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        coords = [float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
        found.append((obj.findtext("name", "").strip(), coords))
    return root.findtext("filename"), found


def _voc_splits(root: Path) -> dict[str, str]:
    sets, split_of = root / "ImageSets" / "Main", {}
    for name, split in SPLIT_NAMES.items():
        listed = sets / f"{name}.txt"
        if listed.is_file():
            split_of.update({line.split()[0]: split for line in listed.read_text().splitlines() if line.strip()})
    return split_of


def read_voc(root: Path, classes: list[str] | None = None) -> Source:
    """Annotations/*.xml with JPEGImages/ (or the images beside the xml files); ImageSets/Main/*.txt splits."""
    import xml.etree.ElementTree as ET

    xml_dir = root / "Annotations" if (root / "Annotations").is_dir() else root
    image_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else xml_dir
    files = sorted(xml_dir.glob("*.xml"))
    if not files:
        raise ConfigError(
            f"no Pascal VOC .xml files in {xml_dir}", "data.path takes a data.yaml, a COCO .json or a VOC folder"
        )
    parsed, problems = {}, []
    for xml in files:
        try:
            parsed[xml] = _voc_objects(xml)
        except (ET.ParseError, TypeError, ValueError) as exc:
            problems.append(problem(xml.name, "bad_label", f"cannot read the annotation: {exc}"))
    names = list(classes) if classes else sorted({n for _, objs in parsed.values() for n, _ in objs})
    index, split_of, records = {n: i for i, n in enumerate(names)}, _voc_splits(root), []
    for xml, (filename, objects) in parsed.items():
        image = image_dir / (filename or xml.with_suffix(".jpg").name)
        boxes = [coords for n, coords in objects if n in index]
        for n, _ in objects:
            if n not in index:
                problems.append(problem(image.name, "class_out_of_range", f"class '{n}' is not in data.classes"))
        labels = np.asarray([index[n] for n, _ in objects if n in index], np.int64)
        records.append(Record(image.name, image, _boxes(boxes), labels, split=split_of.get(xml.stem)))
    return Source(root, "voc", names, records, problems)


def read_source(path: Path, classes: list[str] | None = None, image_dir: str | None = None) -> Source:
    """The reader ``path`` calls for: a .yaml is YOLO's data.yaml, a .json COCO's, a folder Pascal VOC (or a
    folder holding a data.yaml or annotations.json)."""
    if path.is_dir():
        for inner in ("data.yaml", "data.yml", "annotations.json"):
            if (path / inner).is_file():
                return read_source(path / inner, classes, image_dir)
        source = read_voc(path, classes)
    elif path.suffix in (".yaml", ".yml"):
        source = read_yolo(path)
    elif path.suffix == ".json":
        source = read_coco(path, image_dir)
    else:
        raise ConfigError(f"data.path={path} is not a data.yaml, a COCO .json or a folder")
    if classes and source.layout != "voc":
        if len(classes) != len(source.classes):
            raise ConfigError(f"data.classes names {len(classes)} classes, {path} has {len(source.classes)}")
        source.classes = [str(c) for c in classes]  # new names only: the layout's ids stay
    return source
