"""Recommenders that fit themselves (no Lightning): most-popular and implicit's ALS here, item-kNN in knn.py.

Each is an `Estimator`. ``fit`` tries its settings (a small grid from its model config) on the train split, keeps
the one with the best NDCG on the validation split, then fits that setting again on train+val (AutoGluon's
refit_full: on sparse data a quarter of the interactions can sit in val) and makes the served state from
everything: ALS folds each user's whole history into a user vector over the refitted item factors, item-kNN
computes its neighbours on all the interactions, popularity counts them all (the networks' served history and
fallback cover every split too). Evaluation scores a split from the interactions known before it (`scorer`), as
the printed baselines do, with the fit that saw no more than those, so no split's answers are seen early.
``save`` writes an .npz (arrays and JSON metadata), read back without pickle. Popular and ALS are served by
graph.py's graph, as the networks are; item-kNN by its own (knn.py).
"""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from aiaas_recipes.recommend import dataset, graph, ranking, reference
from aiaas_recipes.recommend.baselines import Scorer

META_KEY = "meta"  # the .npz entry holding the JSON metadata


def _plain(value: Any) -> Any:
    """A config value (an OmegaConf list, or a scalar) as plain Python, so it goes into JSON."""
    from omegaconf import Container, OmegaConf

    return OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value


def _choices(value: Any) -> list:
    """A setting given as one value or as a list of values to try."""
    value = _plain(value)
    return list(value) if isinstance(value, list) else [value]


def validation(score: Scorer, known: Any, relevant: Any, k: int) -> dict[str, float]:
    """NDCG and recall at ``k`` on the users of ``relevant`` (CSR), ``known`` excluded: what evaluation reports."""
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    top = ranking.rank(score, users, known, k)
    return ranking.metrics(top, relevant[users], relevant.shape[1], k)


class Fitted:
    """The shared half: the settings grid on validation, the served state, saving. Subclasses say how to fit one
    setting (``candidate``), how to score from known interactions (``scorer``) and what to serve (``adopt``)."""

    kind = ""

    def __init__(self, meta: dict, seed: int = 0, **params: Any):
        params.pop("_target_", None)
        self.meta = {**meta, "fitted": self.kind}
        self.seed = int(seed)
        self.params = {name: _plain(value) for name, value in params.items()}
        self.arrays: dict[str, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.meta["n_users"]), int(self.meta["n_items"])

    @property
    def chosen(self) -> dict[str, Any]:
        return self.meta.get("chosen", {})

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of the settings given as lists (a grid); one setting when none is a list."""
        names = sorted(self.params)
        return [dict(zip(names, values)) for values in product(*(_choices(self.params[n]) for n in names))]

    def fit(self, dataset_dir: Path, manifest: dict) -> dict[str, float]:
        """Each setting fitted on train and scored on val; the best one's served state made from everything."""
        train = dataset.matrix(dataset_dir, ("train",), self.shape)
        val = dataset.matrix(dataset_dir, ("val",), self.shape)
        has_val = bool(val.nnz)
        tried, best = [], None
        for setting in self.settings():
            score, state = self.candidate(setting, train)
            scores = validation(score, train, val, int(self.meta["k"])) if has_val else {"ndcg": 0.0, "recall": 0.0}
            tried.append({**setting, "val_ndcg": round(scores["ndcg"], 6)})
            if best is None or scores["ndcg"] > best[2]["ndcg"]:
                best = (setting, state, scores)
        setting, state, scores = best
        self.meta.update(chosen=setting, tried=tried)
        self.arrays.update(dataset.served_state(dataset_dir, self.shape))
        if has_val:  # the validated setting fitted again on train + val: what test sees and what is served
            self.keep_validated(state, int(train.nnz))
            state = self.candidate(setting, dataset.matrix(dataset_dir, ("train", "val"), self.shape))[1]
        self.adopt(setting, state, dataset.matrix(dataset_dir, dataset.SPLITS, self.shape))
        return {"val_ndcg": scores["ndcg"], "val_recall": scores["recall"]} if has_val else {}

    def candidate(self, setting: dict[str, Any], train: Any) -> tuple[Scorer, Any]:
        """One setting fitted on ``train``: its scorer (train known) and whatever ``adopt`` needs of it."""
        raise NotImplementedError

    def adopt(self, setting: dict[str, Any], state: Any, everything: Any) -> None:
        """Make the served arrays of the chosen setting (``everything``: all interactions, CSR)."""

    def keep_validated(self, state: Any, interactions: int) -> None:
        """Keep the train-only fit's state beside the refit, for scoring from ``interactions`` known ones or fewer
        (the validation split); a model whose `scorer` fits itself on what it is given needs nothing kept."""

    def scorer(self, known: Any) -> Scorer:
        """(users, items) scores for users whose interactions so far are ``known`` (CSR users x items)."""
        raise NotImplementedError

    def tables(self) -> graph.Tables:
        """graph.py's served tables: ``users . items + bias``, popularity for unknown users."""
        raise NotImplementedError

    def write_onnx(self, path: Path, opset: int) -> None:
        graph.write(self.tables(), path, opset)

    def reference(self, inputs: dict) -> dict[str, np.ndarray]:
        return reference.tables_outputs(self.tables(), inputs)

    def served(self, users: np.ndarray, items: np.ndarray, bias: np.ndarray) -> graph.Tables:
        a = self.arrays
        return graph.Tables(
            user_ids=self.meta["user_ids"], item_ids=self.meta["item_ids"], users=users, items=items, bias=bias,
            popularity=a["popularity"], history_indptr=a["history_indptr"], history_items=a["history_items"],
            max_k=int(self.meta["max_k"]),
        )  # fmt: skip

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:  # a handle: np.savez would add .npz to the temporary name
            np.savez(handle, **{META_KEY: np.asarray(json.dumps(self.meta))}, **self.arrays)


