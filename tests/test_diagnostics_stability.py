"""Stability across seeds/resamples (a stable and an unstable case) and over time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from seglab.data.schema import CustomerData
from seglab.diagnostics.run_reports import write_stability
from seglab.diagnostics.stability import best_match_jaccard, clustering_stability, mean_pairwise_ari
from seglab.diagnostics.temporal import (
    cutoff_data,
    temporal_stability,
    temporal_transitions,
    transition_matrix,
)
from seglab.models.kmeans import KMeansModel


def _kmeans(k, n_init=10):
    return KMeansModel(n_clusters=k, n_init=n_init, random_state=0)


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
    res = temporal_stability(data, model, pre, build_features, period_days=120, features_end=features)
    assert 0 < res.n_customers <= 300
    assert res.counts.to_numpy().sum() == res.n_customers
    assert 0.0 <= res.share_moved <= 1.0
    stab = clustering_stability(model, X, model.labels_, seeds=(1,), n_bootstrap=2)
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


# --- no future data in the cut-off state -------------------------------------------------------------
def _with_reviews(future: bool) -> CustomerData:
    data = _tiny_data()
    reviews = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": pd.to_datetime(["2024-02-01", "2024-03-01"]),
                            "text": ["awful", "fine"], "rating": [1.0, 4.0]})
    if future:  # a's second review comes after the cut-off and would lift a's mean rating to 3
        extra = pd.DataFrame({"customer_id": ["a"], "timestamp": pd.to_datetime(["2024-07-01"]),
                              "text": ["great"], "rating": [5.0]})
        reviews = pd.concat([reviews, extra], ignore_index=True)
    from dataclasses import replace

    return replace(data, reviews=reviews, reference_date=pd.Timestamp("2024-08-01"))


def _rating_builder(data: CustomerData) -> pd.DataFrame:
    """A feature builder with a review block: transaction features plus each customer's mean rating."""
    from seglab.features import build_features

    features = build_features(data)
    if data.reviews is not None and len(data.reviews):
        features = features.join(data.reviews.groupby("customer_id")["rating"].mean().rename("review_mean"))
    return features


class _Identity:
    feature_names_in_ = ["frequency", "review_mean", "text_has_reviews", "cat_share_y"]

    def transform(self, df):
        return df.to_numpy(dtype=float)


class _LikesIt:  # segment 1 = mean rating above 2
    def predict(self, X):
        return (np.nan_to_num(X[:, 1]) > 2).astype(int)


def test_a_review_after_the_cutoff_does_not_change_the_cutoff_state():
    cutoff = pd.Timestamp("2024-04-01")
    before = _rating_builder(cutoff_data(_with_reviews(future=False), cutoff))
    after = _rating_builder(cutoff_data(_with_reviews(future=True), cutoff))
    pd.testing.assert_frame_equal(before, after)
    assert before.loc["a", "review_mean"] == 1.0

    period = (pd.Timestamp("2024-08-01") - cutoff).days
    results = {}
    for future in (False, True):
        data = _with_reviews(future)
        results[future] = temporal_stability(data, _LikesIt(), _Identity(), _rating_builder, period_days=period,
                                             features_end=_rating_builder(data))
    # at the cut-off a (mean rating 1) is in segment 0 and b (4, from the cut-off's own reviews) in 1,
    # whether or not a reviews again later...
    for result in results.values():
        assert result.counts.sum(axis=1).to_dict() == {0: 1, 1: 1}
    assert results[True].counts.loc[0, 1] == 1  # ...and a moves to segment 1 by the end because of it
    assert results[False].share_moved == 0.0


def test_columns_absent_at_the_cutoff_are_never_taken_from_the_end():
    start = pd.DataFrame({"frequency": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="customer_id"))
    end = pd.DataFrame({"frequency": [3.0, 4.0], "review_mean": [5.0, 5.0], "text_has_reviews": [1.0, 1.0],
                        "cat_share_y": [0.5, 1.0]}, index=start.index)
    seen = []

    class Spy(_Identity):
        def transform(self, df):
            seen.append(df.copy())
            return super().transform(df)

    res = temporal_transitions(_LikesIt(), Spy(), start, end)
    cut = seen[0]
    assert cut["text_has_reviews"].tolist() == [0.0, 0.0] and cut["cat_share_y"].tolist() == [0.0, 0.0]
    assert cut["review_mean"].isna().all()  # for the preprocessor's imputer, not the end's 5.0
    assert res.counts.loc[0, 1] == 2 and any("left missing" in n for n in res.notes)


def test_cutoff_text_features_of_a_run_ignore_later_reviews():
    """The run's own builder (behaviour + MiniLM review sentiment) at a cut-off: a review written
    after it changes nothing, one written before it does."""
    from functools import partial
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from seglab.train import customer_features

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("config", overrides=["data.n_customers=120", "text=minilm", "log_dir=unused"])
    build = partial(customer_features, cfg)
    data = instantiate(cfg.data, _convert_="all").load()
    cutoff = data.as_of() - pd.Timedelta(days=120)
    base = build(cutoff_data(data, cutoff))
    reviewer = base.index[base["text_has_reviews"] == 1][0]
    from dataclasses import replace

    def plus_review(when):
        row = pd.DataFrame({"customer_id": [reviewer], "timestamp": [when],
                            "text": ["Terrible, broke after a day, I want my money back."], "rating": [1.0]})
        return replace(data, reviews=pd.concat([data.reviews, row.astype(data.reviews.dtypes)], ignore_index=True),
                       reference_date=data.as_of())

    later = build(cutoff_data(plus_review(cutoff + pd.Timedelta(days=10)), cutoff))
    pd.testing.assert_frame_equal(base, later)
    earlier = build(cutoff_data(plus_review(cutoff - pd.Timedelta(days=10)), cutoff))
    assert earlier.loc[reviewer, "text_n_reviews"] == base.loc[reviewer, "text_n_reviews"] + 1
