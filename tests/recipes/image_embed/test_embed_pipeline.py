"""image-embed through every stage on a small identity folder (with a packaged gallery), then served over HTTP:
embeddings equal to local predict's, enrol / identify / verify / delete, 4xx for every bad body, two clients enrolling
at once into two workers until kill -9, every answered enrolment kept across the restart, no torch in the service."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest
import requests
from conftest import Server
from processes import torch_loaded

from aiaas_recipes.image_embed.synth import write_faces

QUICK = ["trainer.max_epochs=2", "trainer.early_stopping.enabled=false", "data.image_size=16", "data.batch_size=16",
         "model.channels=[8,16,16]", "model.embedding_dim=16", "serve.workers=2", "serve.threads=1"]  # fmt: skip


def _post(url: str, route: str, files, data=None) -> requests.Response:
    return requests.post(f"{url}{route}", files=files, data=data, timeout=60)


def _enrol_until_killed(server: Server, bento_tag: str, image: bytes) -> list[str]:
    """Two clients enrol new names at once (the service has two workers) until the server process is killed with
    SIGKILL mid-stream; the names whose enrolment was answered 200."""
    answered: list[str] = []

    def client(prefix: str) -> None:
        for i in range(10_000):
            try:
                reply = _post(server.url, "/enroll", [("images", image)], {"name": f"{prefix}{i}"})
            except requests.RequestException:
                return
            if reply.status_code == 200:
                answered.append(f"{prefix}{i}")

    threads = [threading.Thread(target=client, args=(prefix,)) for prefix in ("a", "b")]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    # kill -9 of the server process alone, as a crash would: its workers (in sessions of their own) must die with it
    # rather than go on serving orphaned (service.die_with_parent); any left are killed, and the test fails
    workers = [p for p in psutil.process_iter(["cmdline"]) if bento_tag in " ".join(p.info["cmdline"] or [])]
    workers = [p for p in workers if p.pid != server.process.pid]
    assert len(workers) == 2, workers
    os.kill(server.process.pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(workers, timeout=15)
    for proc in alive:
        proc.kill()
    assert not alive, f"workers still running after their server was killed: {[p.pid for p in alive]}"
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "the clients still get answers after kill -9"
    assert {name[0] for name in answered} == {"a", "b"}, answered
    return list(answered)


@pytest.mark.slow
def test_pipeline_gallery_and_service(cli, tmp_path):
    root = write_faces(tmp_path / "people", identities=12, per_identity=5)
    known = write_faces(tmp_path / "known", identities=3, per_identity=2, seed=7)
    out = cli.json("pipeline", "image-embed", f"data.root={root}", f"gallery={known}", *QUICK)
    assert {"tar_at_far_1e-2", "roc_auc", "eer", "top1", "top5", "baseline"} <= set(out["metrics"])
    assert out["parity"]["cosine_agreement"] == 1.0
    photo = root / "id_000" / "00.png"
    local = json.loads(cli("predict", "image-embed", str(photo), "--model", f"run={out['run_id']}").stdout)

    server = Server(out["bento_tag"], tmp_path / "server.log").wait_ready()
    try:
        url = server.url
        served = _post(url, "/embed", {"image": photo.read_bytes()}).json()["embedding"]
        assert float(np.dot(served, local["embedding"])) >= 0.9999
        assert _post(url, "/predict", {"image": photo.read_bytes()}).json()["embedding"] == served
        listed = requests.get(f"{url}/gallery", timeout=30).json()["identities"]
        assert {row["name"] for row in listed} == {"id_000", "id_001", "id_002"}  # packaged with gallery=DIR

        images = [("images", (root / "id_005" / f"0{i}.png").read_bytes()) for i in range(3)]
        enrolled = _post(url, "/enroll", images, {"name": "alice"})
        assert enrolled.status_code == 200 and enrolled.json()["enrolled"] == 3, enrolled.text
        found = _post(url, "/identify", {"image": (root / "id_005" / "01.png").read_bytes()}, {"k": "2"}).json()
        assert len(found["matches"]) == 2 and found["identity"] == "alice"  # an enrolled image: its own vector
        assert found["matches"][0] == {"name": "alice", "score": pytest.approx(1.0, abs=1e-4)}
        same = _post(url, "/verify", {"image_a": photo.read_bytes(), "image_b": photo.read_bytes()}).json()
        assert same["same"] is True and same["similarity"] == pytest.approx(1.0, abs=1e-5)

        assert _post(url, "/embed", {"image": b"not an image"}).status_code == 400
        assert _post(url, "/enroll", images, {"name": "  "}).status_code == 400
        assert _post(url, "/enroll", [("images", b"nope")], {"name": "bob"}).status_code == 400
        assert _post(url, "/verify", {"image_a": photo.read_bytes()}).status_code == 400
        assert requests.delete(f"{url}/enroll/nobody", timeout=30).status_code == 404
        assert torch_loaded(server.process.pid) == []
        answered = _enrol_until_killed(server, out["bento_tag"], photo.read_bytes())
    finally:
        server.stop()

    server = Server(out["bento_tag"], tmp_path / "server2.log").wait_ready()  # the gallery outlives the process
    try:
        names = {row["name"] for row in requests.get(f"{server.url}/gallery", timeout=30).json()["identities"]}
        assert "alice" in names
        assert set(answered) <= names  # every enrolment answered 200 before kill -9 is there
        assert requests.delete(f"{server.url}/enroll/alice", timeout=30).json()["removed"] >= 1
        assert requests.delete(f"{server.url}/enroll/alice", timeout=30).status_code == 404
    finally:
        server.stop()
