"""Fitting O(n²) clusterings on a sample and assigning everyone else from that fit.

Ward linkage, spectral clustering, the consensus co-association matrix and density
neighbourhoods need O(n²) memory or time. Those models take ``max_samples``: with more
customers they are fitted on a seeded uniform sample of ``max_samples`` rows, and every other
customer is then assigned from that fit. ``SampledFitMixin._fit_sampled`` does the sampling once
for all of them; each model says how it fits the sample and, by overriding ``_prepare_assign``
and ``_assign``, how it assigns the rest:

- ``centroid`` (default rule): the nearest cluster centroid (the mean of the sample's members);
  natural for ward, whose clusters are variance-minimising and therefore convex;
- ``knn``: the majority label of the ``assign_neighbors`` nearest sample points, which keeps
  non-convex shapes (spectral, consensus);
- DBSCAN and HDBSCAN keep their own out-of-sample rules (`seglab.models.classical.density`).

Sample points keep the label the clustering gave them; ``predict`` on new data uses the same
rule. ``fit_report()`` says whether sampling happened (``fit/sampled``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import pairwise_distances_argmin
from sklearn.neighbors import KNeighborsClassifier

from seglab.errors import ConfigError
from seglab.models.base import one_hot


def sample_rows(n: int, max_samples: int | None, random_state: int) -> np.ndarray | None:
    """Sorted seeded sample of ``max_samples`` row indices, or None when n is small enough."""
    if max_samples is None or n <= int(max_samples):
        return None
    return np.sort(np.random.RandomState(random_state).choice(n, size=int(max_samples), replace=False))


def centroids(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean of each cluster's points (noise ignored); NaN rows for empty clusters."""
    centers = np.full((n_clusters, X.shape[1]), np.nan)
    for c in range(n_clusters):
        members = labels == c
        if members.any():
            centers[c] = X[members].mean(axis=0)
    return centers


def found_clusters(labels: np.ndarray) -> int:
    """How many clusters labels 0..k-1 name (noise, -1, is none)."""
    return int(labels.max()) + 1 if (labels >= 0).any() else 0


class SampledFitMixin:
    """Fit on a seeded sample when n > ``max_samples``; assign the rest by centroid or kNN
    (``assign``), or by the model's own ``_assign``."""

    def _fit_sampled(self, X: Any, fit_labels: Callable[[np.ndarray], np.ndarray],
                     n_clusters: int | None) -> np.ndarray | None:
        """``fit_labels(X_sample) -> labels``; sets ``labels_``, ``cluster_centers_``,
        ``n_clusters_`` and ``sampled_``; returns the sample's rows (None: all rows)."""
        X = self._validate(X, reset=True)
        idx = sample_rows(len(X), self.max_samples, self.random_state)
        Xs = X if idx is None else X[idx]
        labels_s = np.asarray(fit_labels(Xs), dtype=int)
        k = n_clusters if n_clusters is not None else found_clusters(labels_s)
        self.n_clusters_ = k
        self.cluster_centers_ = centroids(Xs, labels_s, k)
        self._prepare_assign(Xs, labels_s)
        self.sampled_ = idx is not None
        if idx is None:
            self.labels_ = labels_s
        else:
            labels = self._assign(X)
            labels[idx] = labels_s
            self.labels_ = labels
        return idx

    def _prepare_assign(self, Xs: np.ndarray, labels_s: np.ndarray) -> None:
        if self.assign == "knn":
            keep = labels_s >= 0
            k = max(1, min(int(self.assign_neighbors), int(keep.sum())))
            self.assigner_ = KNeighborsClassifier(n_neighbors=k).fit(Xs[keep], labels_s[keep])
        elif self.assign == "centroid":
            self.assigner_ = None
        else:
            raise ConfigError(f"model.assign must be 'centroid' or 'knn', got {self.assign!r}")

    def _assign(self, X: np.ndarray) -> np.ndarray:
        """Labels of validated rows ``X`` from the sample's fit."""
        if self.assigner_ is not None:
            return self.assigner_.predict(X).astype(int)
        ok = ~np.isnan(self.cluster_centers_).any(axis=1)
        idx = pairwise_distances_argmin(X, self.cluster_centers_[ok])
        return np.flatnonzero(ok)[idx].astype(int)

    def predict(self, X: Any) -> np.ndarray:
        return self._assign(self._validate(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return one_hot(self.predict(X), self.n_clusters_)

    def fit_report(self) -> dict[str, float]:
        return {"fit/sampled": float(self.sampled_)}
