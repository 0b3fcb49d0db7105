"""Tabular classification and regression: a CSV/TSV/Parquet table (or a bundled scikit-learn one) to a model."""
