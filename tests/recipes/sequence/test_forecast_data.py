"""forecast preprocessing: a user's series with gaps, repeated and off-grid timestamps onto a regular grid,
time-ordered splits and windows, baselines and scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from omegaconf import OmegaConf
from seqfiles import gappy_series

from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import bundled_conf_dir
from aiaas_recipes.sequence.forecast import dataset, evaluation, scores, series, windows
from aiaas_recipes.sequence.forecast.grid import to_grid


def forecast_cfg(**overrides):
    cfg = OmegaConf.create({"horizon": 7, "context_length": 21})
    cfg.data = OmegaConf.load(bundled_conf_dir() / "data" / "series.yaml")
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def test_gaps_repeats_and_off_grid_times_are_found_and_filled(tmp_path):
    cfg = forecast_cfg(**{"data.path": str(gappy_series(tmp_path / "visits.csv")), "data.target": "visits"})
    found = series.read(cfg.data)
    assert found.frequency == "1D" and found.targets == ["visits"] and found.covariates == []
    assert len(found.values) == 160 and np.isfinite(found.values).all()
    assert found.report == {
        "observations": 158, "steps": 160, "missing_steps": 4, "longest_gap": 3, "off_grid_timestamps": 1,
        "repeated_timestamps": 1, "filled_values": 5,
    }  # fmt: skip
    gap = found.values[19:24, 0]
    assert np.all(np.diff(gap) != 0) and gap.min() >= min(gap[0], gap[-1]) - 1e-4  # a straight line across
    assert np.datetime64("2024-03-21") in found.times
    assert found.skipped == [{"file": "visits.csv:row 160", "reason": "no usable day: 'soon'"}]


def test_target_and_covariates_by_name(tmp_path):
    path = str(gappy_series(tmp_path / "visits.csv"))
    with pytest.raises(ConfigError, match="say which column"):
        series.read(forecast_cfg(**{"data.path": path}).data)
    with pytest.raises(ConfigError, match="not a numeric column"):
        series.read(forecast_cfg(**{"data.path": path, "data.target": "sales"}).data)
    found = series.read(forecast_cfg(**{"data.path": path, "data.target": "visits", "data.covariates": ["promo"]}).data)
    assert found.values.shape == (160, 2) and found.covariates == ["promo"]


def test_monthly_and_numeric_grids():
    months = np.array(["2020-01-01", "2020-02-01", "2020-04-01", "2020-05-01"], dtype="datetime64[ns]")
    values, times, name, report = to_grid(months, np.arange(4.0).reshape(-1, 1), ["y"])
    assert name == "1 month" and report["missing_steps"] == 1 and len(values) == 5
    values, times, name, report = to_grid(np.array([0.0, 2, 4, 8]), np.arange(4.0).reshape(-1, 1), ["y"])
    assert name == "2" and times.tolist() == [0, 2, 4, 6, 8] and values[3, 0] == pytest.approx(2.5)


def test_dataset_splits_by_time(tmp_path):
    cfg = forecast_cfg(**{"data.path": str(gappy_series(tmp_path / "visits.csv")), "data.target": "visits"})
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(cfg, out)
    json.dumps(manifest)
    assert manifest["season"] == 7 and manifest["frequency"] == "1D"
    assert any("4 step(s) of 1D had no row" in line for line in manifest["warnings"])
    val_start, test_start = manifest["boundaries"]["val_start"], manifest["boundaries"]["test_start"]
    train, val, test = (np.load(out / f"{s}_origins.npy") for s in ("train", "val", "test"))
    assert train.max() + 7 <= val_start and val.min() >= val_start and val.max() + 7 <= test_start
    assert test.min() == test_start and test.max() == 160 - 7 and len(test) == manifest["splits"]["test"]
    assert train.min() == 21  # a full context before the first origin
    series, origins = windows.load(out, "train")
    assert isinstance(series, np.memmap) and np.array_equal(origins, train)  # the series is read a batch at a time


def test_too_short_a_series_is_refused(tmp_path):
    cfg = forecast_cfg(**{"data.path": str(gappy_series(tmp_path / "v.csv", steps=30)), "data.target": "visits"})
    with pytest.raises(ConfigError, match="shorter than context_length"):
        dataset.build(cfg, tmp_path)


def test_seasonal_naive_repeats_the_last_season_and_scores_zero_on_a_cycle():
    cycle = np.tile(np.arange(7.0), 10).reshape(-1, 1)
    origins = np.array([30, 41])
    predicted = evaluation.seasonal_naive(cycle, origins, horizon=10, season=7, targets=1)
    actual = cycle[origins[:, None] + np.arange(10)]
    assert np.array_equal(predicted, actual)
    found = scores.score(predicted + 1.0, actual, ["y"], [2.0])
    assert found["mae"] == pytest.approx(1.0) and found["mase"] == pytest.approx(0.5)
    assert found["rmse"] == pytest.approx(1.0) and 0 < found["smape"] < 200 and found["mae_by_step"] == [1.0] * 10


def test_parquet_with_several_targets(tmp_path):
    import pandas as pd

    frame = pd.read_csv(gappy_series(tmp_path / "visits.csv"))
    frame = frame[frame["day"] != "soon"].rename(columns={"day": "when"})
    frame["when"] = pd.to_datetime(frame["when"], format="mixed")
    frame.to_parquet(tmp_path / "visits.parquet")
    cfg = forecast_cfg(**{"data.path": str(tmp_path / "visits.parquet"), "data.time_column": "when"})
    cfg.data.target = ["visits", "promo"]
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(cfg, out)
    assert manifest["targets"] == ["visits", "promo"] and len(manifest["mase_scale"]) == 2
    assert np.load(out / "series.npy").shape == (160, 2) and manifest["gaps"]["missing_steps"] == 4
