"""The estimator protocol every seglab model follows (scikit-learn's, plus save/load).

Why a shared base: `seglab.train.run` and the evaluation code treat a k-means wrapper and a
DEC model the same way, so every model exposes the same verbs:

- ``fit(X)`` -> self, setting ``labels_`` (int array, -1 = noise where a model has noise),
  ``cluster_centers_`` (in the space the clustering happens in, i.e. ``transform``'s output) and
  ``n_features_in_``;
- ``predict(X)`` -> labels for new customers; ``predict_proba(X)`` -> (n, k) soft assignments
  (models without a natural soft assignment give one-hot rows);
- ``transform(X)`` -> the embedding the clustering happened in (the latent for deep models, the
  input itself for most classical ones);
- ``save(path)`` / ``load(path)``: one file that reloads and predicts identically.

Inputs go through scikit-learn's ``validate_data`` (2-D, finite, numeric; the feature count
checked against the fit), and every method but ``fit`` raises ``NotFittedError`` before a fit.
``X`` is the preprocessed float matrix (numpy, shape (n_samples, n_features)).

Two class flags say what a model can do, so callers never guess from constructor signatures:

- ``has_embedding``: ``transform`` returns a learnt embedding (an autoencoder's latent, a PCA
  projection), so a run also reports latent-space metrics;
- ``uses_lightning``: the model trains neural networks with Lightning and takes the run's
  trainer settings (``trainer_kwargs``); reports call such models *deep*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class ClusterModel(ClusterMixin, TransformerMixin, BaseEstimator):
    """Base class: subclasses implement ``fit`` and ``predict_proba`` (and ``transform`` when the
    clustering happens in another space than the input)."""

    #: ``transform`` gives a learnt embedding (latent-space metrics are then reported).
    has_embedding: bool = False
    #: Trains with Lightning and takes ``trainer_kwargs`` (a *deep* model in reports).
    uses_lightning: bool = False

    @classmethod
    def from_config(cls, **keys: Any) -> ClusterModel:
        """The model from the flat keys of its ``conf/model/*.yaml`` (classical models: its
        constructor arguments as they are)."""
        return cls(**keys)

    @classmethod
    def config_keys(cls) -> set[str]:
        """The flat keys ``from_config`` accepts."""
        return set(cls._get_param_names())

    # --- input checks -----------------------------------------------------------------------
    def _validate(self, X: Any, reset: bool = False, dtype: Any = np.float64) -> np.ndarray:
        """``X`` as a finite 2-D array of ``dtype`` (``reset=True`` in ``fit`` records
        ``n_features_in_``; afterwards the feature count must match)."""
        if not reset:
            check_is_fitted(self)
        return validate_data(self, X, reset=reset, dtype=dtype)

    # --- the protocol -------------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.predict_proba(X)).argmax(axis=1)

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).labels_

    def transform(self, X: Any) -> np.ndarray:
        """The input itself: the space classical models cluster in."""
        return self._validate(X)

    def fit_report(self) -> dict[str, float]:
        """Numbers about the fit itself (epochs, iterations, final loss) for the tracker."""
        return {}

    # --- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one file; ``load`` returns an identical predictor."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ClusterModel:
        model = joblib.load(Path(path))
        if not isinstance(model, ClusterModel):
            raise TypeError(f"{path} does not hold a seglab ClusterModel (got {type(model).__name__})")
        return model


def one_hot(labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Hard labels as (n, k) probabilities; noise (-1) rows are all zero."""
    proba = np.zeros((len(labels), n_clusters), dtype=np.float64)
    ok = labels >= 0
    proba[np.flatnonzero(ok), labels[ok]] = 1.0
    return proba


def softmax_distances(d2: np.ndarray, scale: float) -> np.ndarray:
    """Soft scores from squared distances to the centres: softmax(-d² / 2·scale), rows sum to 1.

    For centroid models without a probabilistic one (k-means and relatives): a score that agrees
    with the nearest centre, scaled by the mean within-cluster variance ``scale``.
    """
    logits = -(d2 - d2.min(axis=1, keepdims=True)) / (2 * max(scale, 1e-12))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)
