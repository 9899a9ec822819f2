"""Evaluation metrics and segment profiles against scikit-learn and hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from seglab.diagnostics.run_reports import write_profiles
from seglab.evaluate import cluster_sizes, clustering_accuracy, evaluate_clustering, segment_profiles
from seglab.evaluate.profiles import describe, segment_deviations


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=1.0, random_state=0)
    return X, y


def test_metrics_equal_sklearn(blobs):
    X, y = blobs
    labels = (y + 1) % 3  # a permutation of the truth with one point flipped below
    labels[0] = (labels[0] + 1) % 3
    m, w = evaluate_clustering(X, labels, truth=y)
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(X, labels))
    assert m["eval/calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, labels))
    assert m["eval/davies_bouldin"] == pytest.approx(davies_bouldin_score(X, labels))
    assert m["eval/nmi"] == pytest.approx(normalized_mutual_info_score(y, labels))
    assert m["eval/ari"] == pytest.approx(adjusted_rand_score(y, labels))
    assert m["eval/acc"] == pytest.approx(299 / 300)
    assert m["eval/silhouette_sampled"] == 0.0
    assert m["eval/n_clusters"] == 3.0
    assert m["eval/noise_share"] == 0.0
    sizes = np.bincount(labels, minlength=3) / 300
    assert m["eval/min_cluster_share"] == sizes.min() and m["eval/max_cluster_share"] == sizes.max()
    assert sorted(sizes.tolist()) == pytest.approx([99 / 300, 100 / 300, 101 / 300])
    assert w == []


def test_latent_metrics(blobs):
    X, y = blobs
    Z = X[:, :1] * 2.0
    m, _ = evaluate_clustering(X, y, latent=Z)
    assert m["eval/latent_silhouette"] == pytest.approx(silhouette_score(Z, y))
    assert m["eval/latent_calinski_harabasz"] == pytest.approx(calinski_harabasz_score(Z, y))
    assert m["eval/latent_davies_bouldin"] == pytest.approx(davies_bouldin_score(Z, y))
    m2, _ = evaluate_clustering(X, y)
    assert not any(key.startswith("eval/latent_") for key in m2)
    assert "eval/acc" not in m2


def test_acc_permuted_labelling_is_one():
    truth = np.array([0, 0, 1, 1, 2, 2, 2])
    labels = np.array([2, 2, 0, 0, 1, 1, 1])
    assert clustering_accuracy(truth, labels) == 1.0
    assert clustering_accuracy(np.array(["a", "a", "b", "b", "c", "c", "c"]), labels) == 1.0


def test_acc_partial_by_hand():
    # clusters: {0,1,2} -> truth (0,0,1), {3,4,5} -> truth (1,1,0)
    # best map: cluster 5 -> class 0 (2 hits), cluster 7 -> class 1 (2 hits): ACC = 4/6
    truth = np.array([0, 0, 1, 1, 1, 0])
    labels = np.array([5, 5, 5, 7, 7, 7])
    assert clustering_accuracy(truth, labels) == pytest.approx(4 / 6)


def test_acc_more_clusters_than_classes():
    # 3 clusters, 2 classes: the third cluster cannot be matched, its points count as errors
    truth = np.array([0, 0, 0, 1, 1, 1])
    labels = np.array([0, 0, 1, 2, 2, 2])
    assert clustering_accuracy(truth, labels) == pytest.approx(5 / 6)
    # fewer clusters than classes
    assert clustering_accuracy(labels, truth) == pytest.approx(5 / 6)


def test_sampled_silhouette_is_deterministic_and_close():
    X, y = make_blobs(n_samples=1200, centers=4, random_state=1)
    m1, w1 = evaluate_clustering(X, y, silhouette_sample_size=300, random_state=7)
    m2, _ = evaluate_clustering(X, y, silhouette_sample_size=300, random_state=7)
    m3, _ = evaluate_clustering(X, y, silhouette_sample_size=300, random_state=8)
    assert m1["eval/silhouette_sampled"] == 1.0
    assert m1["eval/silhouette"] == m2["eval/silhouette"]
    assert m1["eval/silhouette"] != m3["eval/silhouette"]
    assert m1["eval/silhouette"] == pytest.approx(silhouette_score(X, y), abs=0.05)
    assert any("sample" in s for s in w1)


def test_one_cluster_gives_nan_and_warning():
    X = np.random.default_rng(0).normal(size=(20, 3))
    labels = np.zeros(20, dtype=int)
    m, w = evaluate_clustering(X, labels, truth=np.r_[np.zeros(10), np.ones(10)], latent=X[:, :2])
    for key in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        assert math.isnan(m[f"eval/{key}"])
        assert math.isnan(m[f"eval/latent_{key}"])
    assert m["eval/acc"] == pytest.approx(0.5)
    assert m["eval/ari"] == pytest.approx(0.0)
    assert m["eval/n_clusters"] == 1.0
    assert any("undefined" in s for s in w)


def test_empty_and_small_cluster_warnings():
    X, _ = make_blobs(n_samples=201, centers=2, random_state=0)
    labels = np.zeros(201, dtype=int)
    labels[100:] = 1
    labels[200] = 3  # cluster 2 empty, cluster 3 holds 1 point (< 1%)
    m, w = evaluate_clustering(X, labels, n_clusters=4)
    assert m["eval/n_clusters"] == 3.0
    assert m["eval/min_cluster_share"] == 0.0
    assert m["eval/max_cluster_share"] == pytest.approx(100 / 201)
    assert any("empty" in s and "[2]" in s for s in w)
    assert any("under 1%" in s and "3 (1 " in s for s in w)


def test_noise_handling():
    X, y = make_blobs(n_samples=100, centers=2, random_state=0)
    labels = y.copy()
    labels[:10] = -1
    m, w = evaluate_clustering(X, labels, truth=y)
    keep = labels != -1
    assert m["eval/noise_share"] == pytest.approx(0.1)
    assert m["eval/n_clusters"] == 2.0
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(X[keep], labels[keep]))
    assert m["eval/calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X[keep], labels[keep]))
    # external metrics on all points, noise as its own label: the 10 noise points are errors
    assert m["eval/ari"] == pytest.approx(adjusted_rand_score(y, labels))
    # clusters 0 and 1 match their classes on the 90 points left; the noise "cluster" matches nothing
    assert m["eval/acc"] == pytest.approx(0.9)
    assert any("noise" in s for s in w)


def test_missing_truth_is_skipped_with_warning():
    X, y = make_blobs(n_samples=40, centers=2, random_state=0)
    truth = pd.Series(y.astype(object))
    truth.iloc[:4] = None
    m, w = evaluate_clustering(X, y, truth=truth)
    assert m["eval/acc"] == 1.0
    assert any("no ground truth" in s for s in w)


def test_cluster_sizes():
    assert cluster_sizes([1, 1, -1, 0, 1]) == {-1: 1, 0: 1, 1: 3}
    assert cluster_sizes([0, 0, 2], n_clusters=3) == {0: 2, 1: 0, 2: 1}


def test_segment_profiles_by_hand():
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "monetary": [10.0, 20.0, 30.0, 40.0, np.nan],
            "frequency": [1, 2, 3, 4, 5],
            "country": ["x", "y", "x", "y", "x"],
        }
    )
    labels = np.array([0, 0, 1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7], [0.0, 1.0]])
    p = segment_profiles(features, labels, proba=proba)
    assert list(p["segment"]) == ["0", "1", "all"]
    assert list(p.columns) == [
        "segment",
        "name",
        "size",
        "share",
        "soft_size",
        "mean_confidence",
        "monetary",
        "frequency",
    ]
    p = p.set_index("segment")
    assert p.loc["0", "size"] == 2 and p.loc["1", "size"] == 3 and p.loc["all", "size"] == 5
    assert p.loc["0", "share"] == pytest.approx(0.4)
    assert p.loc["0", "monetary"] == pytest.approx(15.0)
    assert p.loc["1", "monetary"] == pytest.approx(35.0)  # NaN ignored
    assert p.loc["all", "monetary"] == pytest.approx(25.0)
    assert p.loc["1", "frequency"] == pytest.approx(4.0)
    assert p.loc["0", "soft_size"] == pytest.approx(2.0)
    assert p.loc["1", "mean_confidence"] == pytest.approx((0.8 + 0.7 + 1.0) / 3)


def test_segment_profiles_noise_row():
    features = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    p = segment_profiles(features, np.array([-1, 0, 0, -1]))
    assert list(p["segment"]) == ["noise", "0", "all"]
    assert p.set_index("segment").loc["noise", "x"] == pytest.approx(2.5)


def _shop_features():
    return pd.DataFrame(
        {
            "monetary_total": [100.0, 300.0, 20.0, 30.0],
            "frequency": [4.0, 6.0, 1.0, 2.0],
            "recency_days": [10.0, 20.0, 400.0, 200.0],
            "tenure_days": [400.0, 300.0, 10.0, 250.0],
            "cat_share_books": [1.0, 0.6, 0.0, 0.0],
            "cat_share_music": [0.0, 0.4, 1.0, 1.0],
            "text_sentiment_mean": [0.5, 0.7, -0.4, -0.2],
        },
        index=pd.Index(list("abcd"), name="customer_id"),
    )


def test_business_indicators_by_hand():
    p = segment_profiles(_shop_features(), np.array([0, 0, 1, 1]), churn_days=180).set_index("segment")
    s0, s1, pop = p.loc["0"], p.loc["1"], p.loc["all"]
    assert s0["revenue"] == 400.0 and s1["revenue"] == 50.0 and pop["revenue"] == 450.0
    assert s0["revenue_share"] == pytest.approx(400 / 450)
    assert s0["aov"] == pytest.approx(40.0)  # 400 over 10 purchases
    assert s1["aov"] == pytest.approx(50 / 3)
    assert s0["purchase_frequency"] == pytest.approx(5.0)
    assert s0["purchases_per_year"] == pytest.approx(365 * 10 / 700)
    assert s1["purchases_per_year"] == pytest.approx(365 * 3 / (30 + 250))  # tenure 10 floored at 30
    assert s0["churn_share"] == 0.0 and s1["churn_share"] == 1.0 and pop["churn_share"] == 0.5
    # CLV = margin * aov * purchases/year * r / (1 + d - r), r = 1 - churn
    assert s0["clv"] == pytest.approx(40.0 * 365 * 10 / 700 / 0.1)
    assert s1["clv"] == pytest.approx(0.0)
    assert s0["mean_sentiment"] == pytest.approx(0.6) and s1["mean_sentiment"] == pytest.approx(-0.3)
    assert s0["top_categories"] == "books 80% · music 20%"
    assert s1["top_categories"] == "music 100%"
    assert pop["name"] == "all customers"
    # largest |z| first: sentiment 0.98, books share 0.94 (music's -0.94 gives no phrase), frequency 0.91
    assert s0["name"] == "positive reviews · books-heavy · frequent"
    assert s1["name"] == "negative reviews · music-heavy · infrequent"


def test_deviations_and_names():
    f = _shop_features()
    dev = segment_deviations(f, np.array([0, 0, 1, 1]))
    mu, sd = f["monetary_total"].mean(), f["monetary_total"].std(ddof=0)
    assert dev.loc["0", "monetary_total"] == pytest.approx((200.0 - mu) / sd)
    assert list(dev.index) == ["0", "1"]
    z = pd.Series({"monetary_total": 1.2, "frequency": 0.9, "recency_days": -0.7, "tenure_days": 0.2})
    assert describe(z) == "high spend · frequent · recently active"
    assert describe(z, n_terms=1) == "high spend"
    assert describe(z * 0.1) == "average"
    assert describe(pd.Series({"cat_share_books": 2.0, "text_sentiment_mean": -1.0, "loyalty_score": 0.8})) == (
        "books-heavy · negative reviews · high loyalty_score"
    )


def test_identical_names_are_told_apart(tmp_path):
    f = pd.DataFrame({"x": [1.0, 1.0, 1.0, 1.0]})
    p = write_profiles(tmp_path, f, np.array([0, 0, 1, 1]))
    assert list(p["name"][:2]) == ["average (segment 0)", "average (segment 1)"]
    written = pd.read_csv(tmp_path / "profiles.csv")
    assert written["name"].tolist()[:2] == ["average (segment 0)", "average (segment 1)"]
    assert written["size"].tolist() == [2, 2, 4]
    deviations = pd.read_csv(tmp_path / "profile_deviations.csv", index_col=0)
    assert deviations.loc[[0, 1], "x"].tolist() == [0.0, 0.0]
    names = json.loads((tmp_path / "segment_names.json").read_text())
    assert [names[k] for k in ("0", "1")] == ["average (segment 0)", "average (segment 1)"]
    png = (tmp_path / "profiles.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
