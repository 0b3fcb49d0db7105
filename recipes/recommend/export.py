"""Export: a trained recommender to its served ONNX graph, the reference it is checked against, parity.

Every model (the networks' `Recommender`, and fitted.py's and knn.py's models) offers the same three methods:
``write_onnx(path, opset)``, ``reference(inputs)`` (what the graph should answer, in numpy) and ``scorer(known)``
(evaluation's (users, items) scores, given the interactions known before the evaluated split).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiaas_cli.recipe_api import ExportSpec, Parity
from aiaas_recipes.recommend import dataset, graph, reference

UNKNOWN_USER = "\x00unknown user"  # an id no table holds: the parity check covers the popular fallback


@dataclass
class Recommender:
    """A trained network with what serving needs besides its weights (read from the checkpoint)."""

    net: torch.nn.Module
    meta: dict
    history_indptr: np.ndarray
    history_items: np.ndarray
    popularity: np.ndarray

    def tables(self) -> graph.Tables:
        """The served tables: user vectors (score scale folded in), item vectors and biases."""
        n_users = self.meta["n_users"]
        with torch.inference_mode():
            users = self.net.scale * self.net.encode_users(torch.arange(n_users))
            items, bias = self.net.encode_items(), self.net.item_bias()
        return graph.Tables(
            user_ids=self.meta["user_ids"], item_ids=self.meta["item_ids"], users=users.detach().numpy(),
            items=items.detach().numpy(), bias=bias.detach().numpy(), popularity=self.popularity,
            history_indptr=self.history_indptr, history_items=self.history_items, max_k=int(self.meta["max_k"]),
        )  # fmt: skip

    def write_onnx(self, path: Path, opset: int) -> None:
        graph.write(self.tables(), path, opset)

    def reference(self, inputs: dict) -> dict[str, np.ndarray]:
        return reference.tables_outputs(self.tables(), inputs)

    def scorer(self, known) -> Any:
        """Scores from the trained vectors (a network's users are what training made them, whatever is known)."""

        def score(users: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return self.net(torch.from_numpy(users)).numpy()

        return score


def export_spec(network: Any, meta: dict) -> ExportSpec:
    return ExportSpec(
        example_inputs=(),
        input_names=list(graph.INPUTS),
        output_names=list(graph.OUTPUTS),
        dynamic_axes={name: {0: "batch"} for name in (*graph.INPUTS, *graph.OUTPUTS)},
        metadata={
            "max_k": min(int(meta["max_k"]), int(meta["n_items"])),
            "users": meta["n_users"],
            "items": meta["n_items"],
            "k": meta["k"],
            "model": meta.get("fitted") or str(meta["model"].get("_target_", "")).rsplit(".", 1)[-1],
        },  # fmt: skip
        convert=network.write_onnx,
    )


def samples(dataset_dir: Path, split: str, limit: int) -> tuple[dict, list[list[str]]]:
    """Queries for the parity check: users of ``split`` (their items there are the targets), then, room
    permitting, an unknown user and an item query."""
    ids = dataset.load_ids(dataset_dir)
    user, item = dataset.load_split(dataset_dir, split)
    chosen = np.unique(user)[: max(limit - 2, 1)][:limit]
    targets = [[ids["items"][i] for i in item[user == u]] for u in chosen]
    users = [ids["users"][u] for u in chosen]
    items = [""] * len(users)
    if limit - len(users) >= 2 and len(user):
        users += [UNKNOWN_USER, ""]
        items += ["", ids["items"][int(item[0])]]
        targets += [[], []]
    feeds = {
        "user": np.asarray(users, dtype=object),
        "item": np.asarray(items, dtype=object),
        "exclude_seen": np.ones(len(users), dtype=bool),
    }
    return feeds, targets


def reference_outputs(network: Any, inputs: dict) -> dict[str, np.ndarray]:
    """What the graph should answer, computed plainly from the trained model."""
    return network.reference(inputs)


def _row_agrees(want_items, want_scores, got_items, got_scores, tolerance: float) -> bool:
    """Same scores position by position, and the same items wherever the scores are not tied: items of equal
    score may come in either order, or be cut at the k-th place."""
    finite = np.isfinite(want_scores)
    if not np.array_equal(finite, np.isfinite(got_scores)):
        return False
    if np.any(
        np.abs(want_scores[finite] - got_scores[finite]) > tolerance * np.maximum(1, np.abs(want_scores[finite]))
    ):
        return False
    boundary = want_scores[finite][-1] if finite.any() else -np.inf
    tolerance *= max(1.0, abs(boundary)) if finite.any() else 1.0
    clear = finite & (want_scores > boundary + tolerance)  # above any tie at the cut
    return set(want_items[clear]) == set(got_items[np.isfinite(got_scores) & (got_scores > boundary + tolerance)])


def compare(expected: dict, actual: dict, tolerance: float) -> Parity:
    """The share of queries answered with the same items, scores within ``tolerance`` x max(1, |score|)."""
    want, got = expected["scores"].astype(np.float64), actual["scores"].astype(np.float64)
    both = np.isfinite(want) & np.isfinite(got)
    diff = float(np.abs(want[both] - got[both]).max()) if both.any() else 0.0
    if np.any(np.isfinite(want) != np.isfinite(got)):
        diff = float("inf")
    agree = [
        bool(k1 == k2) and _row_agrees(wi, ws, gi, gs, tolerance)
        for wi, ws, gi, gs, k1, k2 in zip(
            expected["items"], want, actual["items"], got, expected["known"], actual["known"]
        )
    ]
    worst = ""
    if not all(agree):
        i = agree.index(False)
        shown = [list(zip(expected["items"][i][:3], np.round(want[i][:3], 4))), list(zip(actual["items"][i][:3],
                 np.round(got[i][:3], 4)))]  # fmt: skip
        worst = f"query {i}: top items {shown[0]} became {shown[1]}"
    return Parity(diff, float(np.mean(agree)) if agree else 1.0, len(agree), "topk_agreement", worst, "tolerance")


def load(path: Path, recipe_name: str) -> tuple[Recommender, dict]:
    """The network and its serving tables from a checkpoint, read with weights_only (never runs code)."""
    from aiaas_cli.config import instantiate
    from aiaas_cli.errors import ConfigError, UserError

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        meta, state = checkpoint["aiaas"], checkpoint["state_dict"]
    except Exception as exc:  # torch raises many types for a bad file
        raise UserError(f"cannot load checkpoint {path}: {str(exc).splitlines()[0]}") from None
    if meta.get("recipe") != recipe_name:
        raise ConfigError(f"checkpoint {path} is from recipe '{meta.get('recipe')}', not '{recipe_name}'")
    net = instantiate(meta["model"], n_users=meta["n_users"], n_items=meta["n_items"])
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
    buffers = {name: state[name].numpy() for name in ("history_indptr", "history_items", "popularity")}
    return Recommender(net.eval(), meta, **buffers), meta
