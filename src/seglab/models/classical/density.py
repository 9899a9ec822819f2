"""Density clusterings that find their own k and label noise -1: DBSCAN and HDBSCAN.

Noise is kept as is in ``labels_`` and the segment files, ``predict_proba`` gives noise rows
all zeros, and the metrics count it honestly (see `seglab.evaluate.metrics`). Above
``max_samples`` customers both are fitted on a seeded sample (`seglab.models.classical.sampling`)
and the rest assigned by their own out-of-sample rule (``_assign``). ``n_clusters`` is ignored
(accepted so every model config can pass it).

Where they cluster (``embedding``): a mixed customer feature space (continuous behaviour beside
category shares that are often exactly 0, text features imputed to one value for customers
without reviews, binary flags) holds point masses next to spread-out points, so its density has
no single scale: one ``eps`` chains every segment together (DBSCAN) or marks the spread-out
customers as noise (HDBSCAN). ``embedding="umap"`` clusters a UMAP embedding of the features
instead, the recipe of UMAP's and HDBSCAN's authors for density clustering of high-dimensional
data (McInnes, Healy & Melville 2018; umap-learn's "Using UMAP for Clustering": ``min_dist`` 0,
about 30 neighbours, a few dimensions); the conf/model files turn it on, the classes keep the
plain behaviour (scikit-learn's, on the given space) by default.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import StrOptions

from seglab.errors import require_extra
from seglab.models.base import ClusterModel
from seglab.models.classical.sampling import SampledFitMixin, sample_rows
from seglab.models.params import POSITIVE, SAMPLING, at_least, check_params, wrapped_constraints

#: ``n_clusters`` is accepted (every model config passes it) and ignored.
_IGNORED_K = {"n_clusters": [at_least(1), None]}
#: Where the density is estimated: the given features (None) or a UMAP embedding of them.
_SPACE = {"embedding": [StrOptions({"umap"}), None], "embedding_dim": [at_least(1)],
          "embedding_neighbors": [at_least(2)]}


def auto_min_samples(n_dims: int) -> int:
    """``min_samples`` = 2 × the dimension of the space clustered (Sander et al. 1998; Schubert
    et al. 2017, "DBSCAN revisited, revisited"), the same rule for HDBSCAN, whose ``min_samples``
    is DBSCAN's (Campello, Moulavi & Sander 2013)."""
    return 2 * int(n_dims)


#: Fitted rows whose embeddings place a new row (``DensitySpaceMixin._space``).
PLACE_NEIGHBORS = 5


class DensitySpaceMixin:
    """The space a density model clusters (``embedding``): the validated features, or their UMAP
    embedding (``embedding_dim`` dimensions, ``embedding_neighbors`` neighbours, ``min_dist`` 0).

    A new row is placed in the embedding at the inverse-distance-weighted mean of its
    ``PLACE_NEIGHBORS`` nearest fitted rows' embeddings (a fitted row lands on its own), which is
    how UMAP's ``transform`` starts before its optimisation epochs. Those epochs would cost
    seconds per call (and a numba compilation per process), and ``predict`` is called many times
    per run (permutation importances), so they are left out: an approximation, stated here."""

    #: k is what the model finds (``n_clusters_``), not ``n_clusters``: runs report that
    finds_own_k = True

    def _fit_space(self, Xs: np.ndarray) -> np.ndarray:
        """The fitted rows in the space clustered (kept as ``fit_space_``, its width as ``space_dim_``)."""
        self.embedder_ = None
        Zs = Xs
        if self.embedding is not None:
            umap = require_extra("umap", "umap", f"model.embedding=umap ({type(self).__name__})")
            self.embedder_ = umap.UMAP(n_components=int(self.embedding_dim),
                                       n_neighbors=int(min(self.embedding_neighbors, len(Xs) - 1)),
                                       min_dist=0.0, random_state=int(self.random_state), n_jobs=1)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*n_jobs value.*overridden.*")
                Zs = np.asarray(self.embedder_.fit_transform(Xs), dtype=np.float64)
            self.place_nn_ = NearestNeighbors(n_neighbors=min(PLACE_NEIGHBORS, len(Xs))).fit(Xs)
        self.fit_space_, self.space_dim_ = Zs, int(Zs.shape[1])
        return Zs

    def _space(self, X: np.ndarray) -> np.ndarray:
        if getattr(self, "embedder_", None) is None:
            return X
        dist, ind = self.place_nn_.kneighbors(X)
        w = 1.0 / np.maximum(dist, 1e-12)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", w, self.fit_space_[ind])


