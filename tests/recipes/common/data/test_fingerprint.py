"""Dataset cache keys: an edited, added or removed input file changes the key; hidden files and moving the folder
do not."""

from __future__ import annotations

import os
import shutil

import pytest
from omegaconf import OmegaConf

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.data.fingerprint import (
    all_files,
    data_settings,
    digest,
    files_digest,
    input_table,
    listing_digest,
)


def test_the_key_follows_the_visible_files(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.txt").write_text("one")
    (root / ".ipynb_checkpoints").mkdir()
    first = files_digest(root)
    (root / ".ipynb_checkpoints" / "one.txt").write_text("scratch")
    (root / ".DS_Store").write_bytes(b"\0")
    assert files_digest(root) == first  # hidden files are not data
    moved = tmp_path / "moved"
    shutil.copytree(root, moved)
    os.utime(moved / "a" / "one.txt", ns=(0, (root / "a" / "one.txt").stat().st_mtime_ns))
    assert files_digest(moved) == first  # names are relative to the folder
    (root / "a" / "two.txt").write_text("two")
    added = files_digest(root)
    assert added != first
    (root / "a" / "two.txt").write_text("2")
    assert files_digest(root) != added  # another size
    assert files_digest(root, "*.csv") != added and files_digest(None, none="generated") == "generated"


def test_a_listing_follows_its_texts_and_its_files(tmp_path):
    clip = tmp_path / "a.wav"
    clip.write_bytes(b"1")
    first = listing_digest([(clip, "a.wav\0dog")])
    assert listing_digest([(clip, "a.wav\0dog")]) == first
    assert listing_digest([(clip, "a.wav\0cat")]) != first  # another label
    clip.write_bytes(b"12")
    assert listing_digest([(clip, "a.wav\0dog")]) != first  # another size
    assert listing_digest([(tmp_path / "gone.wav", "gone.wav")]) != listing_digest([])  # a missing file counts


def test_hidden_files_count_where_the_reader_reads_them(tmp_path):
    (tmp_path / ".cache").mkdir()
    (tmp_path / "one.txt").write_text("one")
    visible, everything = files_digest(tmp_path), files_digest(tmp_path, listing=all_files)
    (tmp_path / ".cache" / "img.jpg").write_bytes(b"x")
    assert files_digest(tmp_path) == visible
    assert files_digest(tmp_path, listing=all_files) != everything


def test_a_table_file_is_named_in_full(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n")
    key = files_digest(table)
    assert files_digest(input_table(OmegaConf.create({"path": str(table)}))) == key
    assert input_table(OmegaConf.create({"path": None})) is None
    moved = tmp_path / "u.csv"
    shutil.copy2(table, moved)
    assert files_digest(moved) != key  # another file, even with the same content
    with pytest.raises(ConfigError, match="is not a file"):
        input_table(OmegaConf.create({"path": str(tmp_path)}))


def test_the_key_ignores_the_order_of_settings():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1}) != digest({"a": 2, "b": [1, 2]})
    settings = data_settings(OmegaConf.create({"size": 32, "batch_size": 8}), ("batch_size",))
    assert settings == {"size": 32}
