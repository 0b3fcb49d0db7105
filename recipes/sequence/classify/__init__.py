"""seq-cls: classify whole multivariate sequences (sensor windows, signals)."""
