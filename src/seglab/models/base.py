"""The estimator protocol every seglab model follows (scikit-learn's, plus save/load).

Why a shared base: `seglab.train.run` and the evaluation code treat a k-means wrapper and a
DEC model the same way, so every model exposes the same verbs:

- ``fit(X)`` -> self, setting ``labels_`` (int array, -1 = noise where a model has noise) and
  ``cluster_centers_`` (in the space the clustering happens in, i.e. ``transform``'s output);
- ``predict(X)`` -> labels for new customers; ``predict_proba(X)`` -> (n, k) soft assignments
  (models without a natural soft assignment give one-hot rows);
- ``transform(X)`` -> the embedding the clustering happened in (the latent for deep models, the
  input itself for classical ones); ``is_deep`` says which;
- ``save(path)`` / ``load(path)``: one file that reloads and predicts identically.

``X`` is always the preprocessed float matrix (numpy, shape (n_samples, n_features)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin


class ClusterModel(ClusterMixin, BaseEstimator):
    """Base class: subclasses implement ``fit``, ``predict_proba`` and ``transform``."""

    #: True for models that learn an embedding (latent-space metrics are then reported).
    is_deep: bool = False

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.predict_proba(X)).argmax(axis=1)

    def fit_predict(self, X: np.ndarray, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).labels_

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)

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