class Popular(Fitted):
    """The most popular items for everyone (seen ones excluded): the baseline every recommender must beat."""

    kind = "popular"

    def candidate(self, setting: dict[str, Any], train: Any) -> tuple[Scorer, Any]:
        return self.scorer(train), None

    def scorer(self, known: Any) -> Scorer:
        counts = np.asarray(known.sum(axis=0), dtype=np.float32).ravel()
        return lambda users: np.broadcast_to(counts, (len(users), len(counts)))

    def tables(self) -> graph.Tables:
        users, items = self.shape
        popularity = self.arrays["popularity"]
        # no vectors: every known user scores the popularity (through the bias), as an unknown one does
        return self.served(np.zeros((users, 1), np.float32), np.zeros((items, 1), np.float32), popularity)


class ALS(Fitted):
    """implicit's alternating least squares on the binary interactions (confidence 1 + alpha). A user's vector
    is solved from their known items (implicit's recalculate_user), so a user's latest items count when served."""

    kind = "als"

    def _model(self, setting: dict[str, Any], item_factors: np.ndarray | None = None):
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own advice (it warns otherwise): its threads, not BLAS's
            model = AlternatingLeastSquares(
                factors=int(setting["factors"]), regularization=float(setting["regularization"]),
                alpha=float(setting["alpha"]), iterations=int(setting["iterations"]), random_state=self.seed,
            )  # fmt: skip
        model.item_factors = item_factors
        return model

    def candidate(self, setting: dict[str, Any], train: Any) -> tuple[Scorer, Any]:
        from threadpoolctl import threadpool_limits

        model = self._model(setting)
        with threadpool_limits(1, "blas"):
            model.fit(train, show_progress=False)
        items = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self._scorer(setting, items, train), items

    def _scorer(self, setting: dict[str, Any], items: np.ndarray, known: Any) -> Scorer:
        users = self.fold_in(setting, items, known)
        return lambda chosen: users[chosen] @ items.T

    def fold_in(self, setting: dict[str, Any], items: np.ndarray, known: Any) -> np.ndarray:
        """Every user's vector solved from ``known`` with the item vectors fixed (one least-squares step)."""
        model = self._model(setting, items)
        return model.recalculate_user(np.arange(known.shape[0]), known.astype(np.float32)).astype(np.float32)

    def adopt(self, setting: dict[str, Any], state: Any, everything: Any) -> None:
        self.arrays["item_factors"] = state
        self.arrays["user_factors"] = self.fold_in(setting, state, everything)

    def keep_validated(self, state: Any, interactions: int) -> None:
        self.arrays["validated_item_factors"] = state
        self.meta["validated_interactions"] = interactions

    def scorer(self, known: Any) -> Scorer:
        """Scores with the item factors of the fit that saw no more than ``known``: the train-only fit for the
        validation split, the train+val refit (the served one) from there on."""
        validated = self.arrays.get("validated_item_factors")
        use_validated = validated is not None and known.nnz <= int(self.meta["validated_interactions"])
        return self._scorer(self.chosen, validated if use_validated else self.arrays["item_factors"], known)

    def tables(self) -> graph.Tables:
        items = self.arrays["item_factors"]
        return self.served(self.arrays["user_factors"], items, np.zeros(len(items), np.float32))


KINDS = {"popular": Popular, "als": ALS}


def load(path: Path) -> tuple[Fitted, dict]:
    """A fitted model from its .npz (no pickle: object arrays are refused)."""
    from aiaas_cli.errors import UserError

    try:
        with np.load(Path(path), allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
        meta = json.loads(str(arrays.pop(META_KEY)))
    except Exception as exc:  # numpy and json raise many types for a file that is not one of ours
        raise UserError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None
    if meta.get("fitted") == "item_knn":
        from aiaas_recipes.recommend.knn import ItemKNN as kind
    else:
        kind = KINDS.get(meta.get("fitted"))
    if kind is None:
        raise UserError(f"{path} is not a recommend model (fitted kind {meta.get('fitted')!r})")
    model = kind.__new__(kind)
    model.meta, model.seed, model.params, model.arrays = meta, 0, {}, arrays
    return model, meta
