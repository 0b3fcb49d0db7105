"""Sequence recipes: whole-sequence classification (seq-cls) and forecasting the next values of a series
(forecast). Kept torch-free at import: the serving halves ship from here into the Bento."""
