"""Names a recipe builds from (a loss, a recurrent cell) are refused when the config is composed: no run is left."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("recipe", "override", "line"),
    [
        ("forecast", "loss.kind=foo", "loss.kind=foo must be one of mae, mse, huber"),
        ("recommend", "loss.name=foo", "loss.name=foo must be one of softmax, bpr"),
        ("seq-cls", "model.cell=lstmx", "model.cell=lstmx must be one of lstm, gru"),
        ("forecast", "model.cell=rnn", "model.cell=rnn must be one of lstm, gru"),
    ],
)
def test_a_bad_name_is_refused_before_any_run(cli, fresh_home, recipe, override, line):
    result = cli("train", recipe, override, expect=2)
    assert line in result.stderr and "Traceback" not in result.stderr
    assert not (fresh_home / "mlflow.db").exists() and not (fresh_home / "runs").exists()
