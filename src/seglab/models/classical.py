"""Classical baselines on seglab's estimator protocol (`seglab.models.base.ClusterModel`).

Every model wraps scikit-learn's implementation (nothing is re-implemented) and exposes
``fit`` / ``predict`` / ``predict_proba`` / ``transform`` / ``labels_`` / ``cluster_centers_``.

Large N. Ward linkage, spectral clustering and the consensus co-association matrix need
O(n²) memory, DBSCAN's neighbourhoods grow with n. Those models take ``max_samples``: when
there are more customers, they are fitted on a seeded uniform sample of ``max_samples`` rows,
and every other customer is then assigned from that fit (``assign``):

- ``centroid``: to the nearest cluster centroid (the mean of the sample's members in ``X``);
  natural for ward, whose clusters are variance-minimising and therefore convex;
- ``knn``: to the majority label of its ``assign_neighbors`` nearest sample points, which keeps
  non-convex shapes (spectral, consensus).

Sample points keep the label the clustering gave them; ``predict`` on new data uses the same
assignment rule. ``fit_report()`` says whether sampling happened (``fit/sampled``).

Noise. DBSCAN and HDBSCAN label noise ``-1``; it is kept as is in ``labels_`` and the
segment files, ``predict_proba`` gives noise rows all zeros, and the metrics count it honestly
(see `seglab.evaluate.metrics`).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
    SpectralClustering,
)
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances_argmin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from seglab.errors import ConfigError
from seglab.models.base import ClusterModel, one_hot


def _f64(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(-1, 1) if X.ndim == 1 else X


def _softmax_distances(d2: np.ndarray, scale: float) -> np.ndarray:
    """Soft scores from squared distances: softmax(-d² / 2·scale), rows sum to 1."""
    logits = -(d2 - d2.min(axis=1, keepdims=True)) / (2 * max(scale, 1e-12))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _centroids(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean of each cluster's points (noise ignored); NaN rows for empty clusters."""
    centers = np.full((n_clusters, X.shape[1]), np.nan)
    for c in range(n_clusters):
        members = labels == c
        if members.any():
            centers[c] = X[members].mean(axis=0)
    return centers


def _sample_index(n: int, max_samples: int | None, random_state: int) -> np.ndarray | None:
    """Sorted seeded sample of ``max_samples`` row indices, or None when n is small enough."""
    if max_samples is None or n <= int(max_samples):
        return None
    return np.sort(np.random.RandomState(random_state).choice(n, size=int(max_samples), replace=False))


class _CentroidSoftMixin:
    """predict / predict_proba from ``cluster_centers_`` (nearest centroid, distance softmax)."""

    def _set_scale(self, X: np.ndarray) -> None:
        d2 = ((X - self.cluster_centers_[self.labels_]) ** 2).sum(axis=1)
        self.scale_ = max(float(d2.mean()), 1e-12)

    def predict(self, X) -> np.ndarray:
        return pairwise_distances_argmin(self.transform(X), self.cluster_centers_).astype(int)

    def predict_proba(self, X) -> np.ndarray:
        Z = np.asarray(self.transform(X), dtype=np.float64)
        d2 = euclidean_distances(Z, self.cluster_centers_, squared=True)
        return _softmax_distances(d2, self.scale_)


class MiniBatchKMeansModel(_CentroidSoftMixin, ClusterModel):
    """Mini-batch k-means (scikit-learn) for large N: a few passes of small batches.

    ``predict_proba`` is the same distance softmax as ``KMeansModel``: a soft score, not a
    probability model.
    """

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

    def fit(self, X, y=None) -> MiniBatchKMeansModel:
        X = _f64(X)
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
        self._set_scale(X)
        return self

    def transform(self, X) -> np.ndarray:
        return _f64(X)

    def fit_report(self) -> dict[str, float]:
        return {"fit/inertia": self.inertia_, "fit/n_iter": float(self.kmeans_.n_iter_)}


