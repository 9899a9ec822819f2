"""``evaluate_clustering`` at its edges: every warning word for word, every error, the silhouette
sampling threshold, defined/undefined cluster counts, 1-D inputs, truths with gaps or mixed types."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from seglab.evaluate.metrics import cluster_sizes, clustering_accuracy, evaluate_clustering

X4 = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])


def line(n: int = 20, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on a line in ``k`` equal, well separated groups."""
    labels = np.repeat(np.arange(k), n // k)
    X = (labels * 10.0 + np.tile(np.arange(n // k), k) * 0.1).reshape(-1, 1)
    return np.hstack([X, np.zeros_like(X)]), labels


def test_documented_defaults():
    params = inspect.signature(evaluate_clustering).parameters
    assert params["silhouette_sample_size"].default == 10000
    assert params["small_cluster_share"].default == 0.01
    assert params["random_state"].default == 0


# --- labels --------------------------------------------------------------------------------------------
def test_integral_float_labels_are_accepted_as_integers():
    X, labels = line()
    as_int, _ = evaluate_clustering(X, labels)
    as_float, _ = evaluate_clustering(X, labels.astype(float))
    assert as_float == as_int


def test_label_errors_are_worded():
    X, labels = line()
    with pytest.raises(ValueError, match=r"^labels must be integers \(cluster ids, -1 for noise\)$"):
        evaluate_clustering(X, labels + 0.5)
    with pytest.raises(ValueError, match=r"^labels must be one-dimensional, got shape \(2, 10\)$"):
        evaluate_clustering(X, labels.reshape(2, 10))
    with pytest.raises(ValueError, match=r"^labels must be >= -1 \(-1 = noise\), got -2$"):
        evaluate_clustering(X, np.r_[labels[:-1], -2])
    with pytest.raises(ValueError, match=r"^cannot evaluate a clustering of zero points$"):
        evaluate_clustering(np.zeros((0, 2)), np.zeros(0, dtype=int))


def test_shape_errors_are_worded():
    X, labels = line()
    with pytest.raises(ValueError, match=r"^X has 19 rows but labels has 20$"):
        evaluate_clustering(X[:-1], labels)
    with pytest.raises(ValueError, match=r"^latent has 19 rows but labels has 20$"):
        evaluate_clustering(X, labels, latent=X[:-1])
    with pytest.raises(ValueError, match=r"^truth has 19 rows but labels has 20$"):
        evaluate_clustering(X, labels, truth=labels[:-1])


def test_one_dimensional_features_and_latent():
    X, labels = line()
    flat, _ = evaluate_clustering(X[:, 0], labels, latent=X[:, 0])
    full, _ = evaluate_clustering(X[:, :1], labels, latent=X[:, :1])
    assert flat == full
    assert flat["eval/latent_silhouette"] == pytest.approx(silhouette_score(X[:, :1], labels))


def test_integer_features_are_scored_as_numbers():
    ints = np.array([[0, 0], [0, 1], [9, 9], [9, 8]])
    m, _ = evaluate_clustering(ints, [0, 0, 1, 1])
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(ints.astype(float), [0, 0, 1, 1]))


# --- sizes and their warnings ------------------------------------------------------------------------------
def test_cluster_sizes_lists_empty_clusters_and_noise():
    assert cluster_sizes([2, 2, -1, 0]) == {-1: 1, 0: 1, 2: 2}
    assert cluster_sizes([2, 2, -1, 0], n_clusters=4) == {-1: 1, 0: 1, 1: 0, 2: 2, 3: 0}
    assert list(cluster_sizes([1, 0, 1], n_clusters=3)) == [0, 1, 2]


def test_empty_small_and_unexpected_clusters_are_warned_word_for_word():
    X = np.arange(40, dtype=float).reshape(-1, 1)
    labels = np.array([0] * 36 + [1, 1] + [4, 4])  # cluster 2 empty, 3 never asked for... see n_clusters
    m, w = evaluate_clustering(X, labels, n_clusters=3, small_cluster_share=0.1)
    assert w[:3] == [
        "1 of 3 expected clusters are empty: [2].",
        "clusters holding under 10% of customers: 1 (2 = 5.00%), 4 (2 = 5.00%).",
        "labels [4] lie outside the expected 0..2.",
    ]
    assert m["eval/n_clusters"] == 3.0  # non-empty clusters, whatever their ids
    assert m["eval/min_cluster_share"] == 0.0 and m["eval/max_cluster_share"] == 0.9


def test_a_cluster_exactly_at_the_small_share_is_not_small():
    X = np.arange(20, dtype=float).reshape(-1, 1)
    _, w = evaluate_clustering(X, np.array([0] * 18 + [1, 1]), small_cluster_share=0.1)
    assert not any("under" in s for s in w)
    _, w = evaluate_clustering(X, np.array([0] * 18 + [1, 1]), small_cluster_share=0.11)
    assert any(s.startswith("clusters holding under 11% of customers: 1 (2 = 10.00%)") for s in w)


def test_all_noise_has_no_cluster_shares():
    X, _ = line()
    m, w = evaluate_clustering(X, -np.ones(20, dtype=int))
    assert m["eval/n_clusters"] == 0.0 and m["eval/noise_share"] == 1.0
    assert np.isnan(m["eval/min_cluster_share"]) and np.isnan(m["eval/max_cluster_share"])
    assert np.isnan(m["eval/silhouette"])


def test_noise_warning_word_for_word():
    X, labels = line()
    labels[:2] = -1
    _, w = evaluate_clustering(X, labels)
    assert w[0] == ("2 of 20 points (10.0%) are noise (label -1): silhouette, Calinski-Harabasz and "
                    "Davies-Bouldin are computed on the clustered points only; ACC/NMI/ARI on all points, with "
                    "noise as its own label.")


# --- internal metrics --------------------------------------------------------------------------------------
def test_clusters_up_to_points_minus_one_are_defined():
    m, w = evaluate_clustering(X4, [0, 0, 1, 2])  # 3 clusters on 4 points: defined
    assert not np.isnan(m["eval/silhouette"]) and w == []
    m, w = evaluate_clustering(X4, [0, 1, 2, 3])  # as many clusters as points: undefined
    assert np.isnan(m["eval/silhouette"]) and np.isnan(m["eval/calinski_harabasz"])
    assert w == ["silhouette, Calinski-Harabasz and Davies-Bouldin on the features are undefined with 4 "
                 "cluster(s) on 4 clustered point(s) (they need 2 <= clusters <= points - 1): NaN."]


def test_non_finite_inputs_make_internal_metrics_nan_with_a_warning():
    X, labels = line()
    bad = X.copy()
    bad[3, 0] = np.nan
    m, w = evaluate_clustering(bad, labels, latent=X)
    assert np.isnan(m["eval/silhouette"]) and not np.isnan(m["eval/latent_silhouette"])
    assert w == ["the features contains NaN or infinite values: internal metrics on it are NaN."]
    _, w = evaluate_clustering(X, labels, latent=np.where(bad == 0, np.inf, bad))
    assert w == ["the latent space contains NaN or infinite values: internal metrics on it are NaN."]


def test_silhouette_sampling_threshold():
    X, labels = line(20)
    m, w = evaluate_clustering(X, labels, silhouette_sample_size=20)  # exactly the size: all points
    assert m["eval/silhouette_sampled"] == 0.0 and w == []
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(X, labels))
    m, w = evaluate_clustering(X, labels, silhouette_sample_size=19, random_state=3)
    assert m["eval/silhouette_sampled"] == 1.0
    assert w == ["silhouette is estimated on a seeded sample of 19 of 20 points."]
    idx = np.sort(np.random.RandomState(3).choice(20, size=19, replace=False))
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(X[idx], labels[idx]))


def test_a_sample_with_one_cluster_gives_nan_and_says_why():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    labels = np.array([0] * 11 + [1])
    for seed in range(20):  # find a seed whose 3-point sample misses the lone point
        idx = np.random.RandomState(seed).choice(12, size=3, replace=False)
        if 11 not in idx:
            break
    m, w = evaluate_clustering(X, labels, silhouette_sample_size=3, random_state=seed, small_cluster_share=0)
    assert np.isnan(m["eval/silhouette"]) and not np.isnan(m["eval/calinski_harabasz"])
    assert "silhouette on the features: the seeded sample of 3 points holds 1 cluster(s); NaN." in w


def test_a_sample_of_two_points_in_two_clusters_is_undefined_too():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    labels = np.array([0] * 6 + [1] * 6)
    for seed in range(50):
        idx = np.random.RandomState(seed).choice(12, size=2, replace=False)
        if len(set(labels[idx])) == 2:
            break
    m, w = evaluate_clustering(X, labels, silhouette_sample_size=2, random_state=seed)
    assert np.isnan(m["eval/silhouette"])
    assert "silhouette on the features: the seeded sample of 2 points holds 2 cluster(s); NaN." in w


# --- external metrics --------------------------------------------------------------------------------------
def test_clustering_accuracy_edges():
    assert clustering_accuracy(["a"], [7]) == 1.0
    assert np.isnan(clustering_accuracy([], []))
    with pytest.raises(ValueError, match=r"^truth and labels differ in length: 3 vs 2$"):
        clustering_accuracy([0, 1, 1], [0, 1])


def test_truth_as_a_list_with_gaps_and_mixed_types():
    X, labels = line()
    truth = [1 if lab else "one" for lab in labels]  # mixed int/str: compared as text
    truth[0] = None
    truth[5] = float("nan")
    m, w = evaluate_clustering(X, labels, truth=truth)
    assert w == ["2 points have no ground truth: ACC/NMI/ARI use the other 18."]
    assert m["eval/acc"] == 1.0 and m["eval/ari"] == 1.0


def test_no_truth_at_all_gives_nan_with_a_warning():
    X, labels = line()
    m, w = evaluate_clustering(X, labels, truth=[None] * 20)
    assert np.isnan(m["eval/acc"]) and np.isnan(m["eval/nmi"]) and np.isnan(m["eval/ari"])
    assert w[-1] == "no point has ground truth: ACC/NMI/ARI are NaN."


def test_numeric_truth_array_is_used_as_is():
    X, labels = line()
    truth = np.where(labels == 0, 10, 2)
    m, _ = evaluate_clustering(X, labels, truth=truth)
    assert m["eval/ari"] == adjusted_rand_score(truth, labels) == 1.0


def test_default_sample_is_seeded_with_zero_and_holds_ten_thousand_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10001, 1)) + np.repeat([0.0, 6.0], [5000, 5001])[:, None]
    labels = np.repeat([0, 1], [5000, 5001])
    m, w = evaluate_clustering(X, labels)  # one point above the default sample size
    assert m["eval/silhouette_sampled"] == 1.0
    assert "silhouette is estimated on a seeded sample of 10000 of 10001 points." in w
    idx = np.sort(np.random.RandomState(0).choice(10001, size=10000, replace=False))
    assert m["eval/silhouette"] == pytest.approx(silhouette_score(X[idx], labels[idx]), abs=1e-12)


def test_empty_highest_cluster_and_a_single_stray_label():
    X = np.arange(10, dtype=float).reshape(-1, 1)
    m, w = evaluate_clustering(X, np.array([0] * 5 + [1] * 5), n_clusters=3, small_cluster_share=0)
    assert w == ["1 of 3 expected clusters are empty: [2]."]
    assert m["eval/min_cluster_share"] == 0.0
    _, w = evaluate_clustering(X, np.array([0] * 5 + [1] * 4 + [3]), n_clusters=2, small_cluster_share=0)
    assert w == ["labels [3] lie outside the expected 0..1."]
