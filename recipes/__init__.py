"""Built-in aiaas recipes (installed as the `aiaas_recipes` package): one sub-package per task."""
