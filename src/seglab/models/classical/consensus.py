"""Consensus (evidence-accumulation) clustering through the co-association matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import StrOptions

from seglab.errors import ConfigError
from seglab.models.base import ClusterModel, one_hot
from seglab.models.classical.sampling import SampledFitMixin
from seglab.models.params import SAMPLING, WIDTHS, Items, at_least, check_params

#: The base clusterings an ensemble can draw from (``base_clusterer``).
BASE_METHODS = ("kmeans", "gmm", "hierarchical", "spectral")


def base_clusterer(method: str, k: int, seed: int):
    """One base clustering of the ensemble (scikit-learn estimator with ``fit_predict``)."""
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=1, random_state=seed)
    if method == "gmm":
        return GaussianMixture(n_components=k, covariance_type="diag", random_state=seed)
    if method == "hierarchical":
        return AgglomerativeClustering(n_clusters=k, linkage="ward")
    if method == "spectral":
        return SpectralClustering(n_clusters=k, affinity="nearest_neighbors", random_state=seed)
    raise ConfigError(f"model.base_methods: unknown method {method!r} ({', '.join(BASE_METHODS)})")


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


class ConsensusModel(SampledFitMixin, ClusterModel):
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

    _parameter_constraints = {
        "n_clusters": [at_least(1)], "base_methods": [Items(StrOptions(set(BASE_METHODS)), ", ".join(BASE_METHODS), min_len=1)], "n_runs": [at_least(1)], "k_range": [*WIDTHS, None],
        # not ward: it needs Euclidean features, and a co-association matrix is not one (fit says so)
        "linkage": [StrOptions({"average", "complete", "single"})], **SAMPLING,
    }

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

    def fit(self, X: Any, y: Any = None) -> ConsensusModel:
        if self.linkage == "ward":
            raise ConfigError(
                "model.linkage: ward needs Euclidean features, not a co-association; use average"
            )
        check_params(self)
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
                    base.append(np.asarray(base_clusterer(method, k, seed).fit_predict(Xs), dtype=int))
            if not base:
                raise ConfigError("model.base_methods and model.n_runs give no base clustering")
            C = co_association(base)
            return AgglomerativeClustering(
                n_clusters=self.n_clusters, metric="precomputed", linkage=self.linkage
            ).fit_predict(1.0 - C)

        idx = self._fit_sampled(X, fit_labels, self.n_clusters)
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
