"""The messy table through every stage, once per test session per recipe, shared by the slow tabular tests.

Not a conftest.py: a second module named conftest would shadow tests/conftest.py for `from conftest import`.
"""

from __future__ import annotations

from pathlib import Path

from tablefiles import write_messy

DATA = {
    "tabular-cls": ["data.target=churn", "+data.column_types.spend=drop"],
    "tabular-reg": ["data.target=spend", "+data.column_types.churn=drop"],
}
# the candidates that train themselves through package and serve (the MLP's export is covered in test_tabular_models)
MODELS = {"tabular-cls": ["model=lightgbm"], "tabular-reg": ["model=hist_gb", "model.max_iter=50"]}
_done: dict[str, dict] = {}


def messy_table(home: Path) -> Path:
    path = Path(home) / "tables" / "customers.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_messy(path)
    return path


def data_overrides(recipe: str, home: Path) -> list[str]:
    return [f"data.path={messy_table(home)}", *DATA[recipe]]


def pipeline(cli, recipe: str, home: Path) -> dict:
    """`aiaas pipeline RECIPE --json` on the messy table (lightgbm for tabular-cls, hist_gb for tabular-reg)."""
    if recipe not in _done:
        _done[recipe] = cli.json("pipeline", recipe, *data_overrides(recipe, home), *MODELS[recipe])
    return _done[recipe]
