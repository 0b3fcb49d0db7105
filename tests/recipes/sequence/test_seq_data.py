"""seq-cls preprocessing: the built-in signals, class folders and long tables with their own problems."""

from __future__ import annotations

import json

import numpy as np
import pytest
from omegaconf import OmegaConf
from seqfiles import class_folders, long_table

from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import bundled_conf_dir
from aiaas_recipes.sequence.classify import builtin, dataset
from aiaas_recipes.sequence.classify.read import read_folder, read_long_table
from aiaas_recipes.sequence.values import fill_missing


def data_cfg(**overrides):
    cfg = OmegaConf.load(bundled_conf_dir() / "data" / "sequences.yaml")
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def test_builtin_pairs_differ_only_in_order():
    first, classes, labels = builtin.generate(300, 8, 12, 0.3, seed=1)
    again, _, _ = builtin.generate(300, 8, 12, 0.3, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # deterministic
    assert classes[0] == "bump_a_then_b" and classes[1] == "bump_b_then_a"
    means = {c: np.mean([np.sort(s, 0).mean(0) for s, y in zip(first, labels) if y == c], 0) for c in range(6)}
    for pair in ((0, 1), (2, 3), (4, 5)):  # order-free statistics match within a pair
        assert np.allclose(means[pair[0]], means[pair[1]], atol=0.15)


def test_fill_missing_uses_neighbours_of_the_same_feature():
    values = np.array([[np.nan, 1.0], [2.0, np.inf], [np.nan, 3.0], [4.0, np.nan]])
    filled, count = fill_missing(values)
    assert count == 4
    assert filled.tolist() == [[2.0, 1.0], [2.0, 1.0], [2.0, 3.0], [4.0, 3.0]]


def test_class_folders_with_ragged_files_and_broken_ones(tmp_path):
    found = read_folder(class_folders(tmp_path / "seqs"), time_column=None)
    assert found.features == ["gy", "ax"] or found.features == ["ax", "gy"]
    assert len(found.values) == 12 and {len(v) for v in found.values} != {len(found.values[0])}  # ragged
    reasons = {item["file"]: item["reason"] for item in found.skipped}
    assert set(reasons) == {"up/notes.txt", "up/broken.npy", "down/words.csv", "down/wide.npy", "down/three.npy"}
    assert "3 feature(s)" in reasons["down/three.npy"] and "numeric" in reasons["down/words.csv"]
    assert any("not numbers" in line for line in found.warnings)  # the stray "oops"
    up = found.values[found.where.index("up/s1.csv")]
    ax = found.features.index("ax")
    assert np.all(np.diff(up[:, ax]) > -0.3)  # rows put back in time order: "up" climbs


def test_long_table_groups_runs_in_time_order(tmp_path):
    found = read_long_table(long_table(tmp_path / "runs.csv"), data_cfg())
    assert found.features == ["ax", "gy"]
    assert any("site" in line for line in found.warnings)  # a text column is not a feature
    reasons = [item["reason"] for item in found.skipped]
    assert any("label changes" in r for r in reasons) and any("no run" in r for r in reasons)
    assert len(found.values) == 16 and set(found.labels) == {"up", "down"}
    assert np.isnan(found.values[3]).sum() == 1  # kept as missing, filled when the dataset is built


def test_long_table_needs_its_columns_named_when_not_guessable(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("key,when,kind,v\na,0,x,1\na,1,x,2\nb,0,y,3\n")
    with pytest.raises(ConfigError, match="no id column"):
        read_long_table(path, data_cfg())
    found = read_long_table(path, data_cfg(id_column="key", time_column="when", label_column="kind"))
    assert found.labels == ["x", "y"] and found.features == ["v"]


def test_dataset_dir_from_a_long_table(tmp_path):
    cfg = data_cfg(path=str(long_table(tmp_path / "runs.csv")), max_length=8, **{"split.val": 0.25, "split.test": 0.25})
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(cfg, 0, out)
    json.dumps(manifest)
    assert sum(manifest["splits"].values()) == 16 and manifest["classes"] == ["down", "up"]
    assert manifest["filled_values"] == 1 and manifest["truncated"] > 0
    assert any("max_length=8" in line for line in manifest["warnings"])
    x, lengths = np.load(out / "train_x.npy"), np.load(out / "train_len.npy")
    assert x.shape[1:] == (8, 2) and lengths.max() <= 8 and np.isfinite(x).all()
    real = np.concatenate([x[i, :n] for i, n in enumerate(lengths)])
    assert manifest["normalisation"]["mean"] == pytest.approx(real.mean(0), abs=0.05)  # train only
    assert (x[lengths < 8][:, -1] == 0).all()  # padding after the last step


def test_one_class_is_refused(tmp_path):
    (tmp_path / "only").mkdir()
    np.save(tmp_path / "only" / "a.npy", np.zeros((3, 1)))
    with pytest.raises(ConfigError, match="at least 2"):
        dataset.build(data_cfg(path=str(tmp_path)), 0, tmp_path)
