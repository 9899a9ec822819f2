"""Gaussian mixture (scikit-learn, EM): soft probabilities from the mixture posterior."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture

from seglab.models.base import ClusterModel
from seglab.models.params import check_params, wrapped_constraints

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class GMMModel(ClusterModel):
    """Gaussian mixture (scikit-learn, EM): soft probabilities from the mixture posterior.

    ``covariance_type``: ``full`` | ``tied`` | ``diag`` | ``spherical``. ``fit_report`` gives
    BIC and AIC on the training data (lower is better) and whether EM converged.
    """

    _parameter_constraints = wrapped_constraints(GaussianMixture, "covariance_type", "n_init", "max_iter", "reg_covar",
                                                 "init_params", "random_state", n_clusters="n_components")

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

    def fit(self, X: Any, y: Any = None) -> GMMModel:
        check_params(self)
        X = self._validate(X, reset=True)
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

    def predict(self, X: Any) -> np.ndarray:
        return self.gmm_.predict(self._validate(X)).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.gmm_.predict_proba(self._validate(X))

    def fit_report(self) -> dict[str, float]:
        return {
            "fit/bic": self.bic_,
            "fit/aic": self.aic_,
            "fit/converged": float(self.gmm_.converged_),
            "fit/n_iter": float(self.gmm_.n_iter_),
        }
