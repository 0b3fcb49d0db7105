"""model=lightgbm: LightGBM as an `Estimator`, with its own categorical splits, early stopping on the val split,
saved with skops and exported with onnxmltools (categorical splits become chains of equality tests in ONNX).

It reads the same arrays as the MLP: raw numbers with NaN (the trees route missing values themselves) and the
category codes, which LightGBM splits as categories (a set of codes to one side), not as ordered numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.tabular.encode import CATEGORICAL, NUMERIC
from aiaas_recipes.tabular.estimator import FEATURES, SMALL, TableEstimator

NO_VAL_ROUNDS = 100  # boosting rounds when there is no val split to stop on (LightGBM's own default)


class LightGBM(TableEstimator):
    TRUSTED = (
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
    )

    def build(self, params: dict[str, Any], seed: int) -> Any:
        from lightgbm import LGBMClassifier, LGBMRegressor

        self.stopping_rounds = int(params.pop("early_stopping_rounds"))
        self.native_categories = bool(params.pop("native_categories"))
        kind = LGBMRegressor if self.regression else LGBMClassifier
        # deterministic + one histogram layout: the same trees from the same data on any CPU and thread count
        return kind(random_state=seed, deterministic=True, force_col_wise=True, verbose=-1, **params)

    def train(self, x: np.ndarray, y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> None:
        import lightgbm

        start = self.meta["inputs"][NUMERIC]
        categorical = list(range(start, start + self.meta["inputs"][CATEGORICAL])) if self.native_categories else []
        self.model.set_params(n_jobs=1 if len(y) < SMALL else None)
        if not len(val_y):
            self.model.set_params(n_estimators=min(NO_VAL_ROUNDS, self.model.n_estimators))
            self.model.fit(x, y, categorical_feature=categorical)
            return
        stop = lightgbm.early_stopping(self.stopping_rounds, first_metric_only=True, verbose=False)
        self.model.fit(x, y, eval_X=val_x, eval_y=val_y, categorical_feature=categorical, callbacks=[stop])

    def to_onnx(self, width: int, opsets: dict[str, int]) -> Any:
        """onnxmltools' own tensor types (skl2onnx's are refused by its LightGBM parser)."""
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        return convert_lightgbm(
            self.model,
            initial_types=[(FEATURES, FloatTensorType([None, width]))],
            target_opset=opsets[""],
            zipmap=False,
        )
