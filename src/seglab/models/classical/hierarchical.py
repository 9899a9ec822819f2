"""Agglomerative (Ward by default) and spectral clustering, fitted on a sample above ``max_samples``
(`seglab.models.classical.sampling`): hard labels, ``predict_proba`` is one-hot."""

from __future__ import annotations

from typing import Any

from sklearn.cluster import AgglomerativeClustering, SpectralClustering

from seglab.models.base import ClusterModel
from seglab.models.classical.sampling import SampledFitMixin
from seglab.models.params import SAMPLING, check_params, wrapped_constraints


class HierarchicalModel(SampledFitMixin, ClusterModel):
    """Agglomerative clustering (scikit-learn, ``linkage='ward'`` by default).

    Large N: fitted on a seeded sample of ``max_samples`` customers (ward needs O(n²) memory
    and about O(n²) time), the rest assigned to the nearest centroid (``assign``).
    """

    _parameter_constraints = {**wrapped_constraints(AgglomerativeClustering, "n_clusters", "linkage"), **SAMPLING}

    def __init__(
        self,
        n_clusters: int = 5,
        linkage: str = "ward",
        max_samples: int | None = 5000,
        assign: str = "centroid",
        assign_neighbors: int = 15,
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_samples = max_samples
        self.assign = assign
        self.assign_neighbors = assign_neighbors
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> HierarchicalModel:
        check_params(self)

        def fit_labels(Xs):
            return AgglomerativeClustering(n_clusters=self.n_clusters, linkage=self.linkage).fit_predict(Xs)

        self._fit_sampled(X, fit_labels, self.n_clusters)
        return self


class SpectralModel(SampledFitMixin, ClusterModel):
    """Spectral clustering (scikit-learn) on a k-nearest-neighbour affinity graph.

    Large N: fitted on a seeded sample of ``max_samples`` customers (the eigen-decomposition
    is the bottleneck), the rest assigned by a ``assign_neighbors``-nearest-neighbour vote over
    the sample (``assign='knn'``, which keeps non-convex shapes).
    """

    _parameter_constraints = {
        **wrapped_constraints(SpectralClustering, "n_clusters", "affinity", "n_neighbors", "assign_labels"), **SAMPLING,
    }

    def __init__(
        self,
        n_clusters: int = 5,
        affinity: str = "nearest_neighbors",
        n_neighbors: int = 15,
        assign_labels: str = "cluster_qr",
        max_samples: int | None = 3000,
        assign: str = "knn",
        assign_neighbors: int = 15,
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.assign_labels = assign_labels
        self.max_samples = max_samples
        self.assign = assign
        self.assign_neighbors = assign_neighbors
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> SpectralModel:
        check_params(self)

        def fit_labels(Xs):
            return SpectralClustering(
                n_clusters=self.n_clusters,
                affinity=self.affinity,
                n_neighbors=max(1, min(self.n_neighbors, len(Xs) - 1)),  # 1 row: scikit-learn's own error
                assign_labels=self.assign_labels,
                random_state=self.random_state,
            ).fit_predict(Xs)

        self._fit_sampled(X, fit_labels, self.n_clusters)
        return self
