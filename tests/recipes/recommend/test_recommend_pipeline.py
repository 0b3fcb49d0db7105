"""End to end on a user's own table: every stage, `aiaas predict` on a users file, then the Bento over HTTP.

The table has its own column names, repeated interactions, unknown timestamps and single-interaction users;
each problem is reported and the rest goes through. The served answers must equal local `predict`'s.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import Server
from schemafuzz import assert_no_5xx

from aiaas_cli.serving.runtime import Predictor
from aiaas_recipes.recommend.generate import generate

pytestmark = pytest.mark.slow

SIZES = {"users": 150, "items": 80, "genres": 5, "dim": 8, "interactions_per_user": 10, "popularity_skew": 1.0,
         "drift": 0.3, "candidates": 24, "sharpness": 6.0}  # fmt: skip
COLUMNS = ["data.user_column=visitor", "data.item_column=sku", "data.time_column=seen_on"]
QUICK = ["model.dim=16", "trainer.max_epochs=3", "trainer.early_stopping.enabled=false", "export.register=false"]
UNKNOWN = "somebody-new"


def write_events(path: Path) -> None:
    """Generated interactions as a user's CSV, with the problems a real export has."""
    made = generate(SIZES, 3)
    days = (made.times - made.times.min()) // 86400
    dates = (np.datetime64("2024-01-01") + days.astype("timedelta64[D]")).astype(str)
    rows = [[u, i, d] for u, i, d in zip(made.users, made.items, dates)]
    rows += rows[:5]  # repeated interactions
    rows += [["u001", "i002", "not a date"], ["u002", "i003", ""], ["u003", "i004", "31/31/2024"]]  # unknown times
    rows += [["lonely", "i001", "2024-02-01"], ["once", "i002", "2024-02-02"]]  # single-interaction users
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["visitor", "sku", "seen_on", "channel"])
        writer.writerows([[*row, "web"] for row in rows])


@pytest.fixture(scope="module")
def run(cli, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("recommend") / "events.csv"
    write_events(path)
    return cli.json("pipeline", "recommend", f"data.path={path}", *COLUMNS, *QUICK)


def test_every_stage_runs_and_reports_each_problem(run):
    metrics = run["metrics"]
    assert {"recall", "ndcg", "map", "coverage", "k"} <= set(metrics) and metrics["k"] == 10
    assert metrics["baseline"]["name"] == "most-popular"
    assert set(metrics["baselines"]) == {"most-popular", "item-knn"}
    assert run["parity"]["topk_agreement"] == 1.0 and run["bento_tag"].startswith("aiaas-recommend:")
    manifest = json.loads((Path(run["dataset_dir"]) / "manifest.json").read_text())
    assert sorted(s["reason"] for s in manifest["skipped"]) == [
        "unknown timestamp ''", "unknown timestamp '31/31/2024'", "unknown timestamp 'not a date'"
    ]  # fmt: skip
    assert manifest["duplicates_merged"] >= 5 and manifest["single_interaction_users"] >= 2
    assert manifest["filtered"]["users"] >= 2  # lonely and once: served the popular items


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("predict") / "users.txt"
    path.write_text(f"u001\nu002\n\n{UNKNOWN}\nlonely\n")
    return path


def predict(cli, users_file: Path, *source: str) -> list[dict]:
    out = users_file.with_name(f"out-{len(list(users_file.parent.iterdir()))}.jsonl")
    cli("predict", "recommend", str(users_file), *source, "-k", "5", "--output", str(out))
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.fixture(scope="module")
def predicted(cli, run, users_file) -> list[dict]:
    return predict(cli, users_file, "--model", f"run={run['run_id']}")


def test_predict_writes_jsonl_with_the_popular_fallback(predicted):
    assert [row["user"] for row in predicted] == ["u001", "u002", UNKNOWN, "lonely"]
    assert [row["fallback"] for row in predicted] == [None, None, "popular", "popular"]
    assert all(len(row["items"]) == 5 for row in predicted)
    assert predicted[2]["items"] == predicted[3]["items"]  # both get the same popular items


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    running = Server(run["bento_tag"], tmp_path_factory.mktemp("serve-recommend") / "server.log").wait_ready()
    yield running
    running.stop()


def test_served_answers_equal_local_predict(server, run, predicted):
    local = Predictor(run["onnx_path"])
    for row in predicted:
        body = requests.post(f"{server.url}/predict", json={"user": row["user"], "k": 5}, timeout=30).json()
        assert body == {key: row[key] for key in ("user", "items", "fallback")}
    seen = local.predict([{"user": "u001", "exclude_seen": False}], k=7)[0]
    body = requests.post(f"{server.url}/predict", json={"user": "u001", "k": 7, "exclude_seen": False}, timeout=30)
    assert body.json() == seen
    similar = requests.post(f"{server.url}/similar", json={"item": "i001", "k": 3}, timeout=30).json()
    expected = local.predict([{"item": "i001"}], k=3)[0]
    assert similar == {"item": "i001", "items": expected["items"]} and len(similar["items"]) == 3


def test_predict_through_the_service_writes_the_same_lines(cli, server, users_file, predicted):
    assert predict(cli, users_file, "--url", server.url) == predicted


BAD = {
    "no user": ("/predict", {"k": 3}),
    "user not a string": ("/predict", {"user": 5}),
    "empty user": ("/predict", {"user": ""}),
    "k of 0": ("/predict", {"user": "u001", "k": 0}),
    "k above max_k": ("/predict", {"user": "u001", "k": 1000}),
    "exclude_seen not a flag": ("/predict", {"user": "u001", "exclude_seen": "maybe"}),
    "not JSON": ("/predict", "user=u001"),
    "unknown item": ("/similar", {"item": "no-such-item"}),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests_get_4xx_json(server, case):
    route, body = BAD[case]
    kwargs = (
        {"data": body, "headers": {"content-type": "application/json"}} if isinstance(body, str) else {"json": body}
    )
    answer = requests.post(f"{server.url}{route}", timeout=30, **kwargs)
    assert 400 <= answer.status_code < 500, answer.text
    assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_fuzzed_requests_never_get_a_5xx(server):
    assert_no_5xx(server.url, paths="^/(predict|similar)$", expect={"/predict", "/similar"})
