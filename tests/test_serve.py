"""``seglab serve``: a real server process on a free loopback port, a real HTTP client; the run's
customers get the run's segments (feature rows and raw events), bad requests get clear 4xx."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from run_helpers import ROOT, RUNS, segments_of, train_run
from seglab.pipeline import load_run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=sorted(RUNS))
def server(request, tmp_path_factory):
    run_dir, data = train_run(request.param, tmp_path_factory.mktemp(request.param))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "seglab.cli", "serve", "--run", str(run_dir), "--host",
                             "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    deadline = time.monotonic() + 120
    while True:
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"seglab serve did not start: {proc.stdout.read()}")
        time.sleep(0.5)
    yield client, run_dir, data
    client.close()
    proc.terminate()
    proc.wait(timeout=30)


def plain(row: dict) -> dict:
    return {k: (None if v != v else float(v)) for k, v in row.items()}


def test_http_gives_the_runs_segments(server):
    client, run_dir, data = server
    seg = segments_of(run_dir)
    table = load_run(run_dir).features(data)
    customers = [{"customer_id": int(cid), "features": plain(row)} for cid, row in table.iterrows()]
    r = client.post("/assign", json={"customers": customers})
    assert r.status_code == 200, r.text
    got = r.json()["assignments"]
    assert [a["customer_id"] for a in got] == seg.index.tolist()
    np.testing.assert_array_equal([a["segment"] for a in got], seg["segment"].to_numpy())
    np.testing.assert_allclose([a["probabilities"] for a in got], seg.filter(like="prob_").to_numpy(), atol=1e-6)

    # one customer at a time, as feature values and as raw events (+ reviews)
    for cid in seg.index[:4]:
        one = client.post("/assign", json=customers[int(np.flatnonzero(seg.index == cid)[0])]).json()["assignments"][0]
        tx = data.transactions[data.transactions["customer_id"] == cid]
        rv = data.reviews[data.reviews["customer_id"] == cid] if data.reviews is not None else tx.iloc[:0]
        body = {"customer_id": int(cid),
                "events": [{"timestamp": str(e.timestamp), "amount": e.amount, "quantity": e.quantity,
                            "category": e.category} for e in tx.itertuples()],
                "reviews": [{"text": v.text, "timestamp": str(v.timestamp), "rating": v.rating}
                            for v in rv.itertuples()] if len(rv) else None}
        raw = client.post("/assign", json={k: v for k, v in body.items() if v is not None})
        assert raw.status_code == 200, raw.text
        # one customer's events alone take the events fast path (seglab.pipeline.fast_events); reviews the general
        assert raw.headers["x-seglab-path"] == ("general" if body["reviews"] else "fast")
        raw = raw.json()["assignments"][0]
        for answer in (one, raw):
            assert answer["customer_id"] == cid and answer["segment"] == seg.loc[cid, "segment"]
            np.testing.assert_allclose(answer["probabilities"], seg.filter(like="prob_").loc[cid].to_numpy(), atol=1e-6)


def test_feature_rows_take_the_fast_path_and_missing_values_are_imputed(server):
    client, run_dir, data = server
    seg = segments_of(run_dir)
    table = load_run(run_dir).features(data)
    cid = seg.index[0]
    row = plain(table.loc[cid])
    r = client.post("/assign", json={"customer_id": int(cid), "features": row})
    assert r.status_code == 200 and r.headers["x-seglab-path"] == "fast"
    assert r.json()["assignments"][0]["segment"] == seg.loc[cid, "segment"]
    gap = {**row, next(iter(row)): None}  # a null is a missing value, imputed as in training
    expected = load_run(run_dir).assign(table.loc[[cid]].assign(**{next(iter(row)): np.nan}))
    got = client.post("/assign", json={"customer_id": int(cid), "features": gap}).json()["assignments"][0]
    assert got["segment"] == expected["segment"].iloc[0]
    np.testing.assert_allclose(got["probabilities"], expected.filter(like="prob_").iloc[0].to_numpy(), atol=1e-6)
    r = client.post("/assign", json={"customer_id": int(cid), "features": {**row, next(iter(row)): "x"}})
    assert r.status_code == 422 and "valid number" in r.text  # the schema's 422 (not the light check's)


def test_bad_requests_are_clear_4xx(server):
    client, _, _ = server
    r = client.post("/assign", json={"customerid": 1})
    assert r.status_code == 422 and "customer_id" in r.text
    r = client.post("/assign", json={"customer_id": 1, "features": {"frequency": 2.0}})
    assert r.status_code == 422 and "lack the run's feature columns" in r.json()["detail"]
    r = client.post("/assign", json={"customer_id": 1, "events": [{"timestamp": "not a date", "amount": 3}]})
    assert r.status_code == 422 and "timestamp" in r.json()["detail"]
    r = client.post("/assign", json={"customer_id": 1})
    assert r.status_code == 422 and "give features or events" in r.text
    assert client.post("/assign", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422


def test_health_segments_and_docs(server):
    client, run_dir, _ = server
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["n_segments"] == 5 and health["feature_columns"]
    segments = client.get("/segments").json()
    assert len(segments["training_shares"]) == 5 and sum(segments["training_shares"]) == pytest.approx(1.0)
    assert len(segments["profiles"]) >= 5 and segments["names"]
    openapi = client.get("/openapi.json").json()
    body = openapi["paths"]["/assign"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Customer"} in body["anyOf"] and "Batch" in openapi["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_warm_up_loads_the_text_model_of_a_run_with_reviews(server):
    """The server pays for the text model at start-up (merge, conversion, load), not the first
    request with reviews; a run without text loads none."""
    from seglab.serve.app import warm_up

    _, run_dir, _ = server
    pipe = load_run(run_dir)
    warm_up(pipe)
    assert (getattr(pipe, "_runner", None) is not None) == bool(pipe.spec_.text_columns)
