"""The statistical forecasters (ETS, Theta, ARIMA, seasonal naive, drift, their combination) on the recipe's smoke
series: each fits itself, scores the validation windows, saves as JSON and loads back, is evaluated, exported by the
real export stage (ONNX Runtime against statsforecast's own recursions on the test windows) and predicts torch-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from aiaas_cli.artifacts import Dataset, Trained
from aiaas_cli.config import compose
from aiaas_cli.errors import ConfigError
from aiaas_cli.recipe_api import Estimator
from aiaas_cli.serving.runtime import Predictor
from aiaas_cli.stages.export import export
from aiaas_recipes.sequence.forecast import statistical, windows
from aiaas_recipes.sequence.forecast.recipe import Forecast
from aiaas_recipes.sequence.forecast.scores import mase
from aiaas_recipes.sequence.forecast.smoke import seasonal_table

RECIPE = Forecast()
SMALL = ["horizon=4", "context_length=16", "export.register=false"]
METHODS = ("seasonal_naive", "drift", "ets", "theta", "arima", "combo")


def prepared(folder: Path, *overrides: str, gaps: int = 0):
    path = seasonal_table(folder / "series.csv", gaps=gaps)
    cfg = compose(RECIPE, [f"data.path={path}", *SMALL, *overrides])
    out = folder / "ds"
    out.mkdir()
    return cfg, out, RECIPE.build_dataset(cfg, out)


def fitted(cfg, out: Path, manifest: dict, folder: Path):
    """The train stage's path for an Estimator: build, fit, save under the recipe's suffix, load back."""
    estimator = RECIPE.model(cfg, manifest, out)
    assert isinstance(estimator, Estimator)
    val = estimator.fit(out, manifest)
    path = folder / f"best{RECIPE.checkpoint_suffix(cfg)}"
    estimator.save(path)
    return val, path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Each method fitted and exported once on the same smoke series, shared by the tests below."""
    found = {}
    for method in METHODS:
        folder = tmp_path_factory.mktemp(method)
        cfg, out, manifest = prepared(folder, f"model={method}")
        val, path = fitted(cfg, out, manifest, folder)
        trained = Trained(f"test-{method}", Dataset(out, manifest, False), path)
        found[method] = {"cfg": cfg, "dir": out, "manifest": manifest, "val": val, "path": path,
                         "exported": export(cfg, RECIPE, trained)}  # fmt: skip
    return found


@pytest.mark.parametrize("method", METHODS)
def test_fits_itself_evaluates_and_exports_with_parity(runs, method):
    run = runs[method]
    assert run["path"].suffix == ".json" and json.loads(run["path"].read_text())["method"] == method
    model, meta = RECIPE.load_model(run["path"])
    assert meta["recipe"] == "forecast" and meta["model"]["method"] == method
    val = RECIPE.evaluate(model, run["dir"], run["manifest"], "val")  # rolling origin: every step of the val part
    assert val["windows"] == run["manifest"]["splits"]["val"] > 5
    assert val["mase"] == pytest.approx(run["val"]["val_mase"]) and np.isfinite(run["val"]["val_loss"])
    test = RECIPE.evaluate(model, run["dir"], run["manifest"], "test")
    assert set(RECIPE.metrics.names) <= set(test) and test["baseline"]["name"].startswith("seasonal naive")
    if method == "seasonal_naive":  # the candidate is the printed baseline, to the last digit
        assert test["mase"] == pytest.approx(test["baseline"]["mase"], rel=1e-9)
    exported = run["exported"]
    assert exported.parity.agreement == 1.0 and exported.parity.samples == run["manifest"]["splits"]["test"]
    assert exported.parity.max_abs_diff < 1e-4 and exported.metadata["model"].startswith(method)


@pytest.mark.parametrize("method", ["ets", "theta", "arima", "combo"])
def test_parity_is_against_statsforecast_not_the_map(runs, method):
    """The reference re-runs statsforecast on each window: a wrong map would be caught by export."""
    run = runs[method]
    model, _ = RECIPE.load_model(run["path"])
    feeds, _ = RECIPE.export_samples(run["dir"], run["manifest"], "test", 8)
    expected = RECIPE.reference_outputs(model, feeds)
    model.weights = model.weights * 1.01
    broken = model.forecast_scaled(feeds["history"])
    parity = RECIPE.compare_outputs(expected, {"forecast": broken}, run["cfg"].export)
    assert RECIPE.parity_problem(parity, run["cfg"].export) is not None


