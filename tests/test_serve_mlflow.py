"""The run's MLflow pyfunc model (defined from code, nothing pickled): loaded back from the
tracker, it gives the run's segments; its input example is synthetic (training means)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest

from run_helpers import RUNS, segments_of, train_run
from seglab.pipeline import load_run


@pytest.mark.parametrize("name", sorted(RUNS))
def test_pyfunc_model_gives_the_runs_segments(tmp_path, name):
    run_dir, data, result = train_run(name, tmp_path, tracked=True)
    uri = f"runs:/{result.mlflow_run_id}/segments"
    mlflow.set_tracking_uri(result.tracking_uri)
    local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "dl"))
    files = {p.name for p in (tmp_path / "dl" / "segments").rglob("*")}
    assert "pyfunc_model.py" in files and not any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)
    model = mlflow.pyfunc.load_model(local)
    pipe = load_run(run_dir)
    features = pipe.features(data).reset_index()
    features["customer_id"] = features["customer_id"].astype(str)  # the signature's ids are text
    out = model.predict(features).set_index("customer_id")
    seg = segments_of(run_dir)
    seg.index = seg.index.astype(str)
    np.testing.assert_array_equal(out.loc[seg.index, "segment"].to_numpy(), seg["segment"].to_numpy())
    np.testing.assert_allclose(out.loc[seg.index].filter(like="prob_").to_numpy(), seg.filter(like="prob_").to_numpy(),
                               atol=1e-6)
    example = json.loads((tmp_path / "dl" / "segments" / "input_example.json").read_text())
    row = dict(zip(example["columns"], example["data"][0], strict=True))
    assert row["customer_id"] == "example"
    means = pipe.statistics_["features"]
    assert all(row[c] == pytest.approx(means[c]["mean"]) for c in pipe.feature_columns)


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_the_runs_segments(tmp_path):
    """``mlflow models serve --env-manager local`` (offline) on the logged model: a real server on
    loopback, a real HTTP client, the run's segments and probabilities back."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    run_dir, data, result = train_run("kmeans", tmp_path, tracked=True)
    mlflow.set_tracking_uri(result.tracking_uri)
    local = mlflow.artifacts.download_artifacts(f"runs:/{result.mlflow_run_id}/segments",
                                                dst_path=str(tmp_path / "dl"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("mlflow")
    server = subprocess.Popen([str(cli), "models", "serve", "-m", local, "--env-manager", "local",
                               "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              # as in an activated environment: mlflow starts the server as `uvicorn` from PATH
                              env={**os.environ, "PATH": f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read().decode(errors="replace")[-2000:]
            try:
                if httpx.get(f"{base}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping within 120 s"
            time.sleep(0.5)
        features = load_run(run_dir).features(data).reset_index()
        features["customer_id"] = features["customer_id"].astype(str)
        body = {"dataframe_split": json.loads(features.to_json(orient="split", index=False))}
        reply = httpx.post(f"{base}/invocations", json=body, timeout=60)
        assert reply.status_code == 200, reply.text[:500]
        predictions = reply.json()["predictions"]
        out = {str(p["customer_id"]): p for p in predictions}
        seg = segments_of(run_dir)
        seg.index = seg.index.astype(str)
        assert [int(out[c]["segment"]) for c in seg.index] == seg["segment"].astype(int).tolist()
        probs = np.array([[out[c][k] for k in seg.filter(like="prob_").columns] for c in seg.index])
        np.testing.assert_allclose(probs, seg.filter(like="prob_").to_numpy(), atol=1e-6)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
