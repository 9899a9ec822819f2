"""Centroid baselines beside k-means: mini-batch k-means for large N, and PCA then k-means.

Both score ``predict_proba`` as the distance softmax of `seglab.models.base.softmax_distances`
(the same soft score as `seglab.models.kmeans.KMeansModel`): a score that agrees with the
nearest centre, not a probability model (use ``model=gmm`` for that).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances_argmin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils._param_validation import Interval

from seglab.models.base import ClusterModel, softmax_distances
from seglab.models.params import check_params, wrapped_constraints


class CentroidSoftMixin:
    """predict / predict_proba from ``cluster_centers_`` in ``transform``'s space (nearest
    centroid, distance softmax scaled by the mean within-cluster variance ``scale_``)."""

    def _set_scale(self, Z: np.ndarray) -> None:
        d2 = ((Z - self.cluster_centers_[self.labels_]) ** 2).sum(axis=1)
        self.scale_ = max(float(d2.mean()), 1e-12)

    def predict(self, X: Any) -> np.ndarray:
        return pairwise_distances_argmin(self.transform(X), self.cluster_centers_).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        Z = np.asarray(self.transform(X), dtype=np.float64)
        return softmax_distances(euclidean_distances(Z, self.cluster_centers_, squared=True), self.scale_)


class MiniBatchKMeansModel(CentroidSoftMixin, ClusterModel):
    """Mini-batch k-means (scikit-learn) for large N: a few passes of small batches."""

    _parameter_constraints = wrapped_constraints(MiniBatchKMeans, "n_clusters", "batch_size", "n_init", "max_iter",
                                                 "random_state")

    def __init__(
        self,
        n_clusters: int = 5,
        batch_size: int = 4096,
        n_init: int = 3,
        max_iter: int = 100,
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MiniBatchKMeansModel:
        check_params(self)
        X = self._validate(X, reset=True)
        self.kmeans_ = MiniBatchKMeans(
            n_clusters=self.n_clusters,
            batch_size=self.batch_size,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=self.random_state,
        ).fit(X)
        self.cluster_centers_ = self.kmeans_.cluster_centers_
        self.labels_ = self.kmeans_.predict(X).astype(int)  # final assignment with the final centres
        self.inertia_ = float(((X - self.cluster_centers_[self.labels_]) ** 2).sum())
        self.n_iter_ = int(self.kmeans_.n_iter_)
        self._set_scale(X)
        return self

    def fit_report(self) -> dict[str, float]:
        return {"fit/inertia": self.inertia_, "fit/n_iter": float(self.kmeans_.n_iter_)}


class PCAKMeansModel(CentroidSoftMixin, ClusterModel):
    """PCA, then k-means in the principal subspace.

    ``n_components``: an int (components) or a float in (0, 1) (share of variance kept).
    ``transform`` returns the PCA projection, the space the clustering happens in, so
    ``has_embedding`` is True: the run then also reports latent-space metrics. A classical
    baseline nonetheless (no Lightning training). ``cluster_centers_`` live in that space.
    """

    has_embedding = True
    _parameter_constraints = {
        **wrapped_constraints(KMeans, "n_clusters", "n_init", "max_iter", "random_state"),
        **wrapped_constraints(PCA, "whiten"),
        "n_components": [Interval(Integral, 1, None, closed="left"), Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        n_clusters: int = 5,
        n_components: int | float = 0.9,
        whiten: bool = False,
        n_init: int = 10,
        max_iter: int = 300,
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.whiten = whiten
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> PCAKMeansModel:
        check_params(self)
        X = self._validate(X, reset=True)
        nc = self.n_components
        if isinstance(nc, int):
            nc = max(1, min(nc, X.shape[1], X.shape[0]))
        self.pca_ = PCA(n_components=nc, whiten=self.whiten, random_state=self.random_state).fit(X)
        Z = self.pca_.transform(X)
        self.kmeans_ = KMeans(
            n_clusters=self.n_clusters,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=self.random_state,
        ).fit(Z)
        self.labels_ = self.kmeans_.labels_.astype(int)
        self.cluster_centers_ = self.kmeans_.cluster_centers_
        self.inertia_ = float(self.kmeans_.inertia_)
        self.n_iter_ = int(self.kmeans_.n_iter_)
        self._set_scale(Z)
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = self._validate(X)  # NotFittedError before a fit, not an AttributeError
        return self.pca_.transform(X)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/inertia": self.inertia_,
            "fit/n_components": float(self.pca_.n_components_),
            "fit/explained_variance": float(self.pca_.explained_variance_ratio_.sum()),
        }
