"""Buy-till-you-die models fitted by maximum likelihood with scipy: BG/NBD and Gamma-Gamma.

Why our own ~200 lines rather than a library (measured on this project's stack, Python 3.11,
numpy 2.4, pandas 3.1, scipy 1.17; figures in ``experiments/predict.md``):

- ``lifetimes`` 0.11.3 (last release 2020, unmaintained) reproduces the published CDNOW
  parameters, but its ``datasets`` module no longer imports (it needs ``pkg_resources``),
  it pulls ``autograd`` and ``dill``, and with warnings turned into errors its input check
  fails with a wrong message ("recency larger than T") on valid data;
- ``pymc-marketing``'s CLV module is maintained, but its releases since 0.19.3 need Python
  >= 3.12 (pip picks 0.19.2 here); it adds 23 packages and about 265 MB (pymc, pytensor,
  numba, arviz, xarray...), its first BG/NBD fit takes about 20 s (C compilation), and its
  default fit is a MAP estimate under priors (a = 0.71, b = 2.09 on CDNOW, not the MLE);
- ``btyd`` is archived and pins ``autograd==1.4``, ``dill==0.3.5.1`` and pymc 4 / aesara.

Both likelihoods are short closed forms, so a direct implementation is small, has no
dependency beyond scipy, fits CDNOW's 2,357 customers in well under a second and is checked
against the published parameters (``tests/test_predict_cdnow.py``).

Notation (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): per customer,
``x`` repeat purchases in the calibration period, ``t_x`` the time of the last purchase and
``T`` the time of the end of calibration, both measured from the first purchase, in one time
unit (seglab uses weeks). BG/NBD: while alive, a customer buys at a Poisson rate
``lambda ~ Gamma(r, alpha)`` and after each purchase drops out with probability
``p ~ Beta(a, b)``. Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary
value"): the spend per transaction is Gamma(p, nu) with ``nu ~ Gamma(q, gamma)``, independent
of the purchase process, fitted on customers with ``x >= 1`` and their mean repeat spend.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from seglab.errors import ConfigError

#: Bounds on the log of every parameter during the search (e^-12 .. e^12): keeps the
#: likelihood finite on degenerate inputs (e.g. a segment of one-off buyers).
_LOG_BOUND = 12.0


def _as_arrays(*arrays):
    return [np.asarray(a, dtype=float).ravel() for a in arrays]


def _fit_log_params(neg_ll, start: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Minimise ``neg_ll(log_params)``: L-BFGS-B, then Nelder-Mead polish when it stalls."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    res = optimize.minimize(neg_ll, start, method="L-BFGS-B", bounds=bounds)
    if not res.success or not np.isfinite(res.fun):
        res2 = optimize.minimize(neg_ll, res.x if np.isfinite(res.fun) else start, method="Nelder-Mead",
                                 bounds=bounds, options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10})
        if np.isfinite(res2.fun) and (not np.isfinite(res.fun) or res2.fun <= res.fun):
            res = res2
    return np.asarray(res.x), float(res.fun), bool(res.success)


class BetaGeoModel:
    """BG/NBD purchase model (scikit-learn style: parameters in ``__init__``, ``fit`` returns
    self, fitted values end in ``_``).

    Attributes after ``fit``: ``r_``, ``alpha_``, ``a_``, ``b_``, ``log_likelihood_`` (sum over
    customers), ``converged_``, ``n_customers_``.
    """

    def __init__(self, start: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)):
        self.start = start

    # -- likelihood ----------------------------------------------------------------------------
    @staticmethod
    def _log_likelihood(params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.betaln(a, b + x) - special.betaln(a, b)
        a3 = -(r + x) * np.log(alpha + T)
        repeat = x > 0
        a4 = np.full_like(x, -np.inf)
        xr = x[repeat]
        a4[repeat] = np.log(a) - np.log(b + xr - 1.0) - (r + xr) * np.log(alpha + t_x[repeat])
        return a1 + a2 + np.logaddexp(a3, a4)

    def log_likelihood(self, x, t_x, T) -> np.ndarray:
        """Per-customer log-likelihood under the fitted parameters."""
        x, t_x, T = _as_arrays(x, t_x, T)
        return self._log_likelihood(self.params_, x, t_x, T)

    def fit(self, x, t_x, T) -> BetaGeoModel:
        x, t_x, T = _as_arrays(x, t_x, T)
        _check_summary(x, t_x, T)
        # identical (x, t_x, T) rows share one likelihood term: fit on the distinct rows
        rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        ux, ut, uT = rows.T
        scale = max(float(np.mean(T)), 1e-9)

        def neg_ll(log_params):
            params = np.exp(log_params)
            params[1] *= scale  # search alpha relative to the data's time scale
            ll = self._log_likelihood(params, ux, ut, uT)
            value = -float(np.dot(counts, ll))
            return value if np.isfinite(value) else 1e300

        start = np.log(np.asarray(self.start, dtype=float))
        log_params, nll, ok = _fit_log_params(neg_ll, start)
        params = np.exp(log_params)
        params[1] *= scale
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in params)
        self.log_likelihood_ = -nll
        self.converged_ = ok
        self.n_customers_ = int(len(x))
        return self

    @property
    def params_(self) -> tuple[float, float, float, float]:
        return (self.r_, self.alpha_, self.a_, self.b_)

    # -- predictions -------------------------------------------------------------------------
    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still alive at T | x, t_x, T); 1 for customers without a repeat purchase."""
        x, t_x, T = _as_arrays(x, t_x, T)
        r, alpha, a, b = self.params_
        out = np.ones_like(x)
        rep = x > 0
        xr = x[rep]
        log_odds = np.log(a) - np.log(b + xr - 1.0) + (r + xr) * (np.log(alpha + T[rep]) - np.log(alpha + t_x[rep]))
        out[rep] = special.expit(-log_odds)
        return out

    def p_purchase(self, t, x, t_x, T) -> np.ndarray:
        """P(at least one purchase in (T, T + t]): alive at T, and the first Poisson arrival of
        the posterior rate Gamma(r + x, alpha + T) comes within t."""
        x, t_x, T = _as_arrays(x, t_x, T)
        r, alpha, _, _ = self.params_
        none_if_alive = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        return self.p_alive(x, t_x, T) * (1.0 - none_if_alive)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

        Written with Euler's transformation, ``2F1(r+x, b+x; c; z) = (1-z)^(c-r-x-b-x)
        2F1(a+b-1-r, a-1; c; z)``, so that the hypergeometric term stays near 1 for heavy
        buyers instead of overflowing against a vanishing power.
        """
        x, t_x, T = _as_arrays(x, t_x, T)
        r, alpha, a, b = self.params_
        if abs(a - 1.0) < 1e-3:  # near the removable singularity at a = 1 the closed form cancels badly
            return _expected_if_alive_by_quadrature(t, x, T, r, alpha, a, b) * self.p_alive(x, t_x, T)
        z = t / (alpha + T + t)
        c = a + b + x - 1.0
        head = np.exp((a - 1.0) * np.log1p(-z))  # ((alpha+T)/(alpha+T+t))^(a-1)
        with np.errstate(all="ignore"):
            if_alive = (c / (a - 1.0)) * (1.0 - head * special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z))
        bad = ~np.isfinite(if_alive)
        if bad.any():  # extreme parameters (a point-mass fit of one segment): hyp2f1 fails
            if_alive[bad] = _expected_if_alive_by_quadrature(t, x[bad], T[bad], r, alpha, a, b)
        return if_alive * self.p_alive(x, t_x, T)

    def cumulative_purchases(self, times, x, t_x, T) -> np.ndarray:
        """Expected purchases by each of ``times`` after T: shape (len(times), n customers)."""
        return np.vstack([self.expected_purchases(float(t), x, t_x, T) for t in np.asarray(times, float)])


def _expected_if_alive_by_quadrature(t, x, T, r, alpha, a, b, n: int = 400) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T] without the hypergeometric function.

    Given alive with (lambda, p), the expected purchases are ``(1 - exp(-lambda p t)) / p``;
    averaging over the posterior lambda ~ Gamma(r + x, alpha + T) gives
    ``g(p) = (1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p``, a smooth bounded function, which is then
    averaged over p ~ Beta(a, b + x) at ``n`` equally spaced quantiles (works for any shape).
    """
    from scipy.stats import beta as beta_dist

    u = (np.arange(n) + 0.5) / n
    out = np.empty(len(x))
    for lo in range(0, len(x), 1000):
        xi, Ti = x[lo:lo + 1000, None], T[lo:lo + 1000, None]
        p = np.clip(beta_dist.ppf(u[None, :], a, b + xi), 1e-300, 1.0)
        g = -np.expm1(-(r + xi) * np.log1p(p * t / (alpha + Ti))) / p
        out[lo:lo + 1000] = g.mean(axis=1)
    return out


