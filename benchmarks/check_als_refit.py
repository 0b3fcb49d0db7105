"""recommend: does ALS lose on test because its item factors are fitted on train only? For each setting of the
recipe's ALS grid (conf/model/als.yaml), NDCG@10 on val (fitted on train), on test with the train-only item factors
(as `Fitted.fit` serves them: user vectors re-solved from train+val), and on test refitted on train+val.

    .venv/bin/python -m benchmarks.check_als_refit DATASET_DIR   # a recommend dataset dir from `aiaas preprocess`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(dataset_dir: Path) -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from aiaas_recipes.recommend import dataset
    from aiaas_recipes.recommend.fitted import validation

    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    shape = (int(manifest["users"]), int(manifest["items"]))
    train, seen = dataset.matrix(dataset_dir, ("train",), shape), dataset.matrix(dataset_dir, ("train", "val"), shape)
    val, test = dataset.matrix(dataset_dir, ("val",), shape), dataset.matrix(dataset_dir, ("test",), shape)

    def fitted(known, factors: int, alpha: float):
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=factors, regularization=1.0, alpha=alpha, iterations=10,
                                            random_state=42)  # fmt: skip
            model.fit(known, show_progress=False)
        return model

    def ndcg(model, known, relevant) -> float:
        with threadpool_limits(1, "blas"):
            users = model.recalculate_user(np.arange(shape[0]), known.astype(np.float32))
        return validation(lambda chosen: users[chosen] @ model.item_factors.T, known, relevant, 10)["ndcg"]

    print(f"{'factors':>7} {'alpha':>5} {'val':>7} {'test(train)':>11} {'test(refit)':>11}")
    for factors in (16, 32, 64):
        for alpha in (5.0, 20.0):
            on_train, refit = fitted(train, factors, alpha), fitted(seen, factors, alpha)
            print(f"{factors:>7} {alpha:>5.0f} {ndcg(on_train, train, val):7.4f} {ndcg(on_train, seen, test):11.4f} "
                  f"{ndcg(refit, seen, test):11.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))