def kdistance_eps(X: Any, min_samples: int, *, max_points: int = 5000, random_state: int = 0) -> float:
    """DBSCAN ``eps`` from the k-distance heuristic (Ester et al. 1996).

    Sort every point's distance to its ``min_samples``-th nearest neighbour (itself included,
    as DBSCAN counts it) and take the knee of that increasing curve (``kneed``, convex); when
    no knee is found, the 95th percentile. Computed on a seeded sample of ``max_points``.
    """
    from kneed import KneeLocator

    X = np.asarray(X, dtype=np.float64)
    idx = sample_rows(len(X), max_points, random_state)
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


class DBSCANModel(DensitySpaceMixin, SampledFitMixin, ClusterModel):
    """DBSCAN (scikit-learn): density clusters plus noise (-1); finds its own k.

    ``eps: auto`` chooses the radius with the k-distance heuristic (``kdistance_eps``) on the
    points DBSCAN sees (density depends on the sample size), in the space it clusters
    (``embedding``). ``min_samples: auto`` = 2 × that space's dimension (``auto_min_samples``),
    the neighbour count the k-distance curve is then drawn for; both values are in ``fit_report``.
    ``predict`` follows DBSCAN's own
    rule: a new point joins the cluster of its nearest core sample if that is within ``eps``,
    else it is noise.
    """

    _parameter_constraints = {"min_samples": [*wrapped_constraints(DBSCAN, "min_samples")["min_samples"],
                                              StrOptions({"auto"})],
                              "eps": [POSITIVE, StrOptions({"auto"})],
                              "max_samples": SAMPLING["max_samples"], "random_state": SAMPLING["random_state"],
                              **_SPACE, **_IGNORED_K}

    def __init__(
        self,
        eps: float | str = "auto",
        min_samples: int | str = 10,
        embedding: str | None = None,
        embedding_dim: int = 5,
        embedding_neighbors: int = 30,
        max_samples: int | None = 20000,
        n_clusters: int | None = None,
        random_state: int = 0,
    ):
        self.eps = eps
        self.min_samples = min_samples
        self.embedding = embedding
        self.embedding_dim = embedding_dim
        self.embedding_neighbors = embedding_neighbors
        self.max_samples = max_samples
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> DBSCANModel:
        check_params(self)
        eps = None if self.eps == "auto" else float(self.eps)

        def fit_labels(Xs):  # Xs: validated rows
            Zs = self._fit_space(Xs)
            self.min_samples_ = auto_min_samples(Zs.shape[1]) if self.min_samples == "auto" else int(self.min_samples)
            self.eps_ = kdistance_eps(Zs, self.min_samples_, random_state=self.random_state) if eps is None else eps
            self.dbscan_ = DBSCAN(eps=self.eps_, min_samples=self.min_samples_).fit(Zs)
            return self.dbscan_.labels_

        self._fit_sampled(X, fit_labels, None)
        return self

    def _prepare_assign(self, Xs: np.ndarray, labels_s: np.ndarray) -> None:
        core = self.dbscan_.core_sample_indices_
        self.core_points_ = self.fit_space_[core]
        self.core_labels_ = labels_s[core]
        self.core_nn_ = NearestNeighbors(n_neighbors=1).fit(self.core_points_) if len(core) else None

    def _assign(self, X: np.ndarray) -> np.ndarray:
        if self.core_nn_ is None:
            return np.full(len(X), -1, dtype=int)
        dist, ind = self.core_nn_.kneighbors(self._space(X))
        return np.where(dist[:, 0] <= self.eps_, self.core_labels_[ind[:, 0]], -1).astype(int)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/eps": self.eps_,
            "fit/min_samples": float(self.min_samples_),
            "fit/space_dim": float(self.space_dim_),
            "fit/n_clusters_found": float(self.n_clusters_),
            "fit/noise_share": float(np.mean(self.labels_ == -1)),
            "fit/sampled": float(self.sampled_),
        }


