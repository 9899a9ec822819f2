"""End to end at small N: a run on the synthetic data written as Parquet (transactions on disk,
features by DuckDB) gives the labels of the in-memory run with the same seed; a run on a
precomputed feature table (``data=features``); the stage timings a run records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from requirements import require_module
from seglab.data import SyntheticSource
from seglab.train import run

CONF = Path(__file__).resolve().parents[1] / "conf"
FAST = ["logger.mlflow=false", "text=none", "model=kmeans", "explain.enabled=false", "seed=7"]


def _cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"log_dir={tmp_path / 'logs'}", *FAST, *overrides])


def test_parquet_on_disk_run_equals_the_in_memory_run(tmp_path):
    require_module("duckdb", 'pip install "seglab[scale]"')
    SyntheticSource(n_customers=600, seed=7).write_parquet(tmp_path / "syn")
    in_memory = run(_cfg(tmp_path, "data.n_customers=600"), run_dir=tmp_path / "a")
    on_disk = run(_cfg(tmp_path, "data=synthetic_parquet", f"data.path={tmp_path / 'syn'}", "data.in_memory=false"),
                  run_dir=tmp_path / "b")
    np.testing.assert_array_equal(on_disk.labels, in_memory.labels)
    assert on_disk.metrics["eval/ari"] == pytest.approx(in_memory.metrics["eval/ari"])
    for stage in ("data_s", "features_s", "preprocess_s", "fit_s", "evaluate_s", "data_features_s"):
        assert on_disk.metrics[f"time/{stage}"] >= 0, stage
    assert on_disk.metrics["time/data_features_s"] >= on_disk.metrics["time/features_s"]


def test_precomputed_feature_table_is_clustered_as_is(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 5.0], [6.0, 6.0, 0.0], [0.0, 8.0, 8.0]])
    truth = np.repeat([0, 1, 2], 80)
    table = pd.DataFrame(centres[truth] + rng.normal(0, 0.5, (240, 3)), columns=["recency", "spend", "visits"])
    table.insert(0, "cid", [f"c{i:03d}" for i in range(240)])
    table["segment"] = truth
    table.loc[5, "spend"] = np.nan  # left for the imputer
    table.to_parquet(tmp_path / "features.parquet", index=False)
    result = run(_cfg(tmp_path, "data=features", f"data.path={tmp_path / 'features.parquet'}", "data.id_column=cid",
                      "data.truth_column=segment", "n_clusters=3"), run_dir=tmp_path / "run")
    assert result.metrics["data/n_features"] == 3 and result.metrics["eval/ari"] > 0.95  # one imputed row may stray
    segments = pd.read_parquet(result.run_dir / "segments.parquet")
    assert list(segments["customer_id"][:2]) == ["c000", "c001"]
