"""A user's own folder of images through `aiaas preprocess image-cls`: arrays, manifest, splits, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from imagefiles import noise_bytes, write, write_broken, write_class, write_dataset

from aiaas_recipes.common.vision.folders import scan
from aiaas_recipes.common.vision.imagefiles import channel_stats, decode_all
from aiaas_recipes.image_cls.dataset import split_by_class

CLASSES = ["bird", "cat", "dog"]


def preprocess(cli, root: Path, *overrides: str, expect: int = 0):
    return cli("preprocess", "image-cls", f"data.root={root}", *overrides, expect=expect)


def payload(result) -> dict:
    return json.loads(result.stdout)


def load(dataset_dir: str) -> tuple[dict, dict]:
    """The manifest and every array of a dataset dir."""
    folder = Path(dataset_dir)
    arrays = {p.stem: np.load(p) for p in folder.glob("*.npy")}
    return json.loads((folder / "manifest.json").read_text()), arrays


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_clean_failure(result, home: Path) -> str:
    """One error line, no traceback, nothing half-written; returns the line."""
    assert "Traceback" not in result.stdout + result.stderr
    assert len(error_lines(result)) == 1
    datasets = home / "datasets"
    assert not datasets.exists() or not [p.name for p in datasets.iterdir() if ".tmp-" in p.name]
    return error_lines(result)[0]


@pytest.fixture(scope="module")
def user_images(tmp_path_factory) -> Path:
    """30 images of 3 classes in six formats and five sizes, five broken files, and some junk."""
    root = tmp_path_factory.mktemp("photos")
    for offset, name in enumerate(CLASSES):
        write_class(root / name, 10, seed=100 * offset)
    broken = write_broken(root / "cat")
    write(root / "dog" / ".DS_Store", b"\0\0\0\1Bud1")
    write(root / ".ipynb_checkpoints" / "bird" / "x.png", noise_bytes("png", (8, 8), 5))
    return root, [str(p.relative_to(root)) for p in broken]


@pytest.fixture(scope="module")
def prepared(cli, user_images, session_home):
    root, _ = user_images
    result = preprocess(cli, root, "--json")
    return payload(result), result.stderr


def test_summary_counts_classes_splits_and_skipped(prepared):
    summary, _ = prepared
    assert summary["classes"] == CLASSES and summary["cached"] is False
    assert summary["skipped"] == 5
    # 15% of 10 rounds to 2 (round half to even) for val and for test, per class.
    assert summary["split_sizes"] == {"train": 18, "val": 6, "test": 6}


def test_broken_files_are_listed_with_reasons_and_warned_about(prepared, user_images):
    summary, stderr = prepared
    manifest, _ = load(summary["dataset_dir"])
    _, broken = user_images
    assert sorted(s["file"] for s in manifest["skipped"]) == sorted(broken)
    reasons = {s["file"].split("/")[-1]: s["reason"] for s in manifest["skipped"]}
    assert reasons["empty.jpg"] == "empty file"
    assert reasons["notes.txt"].startswith("not an image")
    assert reasons["truncated.jpg"].startswith("unreadable image")
    assert "warning: skipped 5 unreadable file(s)" in stderr and "Traceback" not in stderr


def test_manifest_records_split_counts_stats_and_fingerprint(prepared, user_images):
    summary, _ = prepared
    manifest, _ = load(summary["dataset_dir"])
    assert manifest["counts"] == {s: {c: n for c in CLASSES} for s, n in [("train", 6), ("val", 2), ("test", 2)]}
    assert manifest["image_size"] == 32 and manifest["presplit"] is False
    assert manifest["source"] == str(user_images[0].resolve())
    assert len(manifest["fingerprint"]) == 64
    assert manifest["duplicates"]["duplicate_groups"] == 0


def test_arrays_are_uint8_images_with_matching_labels(prepared):
    summary, _ = prepared
    manifest, arrays = load(summary["dataset_dir"])
    for split, size in summary["split_sizes"].items():
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        assert x.dtype == np.uint8 and x.shape == (size, 32, 32, 3)
        assert y.shape == (size,) and set(y.tolist()) == {0, 1, 2}
        files = (Path(summary["dataset_dir"]) / f"{split}_files.txt").read_text().splitlines()
        assert [CLASSES.index(f.split("/")[0]) for f in files] == y.tolist()
    every = sum(
        ((Path(summary["dataset_dir"]) / f"{s}_files.txt").read_text().splitlines() for s in manifest["counts"]), []
    )
    assert len(every) == len(set(every)) == 30 and not any("/." in f or f.startswith(".") for f in every)


def test_normalisation_stats_are_those_of_the_train_images(prepared):
    summary, _ = prepared
    manifest, arrays = load(summary["dataset_dir"])
    pixels = arrays["train_x"].reshape(-1, 3) / 255.0
    assert np.allclose(manifest["mean"], pixels.mean(axis=0), atol=1e-5)
    assert np.allclose(manifest["std"], pixels.std(axis=0), atol=1e-5)
    # Uniform noise: mean about 0.5, std about 0.29 (JPEG/WebP/GIF smooth it a little).
    assert all(0.4 < m < 0.6 for m in manifest["mean"]) and all(0.15 < s < 0.35 for s in manifest["std"])


def test_split_is_reproducible_with_a_seed_and_changes_with_it(cli, user_images):
    root, _ = user_images

    def train_files(seed: int) -> str:
        dataset_dir = Path(payload(preprocess(cli, root, f"data.split.seed={seed}", "--json"))["dataset_dir"])
        files = (dataset_dir / "train_files.txt").read_text()
        shutil.rmtree(dataset_dir)  # force a rebuild next time, not a cache hit
        return files

    first = train_files(7)
    assert train_files(7) == first
    assert train_files(8) != first


def test_a_class_with_only_broken_files_is_named(cli, tmp_path, session_home):
    root = write_dataset(tmp_path / "images", {"cat": 3, "dog": 3})
    write_broken(root / "zebra")
    result = preprocess(cli, root, expect=2)
    line = assert_clean_failure(result, session_home)
    assert "class folder(s) with no readable images: zebra" in line


def presplit(root: Path, sizes: dict[str, int]) -> Path:
    for offset, (split, count) in enumerate(sizes.items()):
        write_dataset(root / split, {"cat": count, "dog": count}, seed=10_000 * offset)
    return root


def test_presplit_folder_is_used_as_given(cli, tmp_path):
    root = presplit(tmp_path / "split", {"train": 4, "valid": 2, "test": 3})
    summary = payload(preprocess(cli, root, "--json"))
    manifest, _ = load(summary["dataset_dir"])
    assert manifest["presplit"] is True and summary["split_sizes"] == {"train": 8, "val": 4, "test": 6}
    val_files = (Path(summary["dataset_dir"]) / "val_files.txt").read_text().split()
    assert all(f.startswith("valid/") for f in val_files)


def test_presplit_without_val_and_test_carves_them_from_train(cli, tmp_path):
    root = presplit(tmp_path / "split", {"train": 10})
    result = preprocess(cli, root, "--json")
    assert payload(result)["split_sizes"] == {"train": 12, "val": 4, "test": 4}
    assert "no val or test split: taking it from train" in result.stderr


def test_duplicates_across_splits_are_reported(cli, tmp_path):
    root = presplit(tmp_path / "split", {"train": 3, "val": 2, "test": 2})
    shutil.copy(root / "train" / "cat" / "img0.png", root / "test" / "cat" / "copy.png")
    shutil.copy(root / "train" / "dog" / "img1.jpg", root / "train" / "dog" / "same.jpg")  # same split: harmless
    result = preprocess(cli, root, "--json")
    manifest, _ = load(payload(result)["dataset_dir"])
    assert manifest["duplicates"]["duplicate_groups"] == 2
    assert manifest["duplicates"]["cross_split_groups"] == 1
    assert sorted(manifest["duplicates"]["cross_split_examples"][0]) == ["test/cat/copy.png", "train/cat/img0.png"]
    assert "1 identical input(s) appear in more than one split" in result.stderr


def test_presplit_class_without_readable_train_images_is_named(cli, tmp_path, session_home):
    root = presplit(tmp_path / "split", {"train": 2, "val": 2})
    for image in (root / "train" / "dog").iterdir():
        image.write_bytes(b"")
    line = assert_clean_failure(preprocess(cli, root, expect=2), session_home)
    assert "no readable images in train/: dog" in line


def test_presplit_with_different_classes_names_them(cli, tmp_path, session_home):
    root = presplit(tmp_path / "split", {"train": 2, "val": 1})
    write_class(root / "val" / "emu", 1)
    line = assert_clean_failure(preprocess(cli, root, expect=2), session_home)
    assert "missing none, extra ['emu']" in line


def test_parallel_decoding_gives_the_same_arrays(tmp_path):
    # Enough files to cross the serial threshold, so a process pool really runs.
    for i in range(300):
        write(tmp_path / ("cat" if i % 2 else "dog") / f"{i}.png", noise_bytes("png", (6, 6), i))
    write(tmp_path / "cat" / "bad.png", b"oops")
    layout = scan(tmp_path)
    serial, parallel = decode_all(layout, 4, workers=1), decode_all(layout, 4, workers=2)
    assert [r[1:] for r in serial] == [r[1:] for r in parallel]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(serial, parallel) if a[0] is not None)
    assert sum(r[0] is None for r in parallel) == 1


def test_split_by_class_is_stratified_seeded_and_keeps_a_train_image():
    labels = np.repeat([0, 1, 2], [20, 7, 1])
    parts = split_by_class(labels, 0.2, 0.3, seed=3)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(len(labels)))
    per_class = {s: np.bincount(labels[idx], minlength=3).tolist() for s, idx in parts.items()}
    assert per_class == {"train": [10, 4, 1], "val": [4, 1, 0], "test": [6, 2, 0]}
    again = split_by_class(labels, 0.2, 0.3, seed=3)
    assert all(np.array_equal(parts[s], again[s]) for s in parts)
    assert not np.array_equal(parts["test"], split_by_class(labels, 0.2, 0.3, seed=4)["test"])


def test_channel_stats_match_numpy_across_chunks():
    images = np.random.default_rng(0).integers(0, 256, (1100, 3, 2, 3), dtype=np.uint8)
    mean, std = channel_stats(images)
    pixels = images.reshape(-1, 3) / 255.0
    assert np.allclose(mean, pixels.mean(axis=0), atol=1e-6) and np.allclose(std, pixels.std(axis=0), atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.image_size=0"], "data.image_size=0 is not a positive number of pixels"),
        (["data.split.val=-0.1"], "must be fractions in [0, 1)"),
        (["data.split.val=0.5", "data.split.test=0.5"], "sum to less than 1"),
    ],
    ids=["zero-size", "negative-fraction", "no-room-for-train"],
)
def test_impossible_settings_are_config_errors(cli, tmp_path, session_home, overrides, message):
    result = preprocess(cli, write_dataset(tmp_path / "images", {"cat": 2, "dog": 2}), *overrides, expect=2)
    assert message in assert_clean_failure(result, session_home)