@pytest.mark.parametrize("method", METHODS)
def test_predict_serves_the_fitted_forecast(runs, method):
    run = runs[method]
    model, _ = RECIPE.load_model(run["path"])
    series, origins = windows.load(run["dir"], "test")
    origin = int(origins[-1])
    steps = run["manifest"]["history_length"]  # the window a statistical model re-reads: longer than context_length
    history = np.asarray(series[origin - steps - 14 : origin, 0], np.float64)  # longer still: its tail is read
    predictor = Predictor(run["exported"].onnx_path, allowed={RECIPE.serving_module})
    [answer] = predictor.predict([{"history": history.tolist()}])
    own = statistical.window_forecast(method, model.params[0], history[-steps:], 4, run["manifest"]["season"])
    assert answer["horizon"] == 4 and answer["history_steps"] == steps + 14 and steps == 120
    assert np.allclose(answer["forecast"], own, rtol=1e-4, atol=1e-4)
    assert np.allclose(answer["forecast"], model.forecast(series, origins[-1:])[0, :, 0], rtol=1e-4, atol=1e-4)


def test_the_serving_path_imports_neither_torch_nor_statsforecast(runs):
    code = (
        "import sys; from aiaas_cli.serving.runtime import Predictor; "
        f"p = Predictor({str(runs['ets']['exported'].onnx_path)!r}, allowed={{{RECIPE.serving_module!r}}}); "
        "p.predict([{'history': [float(i % 7) for i in range(130)]}]); "
        "print(sorted(m for m in ('torch', 'statsforecast', 'numba', 'lightning') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_series_with_gaps_is_filled_then_fitted(tmp_path):
    cfg, out, manifest = prepared(tmp_path, "model=ets", gaps=6)
    assert manifest["gaps"]["missing_steps"] == 6 and manifest["gaps"]["filled_values"] == 6
    val, path = fitted(cfg, out, manifest, tmp_path)
    model, _ = RECIPE.load_model(path)
    report = RECIPE.evaluate(model, out, manifest, "test")
    assert np.isfinite(val["val_mase"]) and report["mase"] < report["baseline"]["mase"]  # trend + season: ETS wins


@pytest.mark.parametrize("method", ["ets", "theta", "arima"])
def test_val_is_scored_on_a_train_only_fit_and_the_kept_model_is_refitted_on_train_val(runs, method):
    """The ranking is honest (the val windows are forecast by the fit on the training part alone); the model kept
    for test, export and serving is the same form fitted again on train+val (AutoGluon's refit_full)."""
    run, manifest = runs[method], runs[method]["manifest"]
    model, meta = RECIPE.load_model(run["path"])
    series = np.load(run["dir"] / "series.npy")[:, 0].astype(np.float64)
    val_start, test_start = manifest["boundaries"]["val_start"], manifest["boundaries"]["test_start"]
    options = {k: v for k, v in meta["model"].items() if k not in ("_target_", "init_from", "method")}
    first = statistical.fit(method, series[:val_start], manifest["season"], manifest["history_length"], options)
    assert model.validation["params"][0] == first
    assert model.params[0] == statistical.refit(method, first, series[:test_start], options)
    assert meta["fit_steps"] == {"val": val_start, "test": test_start} == run["exported"].metadata["fit_steps"]
    form = [statistical.describe(method, params).split(" (")[0] for params in (first, model.params[0])]
    assert form[0] == form[1]  # the same ETS components, ARIMA orders, Theta variant: the form that was validated
    assert not np.allclose(model.weights, model.validation["weights"])  # 20 more steps moved the parameters
    origins = np.load(run["dir"] / "val_origins.npy")  # the refit has seen these: it forecasts them at least as well
    actual = windows.cut(series[:, None], origins, model.sizes[2], 4)[1]
    refitted = mase(model.forecast(series[:, None], origins), actual, manifest["mase_scale"])
    val = RECIPE.evaluate(model, run["dir"], manifest, "val")
    assert refitted <= 1.1 * val["mase_val_part"]  # the val part's own MASE (the ranked one pools backtest windows)
    served_on_val = RECIPE.evaluate(model, run["dir"], manifest, "test")  # the refit's: scored where it is served
    assert val["mase"] == pytest.approx(run["val"]["val_mase"]) and served_on_val["mase"] != val["mase"]


def test_refit_false_serves_the_train_only_fit(tmp_path):
    cfg, out, manifest = prepared(tmp_path, "model=theta", "model.refit=false", "data.history_length=16")
    _, path = fitted(cfg, out, manifest, tmp_path)
    model, meta = RECIPE.load_model(path)
    assert model.params == model.validation["params"] and np.array_equal(model.weights, model.validation["weights"])
    assert meta["fit_steps"]["test"] == manifest["boundaries"]["val_start"] and model.sizes[2] == 16


def test_unknown_method_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="model.method"):
        compose(RECIPE, [*SMALL, "model=ets", "model.method=prophet"])


