"""What the Bento's service configures in BentoML: BentoML's OpenTelemetry middleware, which wraps every request
(~240 us of CPU each, benchmarks/bench_serve_overhead.py), lets every URL through unless `serve.tracing` is on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = """
import sys
from bentoml._internal.utils.args import set_arguments
set_arguments({"model_tag": "unused:1", "tracing": sys.argv[1] == "on"})
from aiaas_recipes.image_cls.service import ImageService
from bentoml._internal.configuration.containers import BentoMLContainer
ImageService.inject_config()  # what `bentoml serve` does with the service's config in each worker
print(BentoMLContainer.tracing_excluded_urls.get().url_disabled("http://127.0.0.1:3000/predict"))
"""


@pytest.mark.parametrize(("tracing", "excluded"), [("off", "True"), ("on", "False")])
def test_tracing_middleware_lets_requests_through_unless_asked(tracing, excluded, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHECK, tracing], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == excluded


STARTUP = """
import os, sys
from bentoml._internal.utils.args import set_arguments
set_arguments({"model_tag": "unused:1"})
import aiaas_recipes.image_cls.service
from bentoml._internal.utils.analytics.usage_stats import do_not_track
print("numpy" in sys.modules, "onnxruntime" in sys.modules, do_not_track())
"""


@pytest.mark.parametrize(("user_value", "silent"), [(None, "True"), ("false", "False")])
def test_the_arbiter_loads_the_service_without_the_model_stack_or_usage_report(user_value, silent, tmp_path):
    """BentoML's arbiter imports the service module before it starts any worker: numpy and ONNX Runtime wait for a
    worker's Engine, and BentoML's usage report (a blocking HTTPS POST) is off unless the operator says otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "BENTOML_DO_NOT_TRACK"}
    if user_value is not None:
        env["BENTOML_DO_NOT_TRACK"] = user_value
    done = subprocess.run(
        [sys.executable, "-c", STARTUP], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == f"False False {silent}"
