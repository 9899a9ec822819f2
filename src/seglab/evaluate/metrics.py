"""Clustering metrics: internal (silhouette, CH, DB), external (ACC, NMI, ARI), cluster sizes.

Everything returns plain numbers: ``evaluate_clustering`` gives ``(metrics, warnings)`` where
``metrics`` maps ``eval/<name>`` to a float and ``warnings`` is a list of sentences a person
should read (empty or tiny clusters, undefined metrics, noise handling, sampling).

Conventions, chosen so that no number flatters a model by accident:

- Internal metrics use scikit-learn's functions on the points that belong to a cluster; DBSCAN-
  style noise (label ``-1``) is left out of them (there is no centroid to compare it with), and
  a warning says so and how much was left out.
- External metrics (ACC, NMI, ARI) use *all* points, noise included as one more label, so a
  model cannot raise its score by declaring hard customers noise.
- A metric that is undefined (one cluster only, or as many clusters as points) is NaN plus a
  warning, never an exception.
- Silhouette is O(n²): above ``silhouette_sample_size`` points it is computed on a seeded
  uniform sample (``eval/silhouette_sampled`` = 1.0) and is then an estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.metrics.cluster import contingency_matrix

NOISE = -1


def _as_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int = arr.astype(np.int64)
        if not np.array_equal(as_int, arr):
            raise ValueError("labels must be integers (cluster ids, -1 for noise)")
        arr = as_int
    return arr.astype(np.int64, copy=False)


def _encode(values: Sequence | np.ndarray) -> np.ndarray:
    """Any hashable labels (ints, strings) as consecutive integer codes."""
    _, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel()


def cluster_sizes(labels: Sequence[int] | np.ndarray, n_clusters: int | None = None) -> dict[int, int]:
    """Number of points per label, sorted by label; noise appears as key ``-1``.

    With ``n_clusters`` every cluster id in ``0..n_clusters-1`` is listed, empty ones as 0.
    """
    labels = _as_labels(labels)
    values, counts = np.unique(labels, return_counts=True)
    sizes = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    if n_clusters is not None:
        for c in range(int(n_clusters)):
            sizes.setdefault(c, 0)
    return dict(sorted(sizes.items()))


def clustering_accuracy(truth: Sequence | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Unsupervised clustering accuracy: the best one-to-one map of clusters to classes.

    Builds the contingency matrix (clusters x classes) and finds the assignment maximising the
    matched count with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``).
    Works when the number of clusters differs from the number of classes: unmatched clusters
    (or classes) count as errors. Noise (``-1``) is treated as one more cluster.
    """
    truth_codes = _encode(truth)
    label_codes = _encode(labels)
    if truth_codes.shape != label_codes.shape:
        raise ValueError(
            f"truth and labels differ in length: {truth_codes.shape[0]} vs {label_codes.shape[0]}"
        )
    n = truth_codes.shape[0]
    if n == 0:
        return float("nan")
    table = contingency_matrix(label_codes, truth_codes)  # rows: clusters, columns: classes
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / n)


