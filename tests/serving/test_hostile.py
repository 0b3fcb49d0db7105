"""What a hostile or careless client cannot do to a served model: stall it, hold its sockets, choose its code."""

from __future__ import annotations

import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest
import requests

from aiaas_cli import workspace
from aiaas_cli.errors import UserError
from aiaas_cli.serving.limits import json_depth
from aiaas_cli.serving.runtime import BadInput, Predictor

pytestmark = pytest.mark.slow


def _open_slow(server, count: int) -> list[socket.socket]:
    """Sockets that send the start of a request head and then nothing (slowloris)."""
    opened = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        opened.append(sock)
    return opened


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True  # reset


def test_slow_headers_are_dropped_and_health_keeps_answering(server):
    sockets = _open_slow(server, 30)  # header_timeout_s=2 in the test Bento
    try:
        started = time.monotonic()
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        assert time.monotonic() - started < 2
        time.sleep(3.5)
        assert all(_closed_by_server(sock) for sock in sockets)
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
    finally:
        for sock in sockets:
            sock.close()


def test_connections_beyond_the_cap_are_closed_at_once(server):
    sockets = _open_slow(server, 150)  # max_connections=48 per worker, 2 workers
    try:
        time.sleep(0.5)
        closed = sum(_closed_by_server(sock) for sock in sockets)
        assert closed >= 150 - 2 * 48
    finally:
        for sock in sockets:
            sock.close()
    time.sleep(0.5)
    assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200


def test_real_clients_get_in_while_slow_sockets_fill_the_cap(server):
    sockets = _open_slow(server, 250)  # over max_connections=48 on both workers
    try:
        time.sleep(0.5)
        answers = [requests.get(f"{server.url}/readyz", timeout=5).status_code for _ in range(10)]
        assert answers == [200] * 10  # before: the server closed every new connection until the slow ones expired
    finally:
        for sock in sockets:
            sock.close()


def _gray16_png(side: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((side, side), np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_answers_while_costly_bodies_are_decoded(server):
    body = [("images", (f"{i}.png", _gray16_png(1000))) for i in range(2)]  # 2 MP: the test Bento's request budget
    url = f"{server.url}/predict_batch"
    with ThreadPoolExecutor(8) as pool:
        posts = [pool.submit(requests.post, url, files=body, timeout=120) for _ in range(8)]
        health = []
        while not all(post.done() for post in posts):
            started = time.monotonic()
            assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.05)
    assert [post.result().status_code for post in posts] == [200] * 8
    assert health and max(health) < 2.0  # the event loop is never held by decoding (it was, for seconds, before)


def test_a_model_cannot_choose_the_module_that_is_imported(exported_run, tmp_path, cli):
    crafted = onnx.load(str(workspace.run_dir(exported_run) / "model.onnx"))
    props = {p.key: p.value for p in crafted.metadata_props}
    props["aiaas"] = props["aiaas"].replace("aiaas_recipes.image_cls.serving", "this")
    onnx.helper.set_model_props(crafted, props)
    path = tmp_path / "crafted.onnx"
    onnx.save(crafted, str(path))
    with pytest.raises(UserError, match="serving module 'this'"):
        Predictor(path, allowed={"aiaas_recipes.image_cls.serving"})
    image = next(workspace.datasets_dir().glob("image-cls-*/manifest.json")).parent
    result = cli("predict", "image-cls", str(image / "manifest.json"), "--model", str(path), expect=1)
    assert "refusing to import it" in result.stderr and "Beautiful is better" not in result.stdout + result.stderr


def test_json_depth_scans_without_recursing():
    assert json_depth(b'{"a": [1, {"b": [2]}]}') == 4
    assert json_depth(b'{"text": "[[[[[[ not nesting ]]]]]] \\" ["}') == 1
    assert json_depth(b"[" * 100_000) == 100_000  # no RecursionError, unlike a parser


def test_a_request_is_refused_once_decoding_it_runs_over_budget(monkeypatch):
    from bentoml._internal.utils.args import set_arguments

    set_arguments({"model_tag": "unused:1"})
    from aiaas_cli.serving import service

    class Slow:
        def decode(self, payload):
            time.sleep(0.05)
            return payload

    engine = object.__new__(service.Engine)
    engine.adapter = Slow()
    monkeypatch.setattr(service.SETTINGS, "max_decode_seconds", 0.12)
    assert engine.decode([1, 2]) == [1, 2]
    with pytest.raises(BadInput, match="took over 0.12 s") as caught:
        engine.decode(list(range(20)))
    assert caught.value.status == 413