class GMMModel(ClusterModel):
    """Gaussian mixture (scikit-learn, EM): soft probabilities from the mixture posterior.

    ``covariance_type``: ``full`` | ``tied`` | ``diag`` | ``spherical``. ``fit_report`` gives
    BIC and AIC on the training data (lower is better) and whether EM converged.
    """

    def __init__(
        self,
        n_clusters: int = 5,
        covariance_type: str = "full",
        n_init: int = 3,
        max_iter: int = 200,
        reg_covar: float = 1e-6,
        init_params: str = "k-means++",
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.init_params = init_params
        self.random_state = random_state

    def fit(self, X, y=None) -> GMMModel:
        if self.covariance_type not in ("full", "tied", "diag", "spherical"):
            raise ConfigError(
                f"model.covariance_type must be full, tied, diag or spherical, got {self.covariance_type!r}"
            )
        X = _f64(X)
        self.gmm_ = GaussianMixture(
            n_components=self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            init_params=self.init_params,
            random_state=self.random_state,
        ).fit(X)
        self.labels_ = self.gmm_.predict(X).astype(int)
        self.cluster_centers_ = self.gmm_.means_
        self.bic_ = float(self.gmm_.bic(X))
        self.aic_ = float(self.gmm_.aic(X))
        return self

    def predict(self, X) -> np.ndarray:
        return self.gmm_.predict(_f64(X)).astype(int)

    def predict_proba(self, X) -> np.ndarray:
        return self.gmm_.predict_proba(_f64(X))

    def transform(self, X) -> np.ndarray:
        return _f64(X)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/bic": self.bic_,
            "fit/aic": self.aic_,
            "fit/converged": float(self.gmm_.converged_),
            "fit/n_iter": float(self.gmm_.n_iter_),
        }


class _SampledFitMixin:
    """Fit on a seeded sample when n > max_samples; assign the rest by centroid or kNN."""

    def _prepare_assign(self, Xs: np.ndarray, labels_s: np.ndarray, n_clusters: int) -> None:
        self.cluster_centers_ = _centroids(Xs, labels_s, n_clusters)
        if self.assign == "knn":
            keep = labels_s >= 0
            k = max(1, min(int(self.assign_neighbors), int(keep.sum())))
            self.assigner_ = KNeighborsClassifier(n_neighbors=k).fit(Xs[keep], labels_s[keep])
        elif self.assign == "centroid":
            self.assigner_ = None
        else:
            raise ConfigError(f"model.assign must be 'centroid' or 'knn', got {self.assign!r}")

    def _assign(self, X: np.ndarray) -> np.ndarray:
        if self.assigner_ is not None:
            return self.assigner_.predict(X).astype(int)
        ok = ~np.isnan(self.cluster_centers_).any(axis=1)
        idx = pairwise_distances_argmin(X, self.cluster_centers_[ok])
        return np.flatnonzero(ok)[idx].astype(int)

    def _fit_sampled(self, X: np.ndarray, fit_labels, n_clusters: int | None) -> None:
        """``fit_labels(X_sample) -> labels``; sets labels_, cluster_centers_, sampled_."""
        X = _f64(X)
        idx = _sample_index(len(X), self.max_samples, self.random_state)
        Xs = X if idx is None else X[idx]
        labels_s = np.asarray(fit_labels(Xs), dtype=int)
        k = n_clusters if n_clusters is not None else int(labels_s.max()) + 1 if (labels_s >= 0).any() else 0
        self.n_clusters_ = k
        self._prepare_assign(Xs, labels_s, k)
        self.sampled_ = idx is not None
        if idx is None:
            self.labels_ = labels_s
        else:
            labels = self._assign(X)
            labels[idx] = labels_s
            self.labels_ = labels

    def predict(self, X) -> np.ndarray:
        return self._assign(_f64(X))

    def predict_proba(self, X) -> np.ndarray:
        return one_hot(self.predict(X), self.n_clusters_)

    def transform(self, X) -> np.ndarray:
        return _f64(X)

    def fit_report(self) -> dict[str, float]:
        return {"fit/sampled": float(self.sampled_)}


class HierarchicalModel(_SampledFitMixin, ClusterModel):
    """Agglomerative clustering (scikit-learn, ``linkage='ward'`` by default).

    Large N: fitted on a seeded sample of ``max_samples`` customers (ward needs O(n²) memory
    and about O(n²) time), the rest assigned to the nearest centroid (``assign``). Hard labels:
    ``predict_proba`` is one-hot.
    """

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

    def fit(self, X, y=None) -> HierarchicalModel:
        def fit_labels(Xs):
            return AgglomerativeClustering(n_clusters=self.n_clusters, linkage=self.linkage).fit_predict(Xs)

        self._fit_sampled(X, fit_labels, self.n_clusters)
        return self


