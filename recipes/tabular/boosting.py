"""model=hist_gb: scikit-learn's HistGradientBoosting as an `Estimator`, saved with skops, exported with skl2onnx.

It reads the same arrays as the MLP: raw numbers with NaN (the trees route missing values themselves) and
categorical indices, used as ordinal codes (skl2onnx cannot export native categorical splits).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from aiaas_recipes.tabular.estimator import FEATURES, TableEstimator


class HistGradientBoosting(TableEstimator):
    TRUSTED = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)

    def build(self, params: dict[str, Any], seed: int) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        kind = HistGradientBoostingRegressor if self.regression else HistGradientBoostingClassifier
        return kind(random_state=seed, **params)

    def to_onnx(self, width: int, opsets: dict[str, int]) -> Any:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        options = {} if self.regression else {id(self.model): {"zipmap": False}}
        with _patched_tree_converter():
            return convert_sklearn(
                self.model,
                initial_types=[(FEATURES, FloatTensorType([None, width]))],
                options=options,
                target_opset=opsets,
            )


@contextmanager
def _patched_tree_converter():
    """Two fixes to skl2onnx 1.20's HistGradientBoosting trees, applied while converting:
    - it stores a Python bool in an int list, which protobuf 6+ refuses ("Expected an int, got a boolean");
    - it rounds the float64 split thresholds to the nearest float32, which flips `x <= threshold` for an
      input just above a threshold that rounded up; skl2onnx's own `adjust_threshold_for_sklearn` rounds
      them down instead (as it does for other tree models), so ONNX splits exactly as scikit-learn does.
    """
    from skl2onnx.operator_converters import random_forest

    original = random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting

    def add_tree(attr_pairs, *args, **kwargs):
        args = list(args)
        if len(args) > 6:  # the positional adjust_threshold_for_sklearn of skl2onnx's calls
            args[6] = True
        else:
            kwargs["adjust_threshold_for_sklearn"] = True
        kwargs["dtype"] = np.float32
        original(attr_pairs, *args, **kwargs)
        flags = attr_pairs["nodes_missing_value_tracks_true"]
        flags[:] = [int(flag) for flag in flags]

    random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = add_tree
    try:
        yield
    finally:
        random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = original
