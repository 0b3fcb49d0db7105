"""Dataset cache keys: an edited, added or removed input file changes the key; hidden files and moving the folder
do not."""

from __future__ import annotations

import os
import shutil

from aiaas_recipes.common.fingerprint import files_digest


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
