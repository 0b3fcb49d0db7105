"""tabular-cls / tabular-reg with model=auto: every candidate's leaderboard, side by side, on the built-in tables and
on real tables shipped inside installed packages, beside the printed baseline and two models fitted by hand.

For each table: `aiaas pipeline RECIPE data.path=TABLE.csv model=auto --json` (the built-in one without data.path),
then on the SAME split (the dataset dir's arrays): the served model (its model.onnx through ONNX Runtime), the
printed baseline (the recipe's default HistGradientBoosting, refitted identically), and by hand LightGBM with
default settings (its own categorical splits) and a one-hot + standardised LogisticRegression / Ridge with default
settings. Checks per table:
  - served test score >= the test score of the candidate with the best validation score (the validation-chosen one);
  - served >= baseline - noise, served >= each by-hand line - noise; noise = 1.96 x the bootstrap standard error
    (1000 resamples of the test rows) of the paired difference of the two models' scores.
Tables (statsmodels' `fair`, `randhie` and `elec_equip` are left out on purpose: kept for an independent check):
  tabular-cls  wine (built-in), breast_cancer (scikit-learn), anes96 (vote), modechoice (choice; `mode` categorical)
  tabular-reg  diabetes (built-in), grunfeld (invest; `firm` categorical), star98 (share above the median), engel

    .venv/bin/python -m benchmarks.bench_candidates_tabular                  (--recipes tabular-cls --tables anes96)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

AIAAS = str(Path(sys.executable).with_name("aiaas"))
HEADLINE = {"tabular-cls": "accuracy", "tabular-reg": "r2"}
ANES_PARTY = ["strong Dem", "weak Dem", "indep Dem", "indep", "indep Rep", "weak Rep", "strong Rep"]
MODES = {1: "air", 2: "train", 3: "bus", 4: "car"}


def statsmodels_table(name: str):
    import importlib

    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data.copy()


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame.assign(target=frame["target"].map({0: "malignant", 1: "benign"})), "target"


def anes96():
    frame = statsmodels_table("anes96").drop(columns=["logpopul"])
    frame["PID"] = frame["PID"].astype(int).map(dict(enumerate(ANES_PARTY)))
    return frame.assign(vote=frame["vote"].map({0.0: "Clinton", 1.0: "Dole"})), "vote"


def modechoice():
    frame = statsmodels_table("modechoice").drop(columns=["individual"])
    frame["mode"] = frame["mode"].astype(int).map(MODES)
    return frame.assign(choice=frame["choice"].map({0.0: "no", 1.0: "yes"})), "choice"


def grunfeld():
    return statsmodels_table("grunfeld"), "invest"


def star98():
    frame = statsmodels_table("star98")
    frame["share_above"] = frame["NABOVE"] / (frame["NABOVE"] + frame["NBELOW"])
    return frame.drop(columns=["NABOVE", "NBELOW"]), "share_above"


def engel():
    return statsmodels_table("engel"), "foodexp"


TABLES = {
    "tabular-cls": {"wine": None, "breast_cancer": breast_cancer, "anes96": anes96, "modechoice": modechoice},
    "tabular-reg": {"diabetes": None, "grunfeld": grunfeld, "star98": star98, "engel": engel},
}


def aiaas(env: dict, *args: str) -> dict:
    done = subprocess.run([AIAAS, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def pipeline(env: dict, recipe: str, name: str, folder: Path, extra: list[str]) -> dict:
    """The pipeline's --json (with the leaderboard, from evaluate if the pipeline does not carry it), its seconds."""
    make = TABLES[recipe][name]
    data = []
    if make is not None:
        frame, target = make()
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        data = [f"data.path={path}", f"data.target={target}"]
    start = time.perf_counter()
    result = aiaas(env, "pipeline", recipe, *data, "model=auto", *extra)
    result["seconds"] = time.perf_counter() - start
    if "leaderboard" not in result:
        result["leaderboard"] = aiaas(env, "evaluate", recipe, f"run={result['run_id']}").get("leaderboard", [])
    return result


def split_arrays(dataset_dir: Path, split: str):
    from aiaas_recipes.tabular.dataset import load_split

    numeric, categorical, y = load_split(dataset_dir, split)
    return np.asarray(numeric), np.asarray(categorical), np.asarray(y)


def served_outputs(onnx_path: str, numeric: np.ndarray, categorical: np.ndarray, regression: bool) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_path)
    feeds = {"numeric": numeric.astype(np.float32), "categorical": categorical.astype(np.int64)}
    names = [i.name for i in session.get_inputs()]
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {n: feeds[n] for n in names})))
    return outputs["value"].reshape(-1) if regression else outputs["probabilities"]