class HDBSCANModel(DensitySpaceMixin, SampledFitMixin, ClusterModel):
    """HDBSCAN (``sklearn.cluster.HDBSCAN``): hierarchical density clusters plus noise (-1).

    ``min_cluster_size: auto`` = max(5, 1% of the fitted points); ``min_samples: auto`` = 2 ×
    the dimension of the space clustered (``auto_min_samples``; None: scikit-learn's default,
    ``min_cluster_size``); both in ``fit_report``. scikit-learn's HDBSCAN has
    no out-of-sample rule; ``predict`` gives a new point the label of its nearest fitted
    point, noise included (an approximation, stated here).
    """

    _parameter_constraints = {
        **wrapped_constraints(HDBSCAN, "cluster_selection_epsilon", "cluster_selection_method"),
        "min_samples": [*wrapped_constraints(HDBSCAN, "min_samples")["min_samples"], StrOptions({"auto"})],
        "min_cluster_size": [at_least(2), StrOptions({"auto"})], "max_samples": SAMPLING["max_samples"],
        "random_state": SAMPLING["random_state"], **_SPACE, **_IGNORED_K,
    }

    def __init__(
        self,
        min_cluster_size: int | str = "auto",
        min_samples: int | str | None = None,
        cluster_selection_epsilon: float = 0.0,
        cluster_selection_method: str = "eom",
        embedding: str | None = None,
        embedding_dim: int = 5,
        embedding_neighbors: int = 30,
        max_samples: int | None = 20000,
        n_clusters: int | None = None,
        random_state: int = 0,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.cluster_selection_method = cluster_selection_method
        self.embedding = embedding
        self.embedding_dim = embedding_dim
        self.embedding_neighbors = embedding_neighbors
        self.max_samples = max_samples
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> HDBSCANModel:
        check_params(self)

        def fit_labels(Xs):
            Zs = self._fit_space(Xs)
            mcs, ms = self.min_cluster_size, self.min_samples
            self.min_cluster_size_ = max(5, int(0.01 * len(Xs))) if mcs == "auto" else int(mcs)
            self.min_samples_ = (auto_min_samples(Zs.shape[1]) if ms == "auto"
                                 else self.min_cluster_size_ if ms is None else int(ms))
            self.hdbscan_ = HDBSCAN(
                min_cluster_size=self.min_cluster_size_,
                min_samples=self.min_samples_,
                cluster_selection_epsilon=self.cluster_selection_epsilon,
                cluster_selection_method=self.cluster_selection_method,
                copy=True,
            ).fit(Zs)
            labels = self.hdbscan_.labels_.astype(int)
            labels[labels < -1] = -1  # -2/-3 mark infinite/missing values: noise to us
            return labels

        self._fit_sampled(X, fit_labels, None)
        return self

    def _prepare_assign(self, Xs: np.ndarray, labels_s: np.ndarray) -> None:
        self.fit_points_ = self.fit_space_
        self.fit_labels_ = labels_s
        self.nn_ = NearestNeighbors(n_neighbors=1).fit(self.fit_space_)

    def _assign(self, X: np.ndarray) -> np.ndarray:
        _, ind = self.nn_.kneighbors(self._space(X))
        return self.fit_labels_[ind[:, 0]].astype(int)

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/min_cluster_size": float(self.min_cluster_size_),
            "fit/min_samples": float(self.min_samples_),
            "fit/space_dim": float(self.space_dim_),
            "fit/n_clusters_found": float(self.n_clusters_),
            "fit/noise_share": float(np.mean(self.labels_ == -1)),
            "fit/sampled": float(self.sampled_),
        }
