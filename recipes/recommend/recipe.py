"""The recommend recipe: what the registry sees. Light at import time; heavy parts load on use.

export.quantize=int8 is refused in ``compare_outputs``, the first hook that is handed the export settings:
static QDQ quantization of the served graph fails in ONNX Runtime (per-axis scales on the item-table Gather).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec, Metrics, Parity, Recipe

_FINGERPRINT_VERSION = 1  # bump when the dataset dir's layout or content changes
TRAINING_ONLY = ("batch_size",)  # data settings that do not change the dataset dir
FITTED = ("aiaas_recipes.recommend.fitted.", "aiaas_recipes.recommend.knn.")  # models that train themselves
FITTED_SUFFIX = ".npz"


def is_fitted(model_cfg: Any) -> bool:
    """A model that fits itself (popular, ALS, item-kNN) rather than a network trained by Lightning."""
    return str(model_cfg.get("_target_") or "").startswith(FITTED)


class Recommend(Recipe):
    name = "recommend"
    description = "Top-k recommendations from an interactions table (built-in: generated latent-factor data)"
    config_name = "recommend"
    serving_module = "aiaas_recipes.recommend.serving"
    metrics = Metrics(
        names=("recall", "ndcg", "map", "coverage"),
        headline="ndcg",
        monitor="val_ndcg",
        mode="max",
        details=("baselines", "k"),
    )
    models = ("mf", "two_tower", "als", "item_knn", "popular")
    # model=auto (the default): cheapest first; two_tower is left out (slower than mf, not better on the built-in data)
    auto_candidates = ("popular", "item_knn", "als", "mf")

    def check_config(self, cfg: Any) -> None:
        from aiaas_recipes.common.choices import check_choice

        check_choice("loss.name", cfg.loss.name, ("softmax", "bpr"))

    def fingerprint(self, cfg: Any) -> str:
        from aiaas_recipes.common.data.fingerprint import data_settings, digest, files_digest, input_table

        settings = data_settings(cfg.data, TRAINING_ONLY)
        if cfg.data.path:
            settings.pop("generated", None)
        inputs = files_digest(input_table(cfg.data), none="generated")
        return digest({"settings": settings, "input": inputs, "v": _FINGERPRINT_VERSION})

    def build_dataset(self, cfg: Any, out_dir: Path) -> dict:
        from aiaas_recipes.recommend import dataset

        return dataset.build(cfg, out_dir)

    def dataset_summary(self, manifest: dict) -> dict:
        keys = ("users", "items", "interactions", "feedback", "time_order", "eval_users", "filtered",
                "duplicates_merged", "single_interaction_users", "not_positive", "columns")  # fmt: skip
        return {key: manifest[key] for key in keys if key in manifest}

    def datamodule(self, cfg: Any, dataset_dir: Path, manifest: dict) -> Any:
        from aiaas_recipes.recommend.training import InteractionsData

        return InteractionsData(dataset_dir, cfg.data, int(cfg.seed))

    def model(self, cfg: Any, manifest: dict, dataset_dir: Path) -> Any:
        from omegaconf import OmegaConf

        from aiaas_cli.config import instantiate
        from aiaas_recipes.recommend.dataset import load_ids
        from aiaas_recipes.recommend.training import build_module

        ids = load_ids(dataset_dir)
        meta = {
            "recipe": self.name,
            "model": OmegaConf.to_container(cfg.model, resolve=True),
            "n_users": int(manifest["users"]),
            "n_items": int(manifest["items"]),
            "k": int(cfg.k),
            "max_k": int(cfg.max_k),
            "user_ids": ids["users"],
            "item_ids": ids["items"],
        }
        if is_fitted(cfg.model):  # _partial_: the metadata is passed as plain Python values, not config nodes
            return instantiate(cfg.model, _partial_=True)(meta=meta, seed=int(cfg.seed))
        net = instantiate(cfg.model, n_users=meta["n_users"], n_items=meta["n_items"])
        return build_module(net, cfg, meta, dataset_dir)

    def checkpoint_suffix(self, cfg: Any) -> str:
        return FITTED_SUFFIX if is_fitted(cfg.model) else ".ckpt"

    def load_model(self, path: Path) -> tuple[Any, dict]:
        if Path(path).suffix == FITTED_SUFFIX:
            from aiaas_cli.errors import ConfigError
            from aiaas_recipes.recommend import fitted

            model, meta = fitted.load(Path(path))
            if meta.get("recipe") != self.name:
                raise ConfigError(f"model {path} is from recipe '{meta.get('recipe')}', not '{self.name}'")
            return model, meta
        from aiaas_recipes.recommend import export

        return export.load(Path(path), self.name)

    def evaluate(self, network: Any, dataset_dir: Path, manifest: dict, split: str) -> dict:
        from aiaas_recipes.recommend.evaluation import evaluate_split

        return evaluate_split(network, dataset_dir, manifest, split)

    def export_spec(self, network: Any, meta: dict) -> ExportSpec:
        from aiaas_recipes.recommend import export

        return export.export_spec(network, meta)

    def export_samples(self, dataset_dir: Path, manifest: dict, split: str, limit: int) -> tuple[dict, Any]:
        from aiaas_recipes.recommend import export

        return export.samples(dataset_dir, split, limit)

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, Any]:
        from aiaas_recipes.recommend import export

        return export.reference_outputs(network, inputs)

    def compare_outputs(self, expected: dict, actual: dict, export_cfg: Any) -> Parity:
        from aiaas_recipes.recommend import export

        if export_cfg.get("quantize"):  # the first hook that sees the export settings (see the module docstring)
            from aiaas_cli.errors import ConfigError

            raise ConfigError("recommend models are not quantized (int8 QDQ breaks the item-table lookup)",
                              "drop export.quantize")  # fmt: skip

        return export.compare(expected, actual, float(export_cfg.tolerance))

    def score_outputs(self, outputs: dict, targets: Any) -> float:
        """NDCG at 10 of the graph's top items against each query's target items."""
        import numpy as np
        from scipy.sparse import csr_matrix

        from aiaas_recipes.recommend.ranking import metrics

        rows = [(i, t) for i, wanted in enumerate(targets) for t in wanted]
        names = {name: j for j, name in enumerate(dict.fromkeys([*np.ravel(outputs["items"]), *(t for _, t in rows)]))}
        top = np.vectorize(names.__getitem__, otypes=[np.int64])(outputs["items"])
        relevant = csr_matrix(
            (np.ones(len(rows)), ([i for i, _ in rows], [names[t] for _, t in rows])), shape=(len(targets), len(names))
        )
        return metrics(top, relevant, len(names), 10)["ndcg"]

    def sample_inputs(self, dataset_dir: Path, manifest: dict, limit: int) -> list[tuple[str, Any]]:
        import numpy as np

        from aiaas_recipes.recommend.dataset import load_ids, load_split

        users = load_ids(dataset_dir)["users"]
        chosen = np.unique(load_split(dataset_dir, "test")[0])[:limit]
        return [(f"test:{users[u]}", users[u]) for u in chosen]

    def smoke_overrides(self, workdir: Path) -> list[str]:
        sizes = ["users=60", "items=40", "interactions_per_user=8", "genres=4"]
        return [*(f"data.generated.{s}" for s in sizes), "model.dim=8", "data.batch_size=32", "max_k=20"]


recipe = Recommend()
