"""Load, the CI form of benchmarks/bench_load.py: 32 concurrent clients for 10 s against the shared digits Bento."""

from __future__ import annotations

import pytest
from test_http import digit_files

from benchmarks.bench_load import encode, load

pytestmark = pytest.mark.slow


def test_32_clients_for_10_seconds_get_no_failure(server):
    requests = [{"files": {"image": (p.name, p.read_bytes())}, "data": {"k": "3"}} for p in digit_files(10)]
    bodies = [encode(server.url, request) for request in requests]
    result = load(server.url, bodies, server.process.pid, clients=32, seconds=10)
    print(result)  # the figures, in the test log
    assert result["sent"] >= 100  # the server answered at least 10 req/s, even on a loaded CI machine
    assert result["ok"] == result["sent"]
    assert result["failures"] == result["4xx"] == result["5xx"] == 0
    assert result["ready_after"] == 200
    assert result["rss_growth_mb"] < 200  # bounded: a leak of every request's body would show here
