"""What every registered metric sees: one labelling, checked once, with its warnings.

``ClusteringInputs`` validates the inputs (errors are ``ValueError`` naming the array at fault),
computes the cluster sizes and the sentences a person should read about them, and prepares,
lazily and once, each space the internal metrics use (``space("features")``,
``space("latent")``: the clustered points only, whether the metrics are defined there, the
seeded silhouette sample) and the ground truth (``external()``: the points that have one).
Metrics read these and append to ``warnings`` through ``warn`` (each sentence once).

Conventions, chosen so that no number flatters a model by accident:

- Internal metrics use the points that belong to a cluster; DBSCAN-style noise (label ``-1``)
  is left out of them (there is no centroid to compare it with), and a warning says so.
- External metrics (ACC, NMI, ARI) use *all* points, noise included as one more label, so a
  model cannot raise its score by declaring hard customers noise.
- A metric that is undefined (one cluster only, or as many clusters as points) is NaN plus a
  warning, never an exception.
- Silhouette is O(n²): above ``silhouette_sample_size`` clustered points it is computed on a
  seeded uniform sample and is then an estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

NOISE = -1
SPACE_NAMES = {"features": "the features", "latent": "the latent space"}


def as_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """Cluster ids as a 1-D int64 array; integral floats are accepted, anything else refused."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_int = arr.astype(np.int64)
        if not np.array_equal(as_int, arr):
            raise ValueError("labels must be integers (cluster ids, -1 for noise)")
        arr = as_int
    return arr.astype(np.int64, copy=False)


def encode(values: Sequence | np.ndarray) -> np.ndarray:
    """Any hashable labels (ints, strings) as consecutive integer codes."""
    _, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel()


def _matrix(values, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows but labels has {n}")
    return arr


@dataclass
class Space:
    """The clustered points of one space: ``X`` and ``labels``; ``defined`` is False (with a
    warning already given) when internal metrics are NaN there; ``sample`` is the seeded
    silhouette subset (row positions), None when every point is used."""

    description: str
    X: np.ndarray
    labels: np.ndarray
    defined: bool
    sample: np.ndarray | None


class ClusteringInputs:
    """One labelling and everything metrics need about it (see the module docstring)."""

    def __init__(self, X: np.ndarray, labels: Sequence[int] | np.ndarray, *, truth: Sequence | np.ndarray | None,
                 latent: np.ndarray | None, n_clusters: int | None, silhouette_sample_size: int,
                 small_cluster_share: float, random_state: int) -> None:
        """Arguments as ``seglab.evaluate.evaluate_clustering``'s (which documents them)."""
        self.labels = as_labels(labels)
        n = self.n = self.labels.shape[0]
        self._matrices = {"features": _matrix(X, "X", n)}
        if n == 0:
            raise ValueError("cannot evaluate a clustering of zero points")
        if np.any(self.labels < NOISE):
            raise ValueError(f"labels must be >= -1 (-1 = noise), got {int(self.labels.min())}")
        if latent is not None:
            self._matrices["latent"] = _matrix(latent, "latent", n)
        self.truth = None
        if truth is not None:
            self.truth = np.asarray(truth, dtype=object) if not isinstance(truth, np.ndarray) else truth
            if self.truth.shape[0] != n:
                raise ValueError(f"truth has {self.truth.shape[0]} rows but labels has {n}")
        self.silhouette_sample_size = int(silhouette_sample_size)
        self.random_state = random_state
        self.warnings: list[str] = []
        self._spaces: dict[str, Space] = {}
        self._external: tuple[np.ndarray, np.ndarray] | None = None

        self.is_noise = self.labels == NOISE
        self.clustered = ~self.is_noise
        lab = self.labels[self.clustered]
        self.k = int(n_clusters) if n_clusters is not None else (int(lab.max()) + 1 if lab.size else 0)
        self.sizes = np.bincount(lab, minlength=self.k) if lab.size else np.zeros(self.k, dtype=int)
        self.shares = self.sizes / n
        self._size_warnings(float(small_cluster_share))

    @property
    def has_latent(self) -> bool:
        return "latent" in self._matrices

    @property
    def has_truth(self) -> bool:
        return self.truth is not None

    @property
    def n_clustered(self) -> int:
        return int(self.clustered.sum())

    def warn(self, sentence: str) -> None:
        if sentence not in self.warnings:
            self.warnings.append(sentence)

    def _size_warnings(self, small_share: float) -> None:
        k, sizes, shares = self.k, self.sizes, self.shares
        empty = [c for c in range(k) if sizes[c] == 0]
        if empty:
            self.warn(f"{len(empty)} of {k} expected clusters are empty: {empty}.")
        small = [c for c in range(sizes.size) if 0 < shares[c] < small_share]
        if small:
            detail = ", ".join(f"{c} ({sizes[c]} = {shares[c]:.2%})" for c in small)
            self.warn(f"clusters holding under {small_share:.0%} of customers: {detail}.")
        extra = [c for c in range(k, sizes.size) if sizes[c] > 0]
        if extra:
            self.warn(f"labels {extra} lie outside the expected 0..{k - 1}.")
        if self.is_noise.any():
            self.warn(
                f"{int(self.is_noise.sum())} of {self.n} points ({self.is_noise.mean():.1%}) are noise (label -1): "
                "silhouette, Calinski-Harabasz and Davies-Bouldin are computed on the clustered points only; "
                "ACC/NMI/ARI on all points, with noise as its own label."
            )

    def space(self, name: str) -> Space:
        """The clustered points of ``features`` or ``latent``, checked once (warnings given once)."""
        if name not in self._spaces:
            self._spaces[name] = self._make_space(name)
        return self._spaces[name]

    def _make_space(self, name: str) -> Space:
        what = SPACE_NAMES[name]
        X, labels = self._matrices[name][self.clustered], self.labels[self.clustered]
        n, n_labels = X.shape[0], np.unique(labels).size
        defined = True
        if not np.all(np.isfinite(X)):
            self.warn(f"{what} contains NaN or infinite values: internal metrics on it are NaN.")
            defined = False
        elif n_labels < 2 or n_labels > n - 1:
            self.warn(
                f"silhouette, Calinski-Harabasz and Davies-Bouldin on {what} are undefined with "
                f"{n_labels} cluster(s) on {n} clustered point(s) (they need 2 <= clusters <= points - 1): NaN."
            )
            defined = False
        sample = None
        if n > self.silhouette_sample_size:
            rng = np.random.RandomState(self.random_state)
            sample = np.sort(rng.choice(n, size=self.silhouette_sample_size, replace=False))
        return Space(what, X, labels, defined, sample)

    def external(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(truth codes, labels) of the points that have a ground truth; None (with a warning)
        when no point has one. Call only when ``has_truth``."""
        if self._external is None:
            truth = self.truth
            known = ~np.asarray(pd.isna(truth), dtype=bool)
            if not known.all():
                self.warn(f"{int((~known).sum())} points have no ground truth: ACC/NMI/ARI use the other "
                          f"{int(known.sum())}.")
            codes = encode(truth[known].astype(str) if truth.dtype == object else truth[known])
            self._external = (codes, self.labels[known])
        codes, labels = self._external
        if codes.size == 0:
            self.warn("no point has ground truth: ACC/NMI/ARI are NaN.")
            return None
        return codes, labels