class SpectralModel(_SampledFitMixin, ClusterModel):
    """Spectral clustering (scikit-learn) on a k-nearest-neighbour affinity graph.

    Large N: fitted on a seeded sample of ``max_samples`` customers (the eigen-decomposition
    is the bottleneck), the rest assigned by a ``assign_neighbors``-nearest-neighbour vote over
    the sample (``assign='knn'``, which keeps non-convex shapes). ``predict_proba`` is one-hot.
    """

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

    def fit(self, X, y=None) -> SpectralModel:
        def fit_labels(Xs):
            return SpectralClustering(
                n_clusters=self.n_clusters,
                affinity=self.affinity,
                n_neighbors=min(self.n_neighbors, len(Xs) - 1),
                assign_labels=self.assign_labels,
                random_state=self.random_state,
            ).fit_predict(Xs)

        self._fit_sampled(X, fit_labels, self.n_clusters)
        return self


def kdistance_eps(X: np.ndarray, min_samples: int, *, max_points: int = 5000, random_state: int = 0) -> float:
    """DBSCAN ``eps`` from the k-distance heuristic (Ester et al. 1996).

    Sort every point's distance to its ``min_samples``-th nearest neighbour (itself included,
    as DBSCAN counts it) and take the knee of that increasing curve (``kneed``, convex); when
    no knee is found, the 95th percentile. Computed on a seeded sample of ``max_points``.
    """
    from kneed import KneeLocator

    X = _f64(X)
    idx = _sample_index(len(X), max_points, random_state)
    Xs = X if idx is None else X[idx]
    k = max(1, min(int(min_samples), len(Xs) - 1))
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(Xs).kneighbors(Xs)
    kd = np.sort(dist[:, k - 1] if k < dist.shape[1] else dist[:, -1])
    # dist[:, 0] is the point itself (distance 0), so column k-1 is the min_samples-th point
    knee = None
    if len(kd) >= 3 and kd[-1] > kd[0]:
        knee = KneeLocator(np.arange(len(kd)), kd, curve="convex", direction="increasing").knee_y
    eps = float(knee) if knee is not None and knee > 0 else float(np.quantile(kd, 0.95))
    return max(eps, 1e-12)


class DBSCANModel(_SampledFitMixin, ClusterModel):
    """DBSCAN (scikit-learn): density clusters plus noise (-1); finds its own k.

    ``eps: auto`` chooses the radius with the k-distance heuristic (``kdistance_eps``).
    ``predict`` follows DBSCAN's own rule: a new point joins the cluster of its nearest core
    sample if that is within ``eps``, else it is noise. Large N: fitted on a seeded sample of
    ``max_samples``, the rest assigned by that rule. ``n_clusters`` is ignored (accepted so
    every model config can pass it).
    """

    def __init__(
        self,
        eps: float | str = "auto",
        min_samples: int = 10,
        max_samples: int | None = 20000,
        n_clusters: int | None = None,
        random_state: int = 0,
    ):
        self.eps = eps
        self.min_samples = min_samples
        self.max_samples = max_samples
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None) -> DBSCANModel:
        X = _f64(X)
        idx = _sample_index(len(X), self.max_samples, self.random_state)
        Xs = X if idx is None else X[idx]
        if self.eps == "auto":  # on the points DBSCAN will see: density depends on the sample size
            self.eps_ = kdistance_eps(Xs, self.min_samples, random_state=self.random_state)
        else:
            try:
                self.eps_ = float(self.eps)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"model.eps must be a positive number or 'auto', got {self.eps!r}"
                ) from None
            if self.eps_ <= 0:
                raise ConfigError(f"model.eps must be a positive number or 'auto', got {self.eps!r}")
        self.dbscan_ = DBSCAN(eps=self.eps_, min_samples=self.min_samples).fit(Xs)
        labels_s = self.dbscan_.labels_.astype(int)
        self.n_clusters_ = int(labels_s.max()) + 1 if (labels_s >= 0).any() else 0
        self.cluster_centers_ = _centroids(Xs, labels_s, self.n_clusters_)
        core = self.dbscan_.core_sample_indices_
        self.core_points_ = Xs[core]
        self.core_labels_ = labels_s[core]
        self.core_nn_ = NearestNeighbors(n_neighbors=1).fit(self.core_points_) if len(core) else None
        self.sampled_ = idx is not None
        if idx is None:
            self.labels_ = labels_s
        else:
            labels = self.predict(X)
            labels[idx] = labels_s
            self.labels_ = labels
        return self

    def predict(self, X) -> np.ndarray:
        X = _f64(X)
        if self.core_nn_ is None:
            return np.full(len(X), -1, dtype=int)
        dist, ind = self.core_nn_.kneighbors(X)
        return np.where(dist[:, 0] <= self.eps_, self.core_labels_[ind[:, 0]], -1).astype(int)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/eps": self.eps_,
            "fit/n_clusters_found": float(self.n_clusters_),
            "fit/noise_share": float(np.mean(self.labels_ == -1)),
            "fit/sampled": float(self.sampled_),
        }


