"""Gaussian mixture (scikit-learn, EM): soft probabilities from the mixture posterior.

With ``covariance_type="bic"`` (the config default) the covariance structure and ``reg_covar``
are chosen the way model-based clustering does it (Fraley & Raftery 2002, mclust): every
combination of ``COVARIANCE_TYPES`` × ``REG_COVAR_GRID`` is fitted on the training data (one
EM start each, to keep the search affordable) and the lowest BIC wins, refitted with ``n_init``. One guard comes from the same literature (McLachlan & Peel 2000, "spurious
maximisers"): a fit in which a component's variance along some direction sits on the
``reg_covar`` floor has collapsed onto a point mass of the data (a binary column, a block
imputed with one value) or an exact linear dependency (category shares summing to one), and
its likelihood, hence its BIC, is unbounded rather than good; such fits are excluded unless
every candidate collapsed. The choice is recorded in ``fit_report``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import StrOptions

from seglab.models.base import ClusterModel
from seglab.models.params import check_params, wrapped_constraints

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: ``reg_covar`` values tried with ``covariance_type="bic"`` (features are standardised: unit variance).
REG_COVAR_GRID = (1e-6, 1e-3)
#: a component whose own variance along some direction (above the ``reg_covar`` floor) is below
#: this share of the data's mean variance has collapsed: it sits on a point mass or on an exact
#: linear dependency of the columns (shares that sum to one).
COLLAPSE_SHARE = 1e-3


def smallest_variance(gmm: GaussianMixture) -> float:
    """The smallest variance of any component along any direction (``reg_covar`` included)."""
    cov = np.asarray(gmm.covariances_, dtype=float)
    if gmm.covariance_type in ("diag", "spherical"):
        return float(cov.min())
    mats = cov[None] if gmm.covariance_type == "tied" else cov
    return float(min(np.linalg.eigvalsh(m).min() for m in mats))


def collapsed(gmm: GaussianMixture, X: np.ndarray) -> bool:
    """Whether a component has (next to) no variance of its own along some direction, so its
    likelihood grows without bound there (a spurious maximiser, not a good fit)."""
    scale = float(np.mean(np.var(X, axis=0))) or 1.0
    return smallest_variance(gmm) - gmm.reg_covar < COLLAPSE_SHARE * scale


class GMMModel(ClusterModel):
    """Gaussian mixture (scikit-learn, EM): soft probabilities from the mixture posterior.

    ``covariance_type``: ``full`` | ``tied`` | ``diag`` | ``spherical``, or ``bic``: choose it and
    ``reg_covar`` by BIC on the training data (see the module docstring; ``reg_covar`` is then
    ignored). ``fit_report`` gives BIC and AIC on the training data (lower is better), whether EM
    converged and, with ``bic``, the chosen type (index into ``COVARIANCE_TYPES``), ``reg_covar``
    and how many candidates collapsed. ``selection_`` lists every candidate.
    """

    _parameter_constraints = {
        **wrapped_constraints(GaussianMixture, "covariance_type", "n_init", "max_iter", "reg_covar",
                              "init_params", "random_state", n_clusters="n_components"),
        "covariance_type": [StrOptions({*COVARIANCE_TYPES, "bic"})],
    }

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

    def _fit_one(self, X: np.ndarray, covariance_type: str, reg_covar: float, n_init: int | None = None) -> GaussianMixture:
        return GaussianMixture(
            n_components=self.n_clusters,
            covariance_type=covariance_type,
            n_init=self.n_init if n_init is None else n_init,
            max_iter=self.max_iter,
            reg_covar=reg_covar,
            init_params=self.init_params,
            random_state=self.random_state,
        ).fit(X)

    def fit(self, X: Any, y: Any = None) -> GMMModel:
        check_params(self)
        X = self._validate(X, reset=True)
        self.selection_: list[dict[str, Any]] = []
        if self.covariance_type == "bic":
            fits = []
            for ct in COVARIANCE_TYPES:
                for reg in REG_COVAR_GRID:
                    gmm = self._fit_one(X, ct, reg, n_init=1)
                    row = {"covariance_type": ct, "reg_covar": reg, "bic": float(gmm.bic(X)), "collapsed": collapsed(gmm, X)}
                    self.selection_.append(row)
                    fits.append((row, gmm))
            pool = [f for f in fits if not f[0]["collapsed"]] or fits
            chosen = min(pool, key=lambda f: f[0]["bic"])
            best = chosen[0]
            self.gmm_ = chosen[1] if self.n_init == 1 else self._fit_one(X, best["covariance_type"], best["reg_covar"])
            for row in self.selection_:
                row["chosen"] = row is chosen[0]
        else:
            self.gmm_ = self._fit_one(X, self.covariance_type, self.reg_covar)
        self.covariance_type_ = self.gmm_.covariance_type
        self.reg_covar_ = float(self.gmm_.reg_covar)
        self.labels_ = self.gmm_.predict(X).astype(int)
        self.n_iter_ = int(self.gmm_.n_iter_)
        self.cluster_centers_ = self.gmm_.means_
        self.bic_ = float(self.gmm_.bic(X))
        self.aic_ = float(self.gmm_.aic(X))
        return self

    def predict(self, X: Any) -> np.ndarray:
        X = self._validate(X)  # NotFittedError before a fit, not an AttributeError
        return self.gmm_.predict(X).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._validate(X)
        return self.gmm_.predict_proba(X)

    def fit_report(self) -> dict[str, float]:
        report = {
            "fit/bic": self.bic_,
            "fit/aic": self.aic_,
            "fit/converged": float(self.gmm_.converged_),
            "fit/n_iter": float(self.gmm_.n_iter_),
        }
        if self.selection_:
            report["fit/covariance_type"] = float(COVARIANCE_TYPES.index(self.covariance_type_))
            report["fit/reg_covar"] = self.reg_covar_
            report["fit/n_collapsed"] = float(sum(r["collapsed"] for r in self.selection_))
        return report
