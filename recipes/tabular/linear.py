"""model=linear: a regularised linear model (LogisticRegression or Ridge) on standardised numbers, missing-value
indicators and one-hot categories, as one scikit-learn Pipeline: saved with skops, exported with skl2onnx.

The regularisation strength is chosen on the val split: each value of ``regularization`` is fitted on train and
the one with the lowest val loss is kept (fits of a linear model take milliseconds on the tables this serves).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aiaas_recipes.tabular.encode import NUMERIC, RESERVED
from aiaas_recipes.tabular.estimator import FEATURES, TableEstimator, indicator_columns


class Linear(TableEstimator):
    TRUSTED = ("numpy.dtype",)
    INDICATORS = True

    def build(self, params: dict[str, Any], seed: int) -> Any:
        self.strengths = [float(s) for s in params.pop("regularization")]
        self.max_iter = int(params.pop("max_iter"))
        return self.pipeline(self.strengths[0])

    def pipeline(self, strength: float) -> Any:
        """Impute (median) and scale the numbers, pass the 0/1 indicators, one-hot the codes, then the model.

        Columns follow `estimator.features`: numbers, indicators, codes; the one-hot categories are every code
        a column can take (the "unknown" and "missing" ones included), so the encoding is fixed by the schema.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        n_numeric, n_indicators = self.meta["inputs"][NUMERIC], len(indicator_columns(self.meta))
        start = n_numeric + n_indicators
        vocabularies = [c["vocabulary"] for c in self.meta["schema"]["columns"] if c["kind"] == "categorical"]
        codes = [np.arange(RESERVED + len(v), dtype=np.float64) for v in vocabularies]
        numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        one_hot = OneHotEncoder(categories=codes, handle_unknown="ignore")
        parts = [
            ("numbers", numbers, list(range(n_numeric))),
            ("indicators", "passthrough", list(range(n_numeric, start))),
            ("categories", one_hot, list(range(start, start + len(codes)))),
        ]
        columns = ColumnTransformer([part for part in parts if part[2]])
        if self.regression:
            return make_pipeline(columns, Ridge(alpha=strength))
        return make_pipeline(columns, LogisticRegression(C=1.0 / strength, max_iter=self.max_iter))

    def train(self, x: np.ndarray, y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> None:
        """The strength with the lowest val loss (the first one when there is no val split)."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        best = None
        for strength in self.strengths if len(val_y) else self.strengths[:1]:
            self.model = self.pipeline(strength)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the iteration cap still gives a usable fit
                self.model.fit(x, y)
            loss = self.val_metrics(val_x, val_y)["val_loss"] if len(val_y) else 0.0
            if best is None or loss < best[0]:
                best = (loss, strength, self.model)
        self.strength, self.model = best[1], best[2]

    def to_onnx(self, width: int, opsets: dict[str, int]) -> Any:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        options = {} if self.regression else {id(self.model): {"zipmap": False}}
        initial = [(FEATURES, FloatTensorType([None, width]))]
        return convert_sklearn(self.model, initial_types=initial, options=options, target_opset=opsets)