class HDBSCANModel(_SampledFitMixin, ClusterModel):
    """HDBSCAN (``sklearn.cluster.HDBSCAN``): hierarchical density clusters plus noise (-1).

    ``min_cluster_size: auto`` = max(5, 1% of the fitted points). scikit-learn's HDBSCAN has
    no out-of-sample rule; ``predict`` gives a new point the label of its nearest fitted
    point, noise included (an approximation, stated here). Large N: fitted on a seeded sample
    of ``max_samples``, the rest assigned by that rule. ``n_clusters`` is ignored.
    """

    def __init__(
        self,
        min_cluster_size: int | str = "auto",
        min_samples: int | None = None,
        cluster_selection_epsilon: float = 0.0,
        cluster_selection_method: str = "eom",
        max_samples: int | None = 20000,
        n_clusters: int | None = None,
        random_state: int = 0,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.cluster_selection_method = cluster_selection_method
        self.max_samples = max_samples
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None) -> HDBSCANModel:
        X = _f64(X)
        idx = _sample_index(len(X), self.max_samples, self.random_state)
        Xs = X if idx is None else X[idx]
        mcs = self.min_cluster_size
        self.min_cluster_size_ = max(5, int(0.01 * len(Xs))) if mcs == "auto" else int(mcs)
        self.hdbscan_ = HDBSCAN(
            min_cluster_size=self.min_cluster_size_,
            min_samples=self.min_samples,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            cluster_selection_method=self.cluster_selection_method,
            copy=True,
        ).fit(Xs)
        labels_s = self.hdbscan_.labels_.astype(int)
        labels_s[labels_s < -1] = -1  # -2/-3 mark infinite/missing values: noise to us
        self.n_clusters_ = int(labels_s.max()) + 1 if (labels_s >= 0).any() else 0
        self.cluster_centers_ = _centroids(Xs, labels_s, self.n_clusters_)
        self.fit_points_ = Xs
        self.fit_labels_ = labels_s
        self.nn_ = NearestNeighbors(n_neighbors=1).fit(Xs)
        self.sampled_ = idx is not None
        if idx is None:
            self.labels_ = labels_s
        else:
            labels = self.predict(X)
            labels[idx] = labels_s
            self.labels_ = labels
        return self

    def predict(self, X) -> np.ndarray:
        _, ind = self.nn_.kneighbors(_f64(X))
        return self.fit_labels_[ind[:, 0]].astype(int)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/min_cluster_size": float(self.min_cluster_size_),
            "fit/n_clusters_found": float(self.n_clusters_),
            "fit/noise_share": float(np.mean(self.labels_ == -1)),
            "fit/sampled": float(self.sampled_),
        }


class PCAKMeansModel(_CentroidSoftMixin, ClusterModel):
    """PCA, then k-means in the principal subspace.

    ``n_components``: an int (components) or a float in (0, 1) (share of variance kept).
    ``transform`` returns the PCA projection, the space the clustering happens in, so
    ``is_deep`` is True in the protocol's sense ("learns an embedding"): the run then also
    reports latent-space metrics. ``cluster_centers_`` live in that space.
    """

    is_deep = True

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

    def fit(self, X, y=None) -> PCAKMeansModel:
        X = _f64(X)
        nc = self.n_components
        if isinstance(nc, float) and not 0 < nc < 1:
            raise ConfigError(f"model.n_components must be an int >= 1 or a float in (0, 1), got {nc!r}")
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
        self._set_scale(Z)
        return self

    def transform(self, X) -> np.ndarray:
        return self.pca_.transform(_f64(X))

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/inertia": self.inertia_,
            "fit/n_components": float(self.pca_.n_components_),
            "fit/explained_variance": float(self.pca_.explained_variance_ratio_.sum()),
        }


