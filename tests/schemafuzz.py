"""Schema-driven fuzzing of a served model: every /predict* operation from its OpenAPI schema answers below 500.

The one fuzz loop of the test suite: pipeline and serving tests call `assert_no_5xx` instead of writing their own.
"""

from __future__ import annotations

from collections.abc import Iterable


def assert_no_5xx(url: str, examples: int = 30, paths: str = "^/predict", expect: Iterable[str] | None = None) -> None:
    """Every operation of the service at ``url`` whose path matches ``paths``, fuzzed from its OpenAPI schema,
    answers below 500. At least one operation must match (``expect``: exactly these paths), so a renamed route or
    an empty schema fails instead of fuzzing nothing."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{url}/docs.json").include(path_regex=paths)
    operations = [result.ok() for result in schema.get_all_operations()]
    service = f"{schema.raw_schema.get('info', {}).get('title', 'service')} at {url}"
    assert operations, f"{service}: no operation matching {paths!r} to fuzz"
    if expect is not None:
        assert {op.path for op in operations} == set(expect), f"{service}: fuzzed {[op.path for op in operations]}"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case):
            response = case.call(base_url=url, timeout=30)
            assert response.status_code < 500, f"{case.path}: {response.status_code} {response.text[:300]}"

        no_5xx()
