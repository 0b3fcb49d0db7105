"""aiaas push: local store, a directory, S3 (a real moto server, then served back), BentoCloud errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from conftest import Server, free_port

from aiaas_cli import workspace

pytestmark = pytest.mark.slow


def one_error_line(stderr: str) -> bool:
    return len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1 and "Traceback" not in stderr


def test_push_local_reports_the_store_uri(cli, bento):
    result = cli.json("push", bento["bento_tag"])
    assert result["uri"].startswith("file://") and Path(result["uri"][7:], "bento.yaml").is_file()


def test_push_to_a_directory_writes_an_archive(cli, bento, tmp_path):
    result = cli.json("push", bento["bento_tag"], "--target", str(tmp_path / "out"))
    assert result["uri"].endswith(".bento") and Path(result["uri"][7:]).is_file()


def test_push_to_s3_then_serve_it_back(cli, bento, s3, tmp_path):
    import bentoml

    uri = cli.json("push", bento["bento_tag"], "--target", "s3://models/bentos/")["uri"]
    assert uri.startswith("s3://models/bentos/aiaas-image-cls-")
    bentoml.delete(bento["bento_tag"])  # so that serving must import it from S3
    server = Server(uri, tmp_path / "server.log", env=s3).wait_ready()
    try:
        digit = sorted((workspace.builtin_dir() / "digits" / "3").glob("*.png"))[0]
        answer = requests.post(f"{server.url}/predict", files={"image": digit.read_bytes()}, timeout=30)
        assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] == "3"
    finally:
        server.stop()
    assert bentoml.get(bento["bento_tag"])


def test_push_to_unreachable_s3_fails_in_one_line(cli, bento, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = cli("push", bento["bento_tag"], "--target", "s3://models/x/", expect=1)
    assert "S3 transfer" in result.stderr and one_error_line(result.stderr)


def test_push_to_bentocloud_needs_a_token(cli, bento, monkeypatch):
    monkeypatch.delenv("BENTO_CLOUD_API_KEY", raising=False)
    result = cli("push", bento["bento_tag"], "--target", "bentocloud", expect=1)
    assert "no BentoCloud API token" in result.stderr


def test_push_to_unreachable_bentocloud_fails_in_one_line(cli, bento, monkeypatch):
    monkeypatch.setenv("BENTO_CLOUD_API_KEY", "not-a-token")
    monkeypatch.setenv("BENTO_CLOUD_API_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    result = cli("push", bento["bento_tag"], "--target", "bentocloud", expect=1)
    assert "BentoCloud push failed" in result.stderr and one_error_line(result.stderr)


def test_push_unknown_bento_fails(cli):
    result = cli("push", "no-such-bento:v1", expect=1)
    assert "no Bento 'no-such-bento:v1'" in result.stderr