@pytest.mark.slow
def test_ets_through_package_and_serve(cli, tmp_path_factory):
    """`aiaas pipeline forecast model=ets` to a Bento; the served forecast equals the local exported model's and the
    fitted map's, on a history the model never saw."""
    from conftest import Server

    folder = tmp_path_factory.mktemp("ets-served")
    path = seasonal_table(folder / "series.csv", gaps=3)
    run = cli.json("pipeline", "forecast", f"data.path={path}", *SMALL, "model=ets", "data.history_length=24")
    assert run["metrics"]["mase"] < run["metrics"]["baseline"]["mase"] and run["parity"]["within_tolerance"] == 1.0
    server = Server(run["bento_tag"], folder / "server.log").wait_ready()
    try:
        history = (10 + 3 * np.sin(2 * np.pi * np.arange(40) / 7) + 0.05 * np.arange(40)).round(3).tolist()
        answer = requests.post(f"{server.url}/predict", json={"history": history}, timeout=30)
        assert answer.status_code == 200, answer.text
        local = Predictor(run["onnx_path"], allowed={RECIPE.serving_module}).predict([{"history": history}])[0]
        model, _ = RECIPE.load_model(Path(run["checkpoint"]))
        own = model.weights[0] @ np.asarray(history[-24:]) + model.bias[0]
        assert np.allclose(answer.json()["forecast"], local["forecast"], atol=1e-4)
        assert np.allclose(answer.json()["forecast"], own, atol=1e-3)
        short = requests.post(f"{server.url}/predict", json={"history": history[:20]}, timeout=30)
        assert short.status_code == 422 and "context_length=24" in short.json()["error"]  # its window
    finally:
        server.stop()


@pytest.mark.slow
def test_auto_picks_the_best_validation_candidate_and_exports_it(cli, tmp_path):
    """model=auto (the default) over three cheap candidates: the lowest validation MASE wins, its checkpoint is the
    run's, the leaderboard is in evaluate --json, and the exported model serves the winner's forecast."""
    path = seasonal_table(tmp_path / "series.csv")
    data = [f"data.path={path}", *SMALL, "model.candidates=[seasonal_naive,drift,ets]"]
    trained = cli.json("train", "forecast", *data)
    board = {row["name"]: row for row in trained["leaderboard"]}
    best = min(board, key=lambda name: board[name]["val"])
    assert trained["chosen_model"] == best == "ets" and board[best]["chosen"]  # trend + weekly season
    assert Path(trained["checkpoint"]).suffix == ".json"
    evaluated = cli.json("evaluate", "forecast", f"run={trained['run_id']}")
    assert [row["name"] for row in evaluated["leaderboard"] if row["chosen"]] == ["ets"]
    exported = cli.json("export", "forecast", f"run={trained['run_id']}", *data)
    model, _ = RECIPE.load_model(Path(trained["checkpoint"]))
    history = np.asarray(np.load(Path(trained["dataset_dir"]) / "series.npy")[-120:, 0], np.float64)
    [answer] = Predictor(exported["onnx_path"], allowed={RECIPE.serving_module}).predict(
        [{"history": history.tolist()}]
    )
    assert model.method == "ets" and np.allclose(
        answer["forecast"], model.weights[0] @ history + model.bias[0], atol=1e-4
    )


