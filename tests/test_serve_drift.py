"""``seglab drift``: the training data itself shows no drift; a shifted copy warns on the shifted feature."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline_helpers import fitted
from seglab.cli import main
from seglab.serve.drift import drift_of


@pytest.fixture(scope="module")
def pipe_and_features():
    pipe, data = fitted("kmeans", text=False)
    return pipe, pipe.features(data)


def test_training_data_gives_no_drift(pipe_and_features):
    pipe, features = pipe_and_features
    result = drift_of(pipe, features)
    assert result["features"]["psi"].max() < 1e-9
    assert result["summary"]["segment_psi"] < 1e-9
    assert not result["summary"]["features_flagged"] and not result["summary"]["segment_warning"]


def test_shifted_feature_is_flagged_alone(pipe_and_features, tmp_path):
    pipe, features = pipe_and_features
    shifted = features.copy()
    shifted["recency_days"] = shifted["recency_days"] + 200  # everyone lapsed 200 more days
    table = shifted.reset_index()
    table.to_parquet(tmp_path / "new.parquet", index=False)
    assert main(["drift", "--run", str(tmp_path), "--input", str(tmp_path / "new.parquet"),
                 "--out", str(tmp_path / "drift")]) == 2  # no bundle in tmp_path yet: one seglab error
    pipe.save(tmp_path / "bundle")
    assert main(["drift", "--run", str(tmp_path), "--input", str(tmp_path / "new.parquet"),
                 "--out", str(tmp_path / "drift")]) == 0
    summary = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert summary["features_flagged"] == ["recency_days"]
    drift = pd.read_csv(tmp_path / "drift" / "drift.csv")
    assert drift.iloc[0]["feature"] == "recency_days" and drift.iloc[0]["psi"] > 1.0
    assert (drift.iloc[1:]["psi"] < 1e-9).all()
    segments = pd.read_csv(tmp_path / "drift" / "drift_segments.csv")
    assert segments["train_share"].sum() == pytest.approx(1.0) and segments["new_share"].sum() == pytest.approx(1.0)
    assert (tmp_path / "drift" / "drift.png").read_bytes()[:4] == b"\x89PNG"
