"""scan: which files count as the dataset, the split layouts, and the layout mistakes caught early."""

from __future__ import annotations

import pytest
from imagefiles import image_bytes, write, write_dataset

from aiaas_cli.errors import USAGE, ConfigError
from aiaas_recipes.common.vision.folders import scan


def files_of(layout) -> set[str]:
    return {item.path for item in layout.items}


def test_class_folders(tmp_path):
    layout = scan(write_dataset(tmp_path / "images", {"dog": 2, "cat": 3}))
    assert layout.classes == ["cat", "dog"] and not layout.presplit
    assert sorted(item.label for item in layout.items) == ["cat"] * 3 + ["dog"] * 2
    assert all(item.split is None for item in layout.items)


def test_nested_images_belong_to_their_class_folder(tmp_path):
    root = write_dataset(tmp_path / "images", {"cat": 1, "dog": 1})
    write(root / "cat" / "2024" / "summer" / "deep.png", image_bytes())
    layout = scan(root)
    assert "cat/2024/summer/deep.png" in files_of(layout)
    assert {i.label for i in layout.items if i.path.startswith("cat/")} == {"cat"}


def test_hidden_and_junk_files_and_folders_are_ignored(tmp_path):
    root = write_dataset(tmp_path / "images", {"cat": 2, "dog": 2})
    for junk in [
        "cat/.DS_Store",
        "cat/._img0.png",  # AppleDouble companion
        "cat/.ipynb_checkpoints/img0-checkpoint.png",
        "dog/Thumbs.db",
        ".ipynb_checkpoints/cat/x.png",
        "__MACOSX/dog/._img0.png",
        ".git/objects/ab.png",
    ]:
        write(root / junk, image_bytes())
    layout = scan(root)
    assert layout.classes == ["cat", "dog"]
    assert all(not any(part.startswith(".") for part in p.split("/")) for p in files_of(layout))
    assert len(layout.items) == 4


def test_class_names_differing_only_by_case_are_an_error(tmp_path):
    root = write_dataset(tmp_path / "images", {"Cat": 1, "cat": 1, "dog": 1})
    with pytest.raises(ConfigError, match="'Cat' and 'cat'.*differ only by case") as caught:
        scan(root)
    assert caught.value.exit_code == USAGE


@pytest.mark.parametrize("val_name", ["val", "valid", "validation", "VAL"])
def test_presplit_train_val_test_is_used_as_given(tmp_path, val_name):
    root = tmp_path / "split"
    write_dataset(root / "train", {"cat": 3, "dog": 3})
    write_dataset(root / val_name, {"cat": 1, "dog": 1}, seed=50)
    write_dataset(root / "test", {"cat": 1, "dog": 2}, seed=90)
    layout = scan(root)
    assert layout.presplit and layout.classes == ["cat", "dog"]
    per_split = {s: sum(i.split == s for i in layout.items) for s in ("train", "val", "test")}
    assert per_split == {"train": 6, "val": 2, "test": 3}


def test_presplit_with_only_train(tmp_path):
    write_dataset(tmp_path / "split" / "train", {"cat": 2, "dog": 2})
    layout = scan(tmp_path / "split")
    assert layout.presplit and {i.split for i in layout.items} == {"train"}


def test_presplit_without_train_is_an_error(tmp_path):
    root = tmp_path / "split"
    write_dataset(root / "val", {"cat": 1, "dog": 1})
    write_dataset(root / "test", {"cat": 1, "dog": 1})
    with pytest.raises(ConfigError, match="is split into test, val but has no train/ folder"):
        scan(root)


def test_presplit_class_sets_that_differ_are_named(tmp_path):
    root = tmp_path / "split"
    write_dataset(root / "train", {"cat": 1, "dog": 1, "owl": 1})
    write_dataset(root / "valid", {"cat": 1, "dog": 1, "emu": 1})
    with pytest.raises(ConfigError) as caught:
        scan(root)
    message = caught.value.one_line()
    assert "train/ and valid/" in message and "missing ['owl']" in message and "extra ['emu']" in message


def test_two_folders_for_one_split_are_an_error(tmp_path):
    root = tmp_path / "split"
    for split in ("train", "val", "valid"):
        write_dataset(root / split, {"cat": 1, "dog": 1})
    with pytest.raises(ConfigError, match="'val' and 'valid'.*both a val split"):
        scan(root)


def test_split_folders_mixed_with_other_folders_are_an_error(tmp_path):
    root = tmp_path / "split"
    for split in ("train", "val"):
        write_dataset(root / split, {"cat": 1, "dog": 1})
    write(root / "notebooks" / "plot.png", image_bytes())
    with pytest.raises(ConfigError, match=r"mixes split folders \(train, val\) with other folders \(notebooks\)"):
        scan(root)


def test_a_class_named_like_a_split_next_to_other_classes_is_a_class(tmp_path):
    layout = scan(write_dataset(tmp_path / "images", {"valid": 2, "invalid": 2}))
    assert not layout.presplit and layout.classes == ["invalid", "valid"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: write(root, "x"), "is not a directory"),
        (lambda root: root.mkdir(), "is empty"),
        (lambda root: write(root / ".DS_Store", "x"), "is empty"),
        (lambda root: write(root / "a.png", image_bytes()), "has no class folders"),
        (lambda root: write(root / "cat" / "a.png", image_bytes()), r"has a single class \(cat\)"),
        (lambda root: write(root / "train" / "cat" / "a.png", image_bytes()), r"has a single class \(cat\)"),
    ],
    ids=["missing", "file", "empty", "only-hidden", "loose-files", "single-class", "presplit-single-class"],
)
def test_unusable_roots_are_config_errors(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ConfigError, match=message) as caught:
        scan(root)
    assert caught.value.exit_code == USAGE and str(root) in caught.value.one_line()