def by_hand(dataset_dir: Path, regression: bool) -> dict[str, np.ndarray]:
    """Default LightGBM (categories as LightGBM categories) and a default one-hot linear model, fitted on train."""
    import warnings

    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical, y = split_arrays(dataset_dir, "train")
    test_numeric, test_categorical, _ = split_arrays(dataset_dir, "test")
    x, test_x = np.hstack([numeric, categorical]), np.hstack([test_numeric, test_categorical])
    cats = list(range(numeric.shape[1], x.shape[1]))
    nums = list(range(numeric.shape[1]))
    boosted = (LGBMRegressor if regression else LGBMClassifier)(verbose=-1)
    boosted.fit(x, y, categorical_feature=cats)
    columns = [("num", make_pipeline(SimpleImputer(), StandardScaler()), nums)]
    columns += [("cat", OneHotEncoder(handle_unknown="ignore"), cats)] if cats else []
    linear = make_pipeline(ColumnTransformer(columns), Ridge() if regression else LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear.fit(x, y)
    predict = (lambda m: m.predict(test_x)) if regression else (lambda m: m.predict_proba(test_x))
    return {"LightGBM by hand": predict(boosted), "one-hot linear by hand": predict(linear)}


def score(regression: bool, y: np.ndarray, outputs: np.ndarray) -> float:
    if regression:
        return float(1 - np.sum((y - outputs) ** 2) / np.sum((y - y.mean()) ** 2))
    return float(np.mean(outputs.argmax(1) == y))


def noise(regression: bool, y: np.ndarray, a: np.ndarray, b: np.ndarray, draws: int = 1000) -> float:
    """1.96 x the bootstrap standard error of score(a) - score(b) over the test rows (paired)."""
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(draws):
        pick = rng.integers(0, len(y), len(y))
        diffs.append(score(regression, y[pick], a[pick]) - score(regression, y[pick], b[pick]))
    return 1.96 * float(np.std(diffs))


def measure(env: dict, recipe: str, name: str, folder: Path, extra: list[str]) -> dict:
    from aiaas_recipes.tabular.evaluation import baseline_outputs

    regression = recipe == "tabular-reg"
    result = pipeline(env, recipe, name, folder, extra)
    dataset_dir = Path(result["dataset_dir"])
    numeric, categorical, y = split_arrays(dataset_dir, "test")
    served = served_outputs(result["onnx_path"], numeric, categorical, regression)
    others = {"printed baseline": baseline_outputs(dataset_dir, "test", regression), **by_hand(dataset_dir, regression)}
    rows = result["leaderboard"]
    chosen = max(rows, key=lambda r: r["val"] if r["val"] is not None else -np.inf) if rows else None
    return {
        "name": name,
        "rows": len(y),
        "seconds": result["seconds"],
        "chosen": result.get("chosen_model"),
        "leaderboard": {r["name"]: r for r in rows},
        "served": score(regression, y, served),
        "val_chosen_test": chosen["test"] if chosen else None,
        "printed_baseline": result["metrics"]["baseline"][HEADLINE[recipe]],
        "others": {key: (score(regression, y, out), noise(regression, y, served, out)) for key, out in others.items()},
    }


def verdicts(result: dict) -> list[str]:
    lines = []
    if result["val_chosen_test"] is not None:
        ok = result["served"] >= result["val_chosen_test"] - 1e-9
        lines.append(f"served >= validation-chosen candidate's test: {'PASS' if ok else 'FAIL'}")
    for key, (value, margin) in result["others"].items():
        ok = result["served"] >= value - margin
        lines.append(f"served >= {key} - noise {margin:.3f}: {'PASS' if ok else 'FAIL'}")
    return lines


def report(recipe: str, results: list[dict]) -> None:
    headline = HEADLINE[recipe]
    width = 24
    print(f"\n{recipe}: test {headline} (leaderboard cells: val / test; * chosen); split seed 42")
    print(f"{'':28}" + "".join(f"{r['name'] + ' (' + str(r['rows']) + ' test)':>{width}}" for r in results))
    names = sorted({n for r in results for n in r["leaderboard"]}, key=lambda n: n)
    for name in names:
        cells = []
        for r in results:
            row = r["leaderboard"].get(name)
            mark = "*" if row and row.get("chosen") else " "
            val = "-" if not row or row["val"] is None else f"{row['val']:.3f}"
            test = "-" if not row or row["test"] is None else f"{row['test']:.3f}"
            cells.append(f"{val} / {test}{mark}" if row else "-")
        print(f"{'  ' + name:28}" + "".join(f"{c:>{width}}" for c in cells))
    print(f"{'served (ONNX)':28}" + "".join(f"{r['served']:>{width}.3f}" for r in results))
    for key in results[0]["others"]:
        cells = [f"{r['others'][key][0]:.3f} ±{r['others'][key][1]:.3f}" for r in results]
        print(f"{key:28}" + "".join(f"{c:>{width}}" for c in cells))
    print(f"{'pipeline seconds':28}" + "".join(f"{r['seconds']:>{width}.0f}" for r in results))
    for r in results:
        print(f"  {r['name']} (chosen: {r['chosen']}): " + "; ".join(verdicts(r)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(TABLES))
    parser.add_argument("--tables", nargs="+", default=None, help="a subset of the tables (by name)")
    parser.add_argument("overrides", nargs="*", help="extra overrides for every pipeline (model.time_limit=60)")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aiaas-bench-candidates-") as home:
        env = {**os.environ, "AIAAS_HOME": home, "BENTOML_HOME": str(Path(home) / "bentoml")}
        env.pop("MLFLOW_TRACKING_URI", None)
        for recipe in args.recipes:
            names = [n for n in TABLES[recipe] if args.tables is None or n in args.tables]
            if names:
                report(recipe, [measure(env, recipe, name, Path(home), args.overrides) for name in names])
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
