"""recommend, model=auto: the candidates' leaderboards side by side, beside the printed baselines and implicit's ALS
with its default settings applied by hand to the same split.

For each dataset: `aiaas pipeline recommend model=auto --json` in a temporary workspace (popular, item_knn, als, mf
ranked on validation NDCG@10; the winner exported, packaged), then implicit's AlternatingLeastSquares() with its
defaults fitted on the same train split and scored on the same test split (train+val seen, excluded), as
evaluation does. Datasets: the built-in generated data, and real tables given with --table NAME=PATH (a CSV of
user,item[,time] rows; see BENCHMARKS.md for what this machine holds), --debian (Debian packages -> their
dependencies), --imports (Python source files -> the modules they import) and --man (man pages -> the pages their
SEE ALSO names), the last two built by benchmarks/real_data.py. Noise: an upper bound of one standard error of the
served test NDCG@k, sqrt(n(1-n)/users) (a user's NDCG lies in [0, 1], so its variance is at most n(1-n)).

    .venv/bin/python -m benchmarks.bench_candidates_recommend [--debian] [--imports] [--man] [--table NAME=CSV]
        [-- overrides]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import real_data

AIAAS = str(Path(sys.executable).with_name("aiaas"))


def aiaas(home: str, *args: str) -> dict:
    done = subprocess.run(
        [AIAAS, *args, "--json"], capture_output=True, text=True, env={**os.environ, "AIAAS_HOME": home}
    )
    if done.returncode:
        sys.exit(f"aiaas {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def by_hand_als(dataset_dir: Path, k: int) -> float:
    """implicit's ALS, default settings, on the train split; NDCG@k on test with train+val excluded."""
    from implicit.als import AlternatingLeastSquares

    from aiaas_recipes.recommend import dataset
    from aiaas_recipes.recommend.fitted import validation

    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    shape = (int(manifest["users"]), int(manifest["items"]))
    train = dataset.matrix(dataset_dir, ("train",), shape)
    model = AlternatingLeastSquares(random_state=0)
    model.fit(train, show_progress=False)
    users, items = model.user_factors, model.item_factors
    known = dataset.matrix(dataset_dir, ("train", "val"), shape)
    return validation(lambda u: users[u] @ items.T, known, dataset.matrix(dataset_dir, ("test",), shape), k)["ndcg"]


def debian_dependencies(out: Path) -> Path | None:
    """A real bipartite table shipped on this machine: each Debian package (user) and the packages it Depends on or
    Recommends (items), in the order the apt index lists them. None when the index is not here."""
    import re

    index = next(Path("/var/lib/apt/lists").glob("*_binary-amd64_Packages.lz4"), None)
    if index is None:
        return None
    text = subprocess.run(["lz4cat", str(index)], capture_output=True, text=True, check=True).stdout
    rows = []
    for block in text.split("\n\n"):
        fields = dict(re.findall(r"^(Package|Depends|Recommends): (.*)$", block, flags=re.M))
        for field in ("Depends", "Recommends"):
            for alternative in filter(None, fields.get(field, "").split(",")):
                rows.append((fields.get("Package"), re.split(r"[ (|:]", alternative.strip())[0]))
    out.write_text("user,item\n" + "".join(f"{u},{i}\n" for u, i in rows if u and i))
    return out


def run(name: str, data: list[str], overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        result = aiaas(home, "pipeline", "recommend", "model=auto", "export.register=false", *data, *overrides)
        seconds = time.perf_counter() - started
        hand = by_hand_als(Path(result["dataset_dir"]), int(result["metrics"]["k"]))
        manifest = json.loads((Path(result["dataset_dir"]) / "manifest.json").read_text())
    metrics, users = result["metrics"], int(manifest["users"])
    size = {"users": users, "items": int(manifest["items"]), "one_se_bound": float(np.sqrt(
        metrics["ndcg"] * (1 - metrics["ndcg"]) / users))}  # fmt: skip
    return {"name": name, "seconds": round(seconds), "chosen": result["chosen_model"], "served": metrics["ndcg"],
            **size, "leaderboard": result["leaderboard"],
            "baselines": {b: v["ndcg"] for b, v in metrics["baselines"].items()},
            "implicit ALS (defaults, by hand)": hand}  # fmt: skip


def show(results: list[dict]) -> None:
    for r in results:
        print(
            f"\n{r['name']} ({r['users']} users x {r['items']} items): chose {r['chosen']}, served test NDCG@10 "
            f"{r['served']:.4f} (one s.e. <= {r['one_se_bound']:.4f}; {r['seconds']} s pipeline)"
        )
        print(f"  {'candidate':<12} {'val':>8} {'test':>8} {'fit_s':>8} {'ms/item':>8}")
        for row in r["leaderboard"]:
            mark = " *" if row["chosen"] else f"   {row['status']}: {row['error']}" if row.get("error") else ""
            test = row.get("test")
            print(f"  {row['name']:<12} {row['val'] or 0:8.4f} {test or 0:8.4f} {row['fit_s'] or 0:8.1f} "
                  f"{row['predict_ms'] or 0:8.3f}{mark}")  # fmt: skip
        lines = {**{f"baseline {b}": v for b, v in r["baselines"].items()}, **{k: r[k] for k in r if "hand" in k}}
        for label, value in lines.items():
            print(f"  {label:<34} test {value:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", default=[], help="NAME=PATH of a user,item[,time] CSV")
    parser.add_argument("--skip-builtin", action="store_true")
    parser.add_argument("--debian", action="store_true", help="also the Debian package index's dependencies")
    parser.add_argument("--imports", action="store_true", help="also Python files -> the modules they import")
    parser.add_argument("--man", action="store_true", help="also man pages -> the pages in their SEE ALSO")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    results = [] if args.skip_builtin else [run("built-in", [], args.overrides)]
    if args.debian and (table := debian_dependencies(Path(tempfile.gettempdir()) / "debian_deps.csv")):
        args.table.append(f"debian-deps={table}")
    for flag, name, build in (("man", "man-see-also", real_data.man_see_also),
                              ("imports", "python-imports", real_data.python_imports)):  # fmt: skip
        if getattr(args, flag) and (table := build(Path(tempfile.gettempdir()) / f"{name}.csv")):
            args.table.append(f"{name}={table}")
    for spec in args.table:
        name, path = spec.split("=", 1)
        results.append(run(name, [f"data.path={path}", "data.rating_threshold=null"], args.overrides))
    show(results)
    print(json.dumps({"summary": [{k: v for k, v in r.items() if k != "leaderboard"} for r in results]}, default=float))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
