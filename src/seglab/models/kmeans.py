"""k-means on the preprocessed features: the baseline every deep model is compared with."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans as _SkKMeans

from seglab.models.base import ClusterModel


class KMeansModel(ClusterModel):
    """scikit-learn's k-means (k-means++ init, ``n_init`` restarts) behind seglab's protocol.

    ``predict_proba`` is a softmax over negative squared distances scaled by the mean
    within-cluster variance, so it is a soft score that agrees with ``predict``; it is not a
    probabilistic model (use ``model=gmm`` for that).
    """

    def __init__(self, n_clusters: int = 5, n_init: int = 10, max_iter: int = 300, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> KMeansModel:
        X = np.asarray(X, dtype=np.float64)
        self.kmeans_ = _SkKMeans(
            n_clusters=self.n_clusters, n_init=self.n_init, max_iter=self.max_iter, random_state=self.random_state
        ).fit(X)
        self.labels_ = self.kmeans_.labels_.astype(int)
        self.cluster_centers_ = self.kmeans_.cluster_centers_
        self.inertia_ = float(self.kmeans_.inertia_)
        self.scale_ = max(self.inertia_ / max(len(X), 1), 1e-12)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.kmeans_.predict(np.asarray(X, dtype=np.float64)).astype(int)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        d2 = self.kmeans_.transform(np.asarray(X, dtype=np.float64)) ** 2
        logits = -(d2 - d2.min(axis=1, keepdims=True)) / (2 * self.scale_)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def fit_report(self) -> dict[str, float]:
        return {"fit/inertia": self.inertia_, "fit/n_iter": float(self.kmeans_.n_iter_)}