def test_covariates_are_read_but_not_used(tmp_path):
    """A statistical model forecasts each target from its own past: the covariate gets zero weight in the graph,
    and the service still asks for it (the model's inputs are the recipe's windows)."""
    from seqfiles import gappy_series

    path = gappy_series(tmp_path / "visits.csv")
    cfg = compose(RECIPE, [f"data.path={path}", "data.target=visits", "data.covariates=[promo]", *SMALL, "model=theta"])
    out = tmp_path / "ds"
    out.mkdir()
    manifest = RECIPE.build_dataset(cfg, out)
    _, checkpoint = fitted(cfg, out, manifest, tmp_path)
    exported = export(cfg, RECIPE, Trained("test-covariates", Dataset(out, manifest, False), checkpoint))
    assert exported.parity.agreement == 1.0
    predictor = Predictor(exported.onnx_path, allowed={RECIPE.serving_module})
    history = [50.0 + (i % 7) for i in range(130)]
    one, other = predictor.predict([{"history": history, "covariates": [c] * 130} for c in ([0.0], [5.0])])
    assert one["forecast"] == other["forecast"]


def test_combo_serves_the_mean_of_its_members_forecasts(runs):
    """The combination is the equal-weight mean of the members fitted as their own candidates are (same options),
    refitted on train+val as they are: its one linear map forecasts their mean, and the served graph answers it."""
    model, _ = RECIPE.load_model(runs["combo"]["path"])
    members = [RECIPE.load_model(runs[name]["path"])[0] for name in statistical.COMBO_MEMBERS]
    assert list(model.params[0]["members"]) == list(statistical.COMBO_MEMBERS)
    assert [model.params[0]["members"][m.method] for m in members] == [m.params[0] for m in members]
    series, origins = windows.load(runs["combo"]["dir"], "test")
    mean = np.mean([m.forecast(series, origins) for m in members], axis=0)
    assert np.allclose(model.forecast(series, origins), mean, rtol=1e-6, atol=1e-6)
    history = np.asarray(series[int(origins[-1]) - model.sizes[2] : int(origins[-1]), 0], np.float64)
    own = [statistical.window_forecast(m.method, m.params[0], history, 4, 7) for m in members]
    [answer] = Predictor(runs["combo"]["exported"].onnx_path, allowed={RECIPE.serving_module}).predict(
        [{"history": history.tolist()}]
    )
    assert np.allclose(answer["forecast"], np.mean(own, axis=0), rtol=1e-4, atol=1e-4)


def test_a_short_val_part_is_ranked_with_backtest_windows_fitted_before_them(runs, tmp_path):
    """Fewer than 100 val origins: 3 folds of `horizon` origins at the end of train join the val windows; fold j is
    fitted afresh on the steps before its origins (never on what it is scored on). `model.backtest=0`: val only."""
    run, manifest = runs["ets"], runs["ets"]["manifest"]
    model, meta = RECIPE.load_model(run["path"])
    val = RECIPE.evaluate(model, run["dir"], manifest, "val")
    assert model.backtest["windows"] == val["backtest_windows"] == 12 and val["windows"] < 100
    y = np.load(run["dir"] / "series.npy")[:, 0].astype(np.float64)
    val_start, season, window = manifest["boundaries"]["val_start"], manifest["season"], manifest["history_length"]
    options = {k: v for k, v in meta["model"].items() if k not in ("_target_", "init_from", "method")}
    errors = []
    for cut in (val_start - 4, val_start - 8, val_start - 12):
        params = statistical.fit("ets", y[:cut], season, window, options)
        for o in range(cut, cut + 4):
            errors.append(np.abs(statistical.window_forecast("ets", params, y[max(0, o - window) : o], 4, season)
                                 - y[o : o + 4]).mean())  # fmt: skip
    assert model.backtest["mae"][0] == pytest.approx(np.mean(errors))
    pooled = (val["per_target"]["sales"]["mae"] * val["windows"] + np.sum(errors)) / (val["windows"] + 12)
    assert val["mase"] == pytest.approx(pooled / manifest["mase_scale"][0]) == run["val"]["val_mase"]
    cfg, out, plain = prepared(tmp_path, "model=seasonal_naive", "model.backtest=0")
    scores, path = fitted(cfg, out, plain, tmp_path)
    alone = RECIPE.evaluate(RECIPE.load_model(path)[0], out, plain, "val")
    assert "backtest_windows" not in alone and alone["mase"] == pytest.approx(scores["val_mase"])
