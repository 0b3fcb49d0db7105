"""Hydra configs shipped with aiaas (installed as the `aiaas_conf` package)."""