class GammaGammaModel:
    """Gamma-Gamma spend model: fit on customers with ``x >= 1`` repeat purchases and their mean
    repeat spend ``m``; ``expected_spend`` shrinks each mean toward the population's.

    Attributes after ``fit``: ``p_``, ``q_``, ``gamma_``, ``log_likelihood_``, ``converged_``,
    ``n_customers_``.
    """

    def __init__(self, start: tuple[float, float, float] = (1.0, 1.0, 1.0)):
        self.start = start

    @staticmethod
    def _log_likelihood(params, x, m) -> np.ndarray:
        p, q, g = params
        return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(g)
                + (p * x - 1.0) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))

    def fit(self, x, m) -> GammaGammaModel:
        x, m = _as_arrays(x, m)
        keep = (x > 0) & (m > 0)
        if keep.sum() < 2:
            raise ConfigError("the Gamma-Gamma spend model needs at least 2 customers with a repeat purchase "
                              f"of positive value, got {int(keep.sum())}")
        x, m = x[keep], m[keep]
        scale = float(np.mean(m))

        def neg_ll(log_params):
            params = np.exp(log_params)
            params[2] *= scale
            value = -float(np.sum(self._log_likelihood(params, x, m)))
            return value if np.isfinite(value) else 1e300

        log_params, nll, ok = _fit_log_params(neg_ll, np.log(np.asarray(self.start, dtype=float)))
        params = np.exp(log_params)
        params[2] *= scale
        self.p_, self.q_, self.gamma_ = (float(v) for v in params)
        self.log_likelihood_ = -nll
        self.converged_ = ok
        self.n_customers_ = int(len(x))
        return self

    def population_mean(self) -> float:
        """Mean spend per transaction in the population, ``p gamma / (q - 1)`` (inf if q <= 1)."""
        return self.p_ * self.gamma_ / (self.q_ - 1.0) if self.q_ > 1.0 else float("inf")

    def expected_spend(self, x, m) -> np.ndarray:
        """E[spend per transaction | x, m] = p (gamma + x m) / (p x + q - 1); the population
        mean for customers without repeat purchases."""
        x, m = _as_arrays(x, m)
        m = np.where(x > 0, m, 0.0)
        return self.p_ * (self.gamma_ + x * m) / (self.p_ * x + self.q_ - 1.0)


