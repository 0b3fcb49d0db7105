"""Schema-driven fuzzing of a served model: every /predict* operation from its OpenAPI schema answers below 500."""

from __future__ import annotations


def assert_no_5xx(url: str, examples: int = 30) -> None:
    """Every /predict* operation of the service at ``url``, fuzzed from its OpenAPI schema, answers below 500."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{url}/docs.json").include(path_regex="^/predict")
    for operation in [result.ok() for result in schema.get_all_operations()]:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case):
            response = case.call(base_url=url, timeout=30)
            assert response.status_code < 500, f"{case.path}: {response.status_code} {response.text[:300]}"

        no_5xx()
