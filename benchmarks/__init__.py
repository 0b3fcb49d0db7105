"""Benchmarks: scripts that print ratios (BENCHMARKS.md records them), run from the repo root as modules.

`python -m benchmarks.bench_x`: the scripts share helpers (`benchmarks.serving_kit`, `benchmarks.vision_serving`)
as a package, without touching sys.path; the project itself comes from the installed `aiaas_*` packages.
"""