def discounted_value(bgnbd: BetaGeoModel, spend: np.ndarray, x, t_x, T, *, horizon: float, step: float,
                     yearly_discount: float, unit_per_year: float, margin: float = 1.0) -> np.ndarray:
    """Customer lifetime value over ``horizon`` (model time units): expected purchases in each
    ``step`` of it times expected spend, each step discounted at ``yearly_discount`` from its
    end, times ``margin``. The discrete sum is the usual way to value a BG/NBD forecast
    (its discounted expected transactions have no closed form)."""
    if horizon <= 0 or step <= 0:
        raise ConfigError(f"CLV horizon and step must be > 0, got horizon={horizon}, step={step}")
    ends = np.arange(step, horizon + step * 0.5, step)
    ends[-1] = min(ends[-1], horizon)
    cum = bgnbd.cumulative_purchases(np.concatenate([[0.0], ends]), x, t_x, T)
    per_step = np.diff(cum, axis=0)
    discount = (1.0 + yearly_discount) ** (-(ends / unit_per_year))
    return margin * np.asarray(spend, float) * (discount @ per_step)


def _check_summary(x, t_x, T) -> None:
    if len(x) == 0:
        raise ConfigError("the BG/NBD model needs at least one customer")
    bad = np.flatnonzero((x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ((x == 0) & (t_x > 0)))
    if bad.size:
        raise ConfigError(f"invalid RFM summary rows (x >= 0, 0 <= t_x <= T, t_x = 0 when x = 0): rows "
                          f"{bad[:5].tolist()}")
