"""The sequence recipes as the registry sees them (entry points `seq-cls` and `forecast`). Light at import."""

from __future__ import annotations

from aiaas_recipes.sequence.classify.recipe import SequenceClassification
from aiaas_recipes.sequence.forecast.recipe import Forecast

seq_cls = SequenceClassification()
forecast = Forecast()
