"""Property-based fuzzing of the served Bento from its own OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow

EXAMPLES = 40  # per operation: bounded, so the test stops by itself in seconds


def test_no_server_errors(server):
    schema = schemathesis.openapi.from_url(f"{server.url}/docs.json").include(path_regex="^/predict")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/predict", "/predict_batch"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case):
            response = case.call(base_url=server.url, timeout=30)
            assert response.status_code < 500, f"{case.path}: {response.status_code} {response.text[:300]}"

        no_5xx()
