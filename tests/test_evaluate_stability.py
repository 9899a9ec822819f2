"""Stability across seeds/resamples (a stable and an unstable case) and over time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from seglab.data.schema import CustomerData
from seglab.evaluate.stability import (
    best_match_jaccard,
    clustering_stability,
    cutoff_data,
    mean_pairwise_ari,
    temporal_stability,
    temporal_transitions,
    transition_matrix,
    write_stability,
)
from seglab.models.kmeans import KMeansModel


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _kmeans(k, n_init=10):
    return lambda seed: KMeansModel(n_clusters=k, n_init=n_init, random_state=seed)


def test_stable_case():
    X, _ = make_blobs(n_samples=300, centers=3, n_features=3, cluster_std=0.5, random_state=0)
    ref = KMeansModel(n_clusters=3, random_state=0).fit(X).labels_
    res = clustering_stability(_kmeans(3), X, ref, seeds=(1, 2), n_bootstrap=4, random_state=0)
    m = res.metrics
    assert m["stability/seed_ari_mean"] == pytest.approx(1.0)
    assert m["stability/bootstrap_ari_mean"] > 0.98
    assert m["stability/bootstrap_ari_vs_reference"] > 0.98
    assert (res.segments["jaccard_seed"] > 0.99).all()
    assert (res.segments["jaccard_bootstrap"] > 0.95).all()
    assert list(res.segments["size"]) == list(np.bincount(ref))
    assert res.notes == []


def test_unstable_case():
    # one round Gaussian cloud cut into 6 pieces: any partition is as good as another
    X = np.random.default_rng(0).normal(size=(300, 8))
    ref = KMeansModel(n_clusters=6, n_init=1, random_state=0).fit(X).labels_
    res = clustering_stability(_kmeans(6, n_init=1), X, ref, seeds=(1, 2, 3), n_bootstrap=4, random_state=0)
    m = res.metrics
    assert m["stability/seed_ari_mean"] < 0.6
    assert m["stability/bootstrap_ari_mean"] < 0.6
    assert m["stability/min_segment_jaccard"] < 0.6
    assert any("not stable" in s for s in res.notes)


def test_pairwise_ari_and_jaccard_by_hand():
    a = np.array([0, 0, 1, 1])
    assert mean_pairwise_ari([a, a, 1 - a]) == (pytest.approx(1.0), pytest.approx(0.0))
    # reference {0,1},{2,3}; other {0},{1,2,3}: seg 0 best J = |{0}|/|{0,1}| = 1/2,
    # seg 1: |{2,3}| / |{1,2,3}| = 2/3
    assert best_match_jaccard(a, np.array([5, 6, 6, 6])) == {0: 0.5, 1: pytest.approx(2 / 3)}
    # noise in the other labelling matches nothing
    assert best_match_jaccard(a, np.array([-1, -1, 1, 1])) == {0: 0.0, 1: 1.0}


def test_transition_matrix_by_hand():
    counts, moved = transition_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])
    assert counts.loc[0, 0] == 1 and counts.loc[0, 1] == 1 and counts.loc[2, 0] == 1
    assert counts.to_numpy().sum() == 5
    assert list(counts.index) == [0, 1, 2] and list(counts.columns) == [0, 1, 2]
    assert moved == pytest.approx(2 / 5)


def _tiny_data():
    ts = pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-01", "2024-02-01", "2024-07-01", "2024-07-15"])
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "c"],
            "timestamp": ts,
            "amount": [10.0, 20.0, 30.0, 5.0, 100.0, 50.0],
            "quantity": [1.0, 1.0, 2.0, 1.0, 3.0, 1.0],
            "category": ["x", "y", "x", "x", "y", "y"],
        }
    )
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    return CustomerData(name="tiny", customers=customers, transactions=tx, truth=pd.Series([0, 1, 2]))


def test_cutoff_data():
    data = _tiny_data()
    cut = cutoff_data(data, "2024-04-01")
    assert list(cut.customers["customer_id"]) == ["a", "b"]  # c had not bought yet
    assert len(cut.transactions) == 3
    assert cut.as_of() == pd.Timestamp("2024-04-01")
    assert list(cut.truth) == [0, 1]


def test_temporal_transitions_with_identity_preprocessor():
    class Identity:
        feature_names_in_ = ["spend"]

        def transform(self, df):
            return df.to_numpy(dtype=float)

    class Threshold:  # segment 1 = spend above 50
        def predict(self, X):
            return (X[:, 0] > 50).astype(int)

    start = pd.DataFrame({"spend": [10.0, 60.0, 70.0, 5.0]}, index=pd.Index(list("abcd"), name="customer_id"))
    end = pd.DataFrame(
        {"spend": [80.0, 60.0, 20.0, 1.0, 99.0]}, index=pd.Index(list("abcde"), name="customer_id")
    )
    res = temporal_transitions(Threshold(), Identity(), start, end)
    assert res.n_customers == 4  # e is new
    assert res.counts.loc[0, 1] == 1 and res.counts.loc[1, 0] == 1 and res.counts.loc[1, 1] == 1
    assert res.share_moved == pytest.approx(0.5)
    assert res.rates.loc[1].tolist() == [0.5, 0.5]


def test_temporal_stability_on_synthetic(tmp_path):
    from seglab.data.synthetic import SyntheticSource
    from seglab.features import Preprocessor, build_features

    data = SyntheticSource(n_customers=300, seed=0).load()
    features = build_features(data)
    pre = Preprocessor()
    X = pre.fit_transform(features)
    model = KMeansModel(n_clusters=5, random_state=0).fit(X)
    res = temporal_stability(data, model, pre, period_days=120, features_end=features)
    assert 0 < res.n_customers <= 300
    assert res.counts.to_numpy().sum() == res.n_customers
    assert 0.0 <= res.share_moved <= 1.0
    stab = clustering_stability(
        lambda s: KMeansModel(n_clusters=5, random_state=s), X, model.labels_, seeds=(1,), n_bootstrap=2
    )
    metrics = write_stability(tmp_path, stab, res)
    assert metrics["stability/time_share_moved"] == res.share_moved
    assert metrics["stability/seed_ari_mean"] == stab.metrics["stability/seed_ari_mean"]
    summary = json.loads((tmp_path / "stability.json").read_text())
    for key, value in metrics.items():
        assert summary["metrics"][key] == pytest.approx(value, nan_ok=True), key
    segments = pd.read_csv(tmp_path / "stability_segments.csv")
    pd.testing.assert_frame_equal(segments, stab.segments.reset_index(drop=True), check_dtype=False)
    pd.testing.assert_frame_equal(pd.DataFrame(summary["segments"]), segments, check_dtype=False)
    counts = pd.read_csv(tmp_path / "transitions.csv", index_col=0)
    assert counts.to_numpy().sum() == res.n_customers
    np.testing.assert_array_equal(counts.to_numpy(), res.counts.to_numpy())
    assert (tmp_path / "transitions.png").read_bytes()[:4] == b"\x89PNG"