def _internal_metrics(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    prefix: str,
    space: str,
    silhouette_sample_size: int,
    random_state: int,
    warnings: list[str],
) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of ``labels`` on ``X`` (no noise)."""
    out = {
        f"{prefix}silhouette": np.nan,
        f"{prefix}calinski_harabasz": np.nan,
        f"{prefix}davies_bouldin": np.nan,
    }
    n = X.shape[0]
    n_labels = np.unique(labels).size
    if not np.all(np.isfinite(X)):
        warnings.append(f"{space} contains NaN or infinite values: internal metrics on it are NaN.")
        return out
    if n_labels < 2 or n_labels > n - 1:
        warnings.append(
            f"silhouette, Calinski-Harabasz and Davies-Bouldin on {space} are undefined with "
            f"{n_labels} cluster(s) on {n} clustered point(s) (they need 2 <= clusters <= points - 1): NaN."
        )
        return out
    out[f"{prefix}calinski_harabasz"] = float(calinski_harabasz_score(X, labels))
    out[f"{prefix}davies_bouldin"] = float(davies_bouldin_score(X, labels))
    Xs, ls = X, labels
    if n > silhouette_sample_size:
        idx = np.sort(
            np.random.RandomState(random_state).choice(n, size=silhouette_sample_size, replace=False)
        )
        Xs, ls = X[idx], labels[idx]
    n_sample_labels = np.unique(ls).size
    if 2 <= n_sample_labels <= len(ls) - 1:
        out[f"{prefix}silhouette"] = float(silhouette_score(Xs, ls))
    else:
        warnings.append(
            f"silhouette on {space}: the seeded sample of {len(ls)} points holds {n_sample_labels} cluster(s); NaN."
        )
    return out


def evaluate_clustering(
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    truth: Sequence | np.ndarray | None = None,
    latent: np.ndarray | None = None,
    silhouette_sample_size: int = 10000,
    small_cluster_share: float = 0.01,
    random_state: int = 0,
    n_clusters: int | None = None,
) -> tuple[dict[str, float], list[str]]:
    """All of seglab's clustering metrics for one labelling.

    Args:
        X: the preprocessed feature matrix the model was given, shape (n, d).
        labels: cluster id per row, ``-1`` for noise (DBSCAN/HDBSCAN).
        truth: optional ground-truth segment per row (any hashable values); adds ACC/NMI/ARI.
        latent: optional embedding (deep models' ``transform``), shape (n, m); adds
            ``eval/latent_*`` internal metrics.
        silhouette_sample_size: silhouette on a seeded uniform sample above this many points.
        small_cluster_share: warn when a cluster holds fewer than this share of all points.
        random_state: seed of the silhouette sample.
        n_clusters: the k the model was asked for; clusters ``0..k-1`` that came out empty are
            warned about. Defaults to ``max(label) + 1``.

    Returns:
        ``(metrics, warnings)``: ``metrics`` maps ``eval/<name>`` to float (NaN = undefined):
        ``n_clusters`` (non-empty clusters, noise excluded), ``min_cluster_share`` and
        ``max_cluster_share`` (over clusters ``0..k-1``, empty ones count as 0, shares of all
        points), ``noise_share``, ``silhouette``, ``silhouette_sampled`` (1.0/0.0),
        ``calinski_harabasz``, ``davies_bouldin``; ``latent_*`` of the last three when
        ``latent`` is given; ``acc``, ``nmi``, ``ari`` when ``truth`` is given.
    """
    labels = _as_labels(labels)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    n = labels.shape[0]
    if X.shape[0] != n:
        raise ValueError(f"X has {X.shape[0]} rows but labels has {n}")
    if n == 0:
        raise ValueError("cannot evaluate a clustering of zero points")
    warnings: list[str] = []
    metrics: dict[str, float] = {}

    # --- sizes -------------------------------------------------------------------------
    is_noise = labels == NOISE
    if np.any(labels < NOISE):
        raise ValueError(f"labels must be >= -1 (-1 = noise), got {int(labels.min())}")
    clustered = ~is_noise
    k = int(n_clusters) if n_clusters is not None else (int(labels.max()) + 1 if clustered.any() else 0)
    sizes = np.bincount(labels[clustered], minlength=k) if clustered.any() else np.zeros(k, dtype=int)
    shares = sizes / n
    metrics["eval/n_clusters"] = float(np.count_nonzero(sizes))
    metrics["eval/min_cluster_share"] = float(shares[:k].min()) if k else float("nan")
    metrics["eval/max_cluster_share"] = float(shares.max()) if sizes.size else float("nan")
    metrics["eval/noise_share"] = float(is_noise.mean())
    empty = [c for c in range(k) if sizes[c] == 0]
    if empty:
        warnings.append(f"{len(empty)} of {k} expected clusters are empty: {empty}.")
    small = [c for c in range(sizes.size) if 0 < shares[c] < small_cluster_share]
    if small:
        detail = ", ".join(f"{c} ({sizes[c]} = {shares[c]:.2%})" for c in small)
        warnings.append(f"clusters holding under {small_cluster_share:.0%} of customers: {detail}.")
    extra = [c for c in range(k, sizes.size) if sizes[c] > 0]
    if extra:
        warnings.append(f"labels {extra} lie outside the expected 0..{k - 1}.")
    if is_noise.any():
        warnings.append(
            f"{int(is_noise.sum())} of {n} points ({is_noise.mean():.1%}) are noise (label -1): silhouette, "
            "Calinski-Harabasz and Davies-Bouldin are computed on the clustered points only; "
            "ACC/NMI/ARI on all points, with noise as its own label."
        )

    # --- internal metrics --------------------------------------------------------------
    n_clustered = int(clustered.sum())
    sampled = n_clustered > silhouette_sample_size
    metrics["eval/silhouette_sampled"] = 1.0 if sampled else 0.0
    if sampled:
        warnings.append(
            f"silhouette is estimated on a seeded sample of {silhouette_sample_size} of {n_clustered} points."
        )
    common = dict(silhouette_sample_size=silhouette_sample_size, random_state=random_state, warnings=warnings)
    metrics.update(
        _internal_metrics(X[clustered], labels[clustered], prefix="eval/", space="the features", **common)
    )
    if latent is not None:
        Z = np.asarray(latent, dtype=np.float64)
        if Z.ndim == 1:
            Z = Z.reshape(-1, 1)
        if Z.shape[0] != n:
            raise ValueError(f"latent has {Z.shape[0]} rows but labels has {n}")
        metrics.update(
            _internal_metrics(
                Z[clustered], labels[clustered], prefix="eval/latent_", space="the latent space", **common
            )
        )

    # --- external metrics --------------------------------------------------------------
    if truth is not None:
        truth_arr = np.asarray(truth, dtype=object) if not isinstance(truth, np.ndarray) else truth
        if truth_arr.shape[0] != n:
            raise ValueError(f"truth has {truth_arr.shape[0]} rows but labels has {n}")
        known = ~_is_missing(truth_arr)
        if not known.all():
            warnings.append(
                f"{int((~known).sum())} points have no ground truth: ACC/NMI/ARI use the other {int(known.sum())}."
            )
        t = _encode(truth_arr[known].astype(str) if truth_arr.dtype == object else truth_arr[known])
        lab = labels[known]
        if t.size == 0:
            metrics.update({"eval/acc": np.nan, "eval/nmi": np.nan, "eval/ari": np.nan})
            warnings.append("no point has ground truth: ACC/NMI/ARI are NaN.")
        else:
            metrics["eval/acc"] = clustering_accuracy(t, lab)
            metrics["eval/nmi"] = float(normalized_mutual_info_score(t, lab))
            metrics["eval/ari"] = float(adjusted_rand_score(t, lab))
    return metrics, warnings


def _is_missing(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool)
