"""Property-based fuzzing of the served Bento from its own OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import pytest
from schemafuzz import assert_no_5xx

pytestmark = pytest.mark.slow

EXAMPLES = 40  # per operation: bounded, so the test stops by itself in seconds


def test_no_server_errors(server):
    assert_no_5xx(server.url, examples=EXAMPLES, expect={"/predict", "/predict_batch"})
