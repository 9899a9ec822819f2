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
