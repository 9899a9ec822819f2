"""Initial cluster centres for the deep models: exact k-means when small, a seeded sample when large.

Exact k-means with ``n_init`` restarts costs O(n_init x n x k x iterations); on 10^7 latent
codes that is minutes and a float64 copy. Above ``sample_size`` rows the restarts run on a seeded
uniform sample of ``sample_size`` rows and every row is then assigned to its nearest centre in
one chunked pass: with a few clusters of a few dims, 10^5 rows place the centres as well as all
of them (the sample's standard error is far below the clusters' spread). Below the threshold
nothing changes, so small-data results do not depend on this module.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from seglab.progress import stage


def kmeans_centres(Z: np.ndarray, n_clusters: int, *, n_init: int, random_state: int,
                   sample_size: int | None = None, label: str = "k-means") -> tuple[np.ndarray, np.ndarray, float]:
    """``(labels, centres, inertia)`` of k-means on ``Z`` (on a seeded sample above ``sample_size``)."""
    n = len(Z)
    sampled = sample_size is not None and n > int(sample_size)
    # One OpenMP thread: scikit-learn's Lloyd reduces per-thread partial sums under a lock, so
    # with several threads the float order (and, rarely, the labels) depends on thread timing.
    with threadpool_limits(limits=1, user_api="openmp"), \
            stage(f"{label}: {n_clusters} clusters, {n_init} restarts on "
                  + (f"a sample of {int(sample_size):,} of {n:,} rows" if sampled else f"{n:,} rows")):
        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        if not sampled:
            km.fit(Z)
            return km.labels_.astype(int), km.cluster_centers_.astype(np.float32), float(km.inertia_)
        rows = np.sort(np.random.default_rng(random_state).choice(n, int(sample_size), replace=False))
        km.fit(Z[rows])
        labels = km.predict(Z).astype(int)  # scikit-learn assigns in chunks, no n x k distance matrix
        inertia = -float(km.score(Z))
    return labels, km.cluster_centers_.astype(np.float32), inertia


def cluster_means(Z: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """(k, d) mean of ``Z``'s rows per label; an empty label's row is the overall mean."""
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    sums = np.stack([np.bincount(labels, weights=Z[:, j], minlength=n_clusters) for j in range(Z.shape[1])], 1)
    means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], Z.mean(axis=0, dtype=np.float64))
    return means.astype(np.float32)
