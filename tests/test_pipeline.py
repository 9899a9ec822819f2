"""`SegmentationPipeline`: fit, assign new customers, the feature spec applied to new data, train.run's bundle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import SENTINEL, fitted, synthetic
from seglab.errors import DataValidationError


@pytest.fixture(scope="module")
def kmeans_pipe():
    return fitted("kmeans", text=False)


def test_assign_on_training_data_gives_the_fit(kmeans_pipe):
    pipe, data = kmeans_pipe
    out = pipe.assign(data)
    assert out.index.name == "customer_id" and out.index.tolist() == data.customer_ids.tolist()
    np.testing.assert_array_equal(out["segment"].to_numpy(), pipe.model_.labels_)
    probs = out.filter(like="prob_").to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    # distance to the assigned centre, in the space k-means clusters in (the preprocessed features)
    X = pipe.preprocessor_.transform(pipe.features(data))
    centre = pipe.model_.cluster_centers_[out["segment"].to_numpy()]
    np.testing.assert_allclose(out["distance"].to_numpy(), np.linalg.norm(X - centre, axis=1), rtol=1e-9)


def test_feature_spec_rebuilds_training_features_and_keeps_them_for_a_subset(kmeans_pipe):
    """A batch of three customers gets the training run's columns and values (the category shares
    and one-hot levels are the run's, not the batch's)."""
    pipe, data = kmeans_pipe
    full = pipe.features(data)
    ids = data.customer_ids[[3, 50, 101]]
    sub = dataclasses.replace(data, customers=data.customers[data.customers["customer_id"].isin(ids)],
                              transactions=data.transactions[data.transactions["customer_id"].isin(ids)],
                              reviews=None, truth=None)
    part = pipe.features(sub)
    assert list(part.columns) == list(full.columns)
    pd.testing.assert_frame_equal(part, full.loc[part.index], check_exact=False, rtol=1e-12)
    assert pipe.assign(sub)["segment"].tolist() == pipe.assign(data).loc[part.index, "segment"].tolist()


def test_reference_date_is_the_runs_unless_asked(kmeans_pipe):
    pipe, data = kmeans_pipe
    later = pipe.features(data, reference_date="2025-12-31")["recency_days"]
    same = pipe.features(data)["recency_days"]
    np.testing.assert_allclose(later - same, (pd.Timestamp("2025-12-31") - pd.Timestamp(pipe.spec_.reference_date)).days)


def test_assign_from_a_feature_table_and_its_errors(kmeans_pipe):
    pipe, data = kmeans_pipe
    table = pipe.features(data).reset_index()
    out = pipe.assign(table)
    np.testing.assert_array_equal(out["segment"].to_numpy(), pipe.model_.labels_)
    with pytest.raises(DataValidationError, match="lacks the run's feature columns frequency"):
        pipe.assign(table.drop(columns=["frequency"]))
    bad = table.astype({"frequency": object})
    bad.loc[7, "frequency"] = "lots"
    with pytest.raises(DataValidationError, match=r"not numbers.*frequency.*7"):
        pipe.assign(bad)


def test_transform_is_the_models_space():
    pipe, data = fitted("dec", text=False)
    Z = pipe.transform(data)
    assert Z.shape == (data.n_customers, pipe.model_.cluster_centers_.shape[1])
    assert (pipe.assign(data)["segment"].to_numpy() == pipe.model_.labels_).mean() > 0.99


def test_train_run_saves_a_loadable_pipeline_and_its_embedding(tmp_path):
    """train.run writes bundle/ and embedding.parquet; no joblib pickle; seglab.load_run assigns
    the run's customers to the run's segments with its probabilities."""
    from hydra import compose, initialize_config_dir

    import seglab
    from conftest import REPO_ROOT
    from seglab.train import run

    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path}", "logger.mlflow=false", "model=kmeans",
                                           "data.n_customers=200", "text=none", "explain.enabled=false"])
    result = run(cfg, run_dir=tmp_path / "run")
    assert not (result.run_dir / "model.ckpt").exists() and not (result.run_dir / "preprocessor.joblib").exists()
    segments = pd.read_parquet(result.run_dir / "segments.parquet").set_index("customer_id")
    pipe = seglab.load_run(result.run_dir)
    data = synthetic(200, 5)  # same generator and seed as the run, ids relabelled
    data = dataclasses.replace(data, customers=data.customers.assign(
        customer_id=data.customers["customer_id"].str.replace(f"{SENTINEL}-", "").astype(int)),
        transactions=data.transactions.assign(
            customer_id=data.transactions["customer_id"].str.replace(f"{SENTINEL}-", "").astype(int)), reviews=None)
    out = pipe.assign(data)
    np.testing.assert_array_equal(out["segment"].to_numpy(), segments.loc[out.index, "segment"].to_numpy())
    np.testing.assert_allclose(out.filter(like="prob_").to_numpy(), segments.filter(like="prob_").loc[out.index],
                               atol=1e-6)
    emb = pd.read_parquet(result.run_dir / "embedding.parquet")
    assert emb["customer_id"].tolist() == segments.index.tolist()
    assert emb.attrs["space"].startswith("preprocessed features")