def _base_clusterer(method: str, k: int, seed: int):
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=1, random_state=seed)
    if method == "gmm":
        return GaussianMixture(n_components=k, covariance_type="diag", random_state=seed)
    if method == "hierarchical":
        return AgglomerativeClustering(n_clusters=k, linkage="ward")
    if method == "spectral":
        return SpectralClustering(n_clusters=k, affinity="nearest_neighbors", random_state=seed)
    raise ConfigError(f"model.base_methods: unknown method {method!r} (kmeans, gmm, hierarchical, spectral)")


def co_association(labelings: list[np.ndarray]) -> np.ndarray:
    """Share of labelings in which each pair of points falls in the same cluster (n x n).

    Noise (-1) never co-occurs with anything, itself excepted (the diagonal is 1).
    """
    n = len(labelings[0])
    C = np.zeros((n, n), dtype=np.float64)
    for lab in labelings:
        lab = np.asarray(lab)
        onehot = one_hot(lab, int(lab.max()) + 1 if (lab >= 0).any() else 0)
        C += onehot @ onehot.T
    C /= len(labelings)
    np.fill_diagonal(C, 1.0)
    return C


class ConsensusModel(_SampledFitMixin, ClusterModel):
    """Consensus (evidence-accumulation) clustering through the co-association matrix.

    Runs ``n_runs`` base clusterings per method in ``base_methods`` (each with its own seed,
    and, with ``k_range: [lo, hi]``, its own k drawn uniformly from that range, which is Fred &
    Jain's evidence accumulation; ``null`` = every base clustering uses ``n_clusters``), builds
    the co-association matrix (share of base clusterings that put two customers together),
    and cuts an average-linkage hierarchy on ``1 - co-association`` into ``n_clusters``.

    Large N: the co-association matrix is n x n, so everything is fitted on a seeded sample
    of ``max_samples`` (default 3000: 72 MB) and the rest assigned by a kNN vote over the
    sample (``assign``). ``fit_report`` gives the mean ARI between the base clusterings and
    the consensus (``fit/base_ari_mean``). ``predict_proba`` is one-hot.
    """

    def __init__(
        self,
        n_clusters: int = 5,
        base_methods: tuple[str, ...] | list[str] = ("kmeans", "gmm", "hierarchical"),
        n_runs: int = 4,
        k_range: list[int] | None = None,
        linkage: str = "average",
        max_samples: int | None = 3000,
        assign: str = "knn",
        assign_neighbors: int = 15,
        random_state: int = 0,
    ):
        self.n_clusters = n_clusters
        self.base_methods = base_methods
        self.n_runs = n_runs
        self.k_range = k_range
        self.linkage = linkage
        self.max_samples = max_samples
        self.assign = assign
        self.assign_neighbors = assign_neighbors
        self.random_state = random_state

    def fit(self, X, y=None) -> ConsensusModel:
        from sklearn.metrics import adjusted_rand_score

        if self.linkage == "ward":
            raise ConfigError(
                "model.linkage: ward needs Euclidean features, not a co-association; use average"
            )
        rng = np.random.RandomState(self.random_state)
        base: list[np.ndarray] = []

        def fit_labels(Xs):
            for method in self.base_methods:
                for _ in range(int(self.n_runs)):
                    seed = int(rng.randint(0, 2**31 - 1))
                    k = self.n_clusters
                    if self.k_range is not None:
                        lo, hi = (int(v) for v in self.k_range)
                        k = int(rng.randint(lo, hi + 1))
                    k = max(2, min(k, len(Xs) - 1))
                    base.append(np.asarray(_base_clusterer(method, k, seed).fit_predict(Xs), dtype=int))
            if not base:
                raise ConfigError("model.base_methods and model.n_runs give no base clustering")
            C = co_association(base)
            return AgglomerativeClustering(
                n_clusters=self.n_clusters, metric="precomputed", linkage=self.linkage
            ).fit_predict(1.0 - C)

        self._fit_sampled(X, fit_labels, self.n_clusters)
        idx = _sample_index(len(_f64(X)), self.max_samples, self.random_state)
        consensus_s = self.labels_ if idx is None else self.labels_[idx]
        self.base_ari_ = [float(adjusted_rand_score(consensus_s, b)) for b in base]
        self.n_base_ = len(base)
        return self

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/sampled": float(self.sampled_),
            "fit/n_base": float(self.n_base_),
            "fit/base_ari_mean": float(np.mean(self.base_ari_)),
        }
