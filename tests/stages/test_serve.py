"""aiaas serve: refusing a port that is taken (serving itself is tested over HTTP in tests/serving)."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.slow


def test_serve_on_a_port_in_use_fails_in_one_line(cli, bento):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = cli("serve", bento["bento_tag"], "--port", str(taken.getsockname()[1]), expect=1)
    assert "is in use" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_serve_unknown_bento_fails_in_one_line(cli):
    result = cli("serve", "no-such-bento:v1", "--port", "1", expect=1)
    assert "no Bento 'no-such-bento:v1'" in result.stderr
