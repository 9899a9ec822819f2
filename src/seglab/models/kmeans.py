"""k-means on the preprocessed features: the baseline every deep model is compared with."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans as _SkKMeans

from seglab.models.base import ClusterModel, softmax_distances
from seglab.models.params import check_params, wrapped_constraints


class KMeansModel(ClusterModel):
    """scikit-learn's k-means (k-means++ init, ``n_init`` restarts) behind seglab's protocol.

    ``predict_proba`` is a softmax over negative squared distances scaled by the mean
    within-cluster variance (`seglab.models.base.softmax_distances`), so it is a soft score that
    agrees with ``predict``; it is not a probabilistic model (use ``model=gmm`` for that).
    """

    _parameter_constraints = wrapped_constraints(_SkKMeans, "n_clusters", "n_init", "max_iter", "random_state")

    def __init__(self, n_clusters: int = 5, n_init: int = 10, max_iter: int = 300, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> KMeansModel:
        check_params(self)
        X = self._validate(X, reset=True)
        self.kmeans_ = _SkKMeans(
            n_clusters=self.n_clusters, n_init=self.n_init, max_iter=self.max_iter, random_state=self.random_state
        ).fit(X)
        self.labels_ = self.kmeans_.labels_.astype(int)
        self.cluster_centers_ = self.kmeans_.cluster_centers_
        self.inertia_ = float(self.kmeans_.inertia_)
        self.n_iter_ = int(self.kmeans_.n_iter_)
        self.scale_ = max(self.inertia_ / max(len(X), 1), 1e-12)
        return self

    def predict(self, X: Any) -> np.ndarray:
        X = self._validate(X)  # NotFittedError before a fit, not an AttributeError
        return self.kmeans_.predict(X).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._validate(X)
        return softmax_distances(self.kmeans_.transform(X) ** 2, self.scale_)

    def fit_report(self) -> dict[str, float]:
        return {"fit/inertia": self.inertia_, "fit/n_iter": float(self.kmeans_.n_iter_)}
