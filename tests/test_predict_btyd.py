"""BG/NBD and Gamma-Gamma: the fits recover known parameters, the forecasts match simulation."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.errors import ConfigError
from seglab.predict.btyd import BetaGeoModel, GammaGammaModel, discounted_value

TRUE = {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0}


def simulate_bgnbd(n: int, T: float, seed: int, r=0.8, alpha=6.0, a=0.9, b=3.0):
    """Customers drawn from the BG/NBD story: Poisson purchases at rate lambda while alive,
    dropping out with probability p after each repeat purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, np.full(n, T)


def test_bgnbd_recovers_simulated_parameters():
    x, t_x, T = simulate_bgnbd(4000, 40.0, seed=1, **TRUE)
    model = BetaGeoModel().fit(x, t_x, T)
    assert model.converged_
    fitted = dict(zip(("r", "alpha", "a", "b"), model.params_, strict=True))
    for key, true in TRUE.items():
        assert fitted[key] == pytest.approx(true, rel=0.25), key
    # the fitted likelihood beats the true parameters' (it is the maximum)
    at_truth = BetaGeoModel()
    at_truth.r_, at_truth.alpha_, at_truth.a_, at_truth.b_ = TRUE.values()
    assert model.log_likelihood_ >= at_truth.log_likelihood(x, t_x, T).sum() - 1e-6


@pytest.mark.parametrize("x,t_x,T", [(0, 0.0, 30.0), (2, 25.0, 30.0), (4, 5.0, 30.0), (12, 29.0, 30.0)])
def test_conditional_forecasts_match_posterior_simulation(x, t_x, T):
    """Importance sampling from the prior, weighted by each draw's likelihood of (x, t_x, T),
    then simulating the next t weeks, gives P(alive), P(purchase) and E[purchases]."""
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = TRUE.values()
    rng = np.random.default_rng(0)
    n, t = 400_000, 20.0
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    alive_w = (1 - p) ** x * lam**x * np.exp(-lam * T)
    dead_w = (p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x)) if x > 0 else np.zeros(n)
    w = alive_w + dead_w
    alive = rng.random(n) < alive_w / w
    future = np.where(alive, np.minimum(rng.poisson(lam * t), rng.geometric(p)), 0)
    w = w / w.sum()
    assert model.p_alive([x], [t_x], [T])[0] == pytest.approx(np.dot(w, alive), abs=0.01)
    assert model.p_purchase(t, [x], [t_x], [T])[0] == pytest.approx(np.dot(w, future > 0), abs=0.01)
    expected = np.dot(w, future)
    assert model.expected_purchases(t, [x], [t_x], [T])[0] == pytest.approx(expected, rel=0.03, abs=0.01)


def test_expected_purchases_stays_finite_for_heavy_buyers():
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = (0.24, 4.4, 0.79, 2.4)
    e = model.expected_purchases(39.0, [150, 300, 600], [38.0, 38.5, 38.9], [39.0, 39.0, 39.0])
    assert np.isfinite(e).all() and (np.diff(e) > 0).all()
    # below the posterior mean rate (r + x) / (alpha + T) times 39 weeks times P(alive), which
    # ignores dropping out during the 39 weeks; above half of it (dropout is rare at x = 150)
    no_dropout = (0.24 + 150) / (4.4 + 39.0) * 39.0 * model.p_alive([150], [38.0], [39.0])[0]
    assert 0.5 * no_dropout < e[0] < no_dropout


def test_gamma_gamma_recovers_parameters_and_shrinks_means():
    rng = np.random.default_rng(3)
    p, q, g = 6.0, 4.0, 15.0
    n = 3000
    nu = rng.gamma(q, 1.0 / g, n)
    x = rng.integers(1, 8, n).astype(float)
    m = np.array([rng.gamma(p, 1.0 / nu[i], int(k)).mean() for i, k in enumerate(x)])
    model = GammaGammaModel().fit(x, m)
    assert (model.p_, model.q_, model.gamma_) == pytest.approx((p, q, g), rel=0.2)
    # no repeat purchase: the population mean; many: close to the customer's own mean
    assert model.expected_spend([0], [0.0])[0] == pytest.approx(model.population_mean())
    own = model.expected_spend([200], [50.0])[0]
    assert abs(own - 50.0) < abs(model.population_mean() - 50.0) / 10


def test_clv_is_discounted_spend_of_expected_purchases():
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = TRUE.values()
    x, t_x, T = np.array([3.0]), np.array([20.0]), np.array([30.0])
    spend = np.array([10.0])
    no_discount = discounted_value(model, spend, x, t_x, T, horizon=52.0, step=4.0, yearly_discount=0.0,
                                   unit_per_year=52.0, margin=0.5)
    assert no_discount[0] == pytest.approx(0.5 * 10.0 * model.expected_purchases(52.0, x, t_x, T)[0])
    discounted = discounted_value(model, spend, x, t_x, T, horizon=52.0, step=4.0, yearly_discount=0.2,
                                  unit_per_year=52.0, margin=0.5)
    assert no_discount[0] / 1.2 < discounted[0] < no_discount[0]


def test_invalid_summaries_are_refused():
    with pytest.raises(ConfigError, match="invalid RFM summary"):
        BetaGeoModel().fit([1, 2], [5.0, 50.0], [10.0, 10.0])
    with pytest.raises(ConfigError, match="at least 2 customers"):
        GammaGammaModel().fit([0, 0, 1], [0.0, 0.0, 3.0])


@pytest.mark.parametrize("params", [(1e-5, 300.0, 1.6e5, 2.0), (25.0, 1.6e5, 1.0, 300.0), (1e4, 1.6e5, 0.003, 1.6e5),
                                    (0.05, 1.0, 1.0 + 1e-5, 160000.0)])
def test_extreme_parameters_give_finite_bounded_forecasts(params):
    """A segment's fit can end at a point mass (parameters at the search bounds), where the
    hypergeometric closed form fails; the quadrature fallback keeps forecasts finite, >= 0 and
    below the no-dropout bound (r + x) / (alpha + T) * t * P(alive)."""
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = params
    x = np.array([0, 1, 2, 5, 10, 30, 80, 150.0])
    T = np.full(len(x), 39.0)
    t_x = np.minimum(T, x * 0.5 + (x > 0))
    e = model.expected_purchases(39.0, x, t_x, T)
    bound = (params[0] + x) / (params[1] + T) * 39.0 * model.p_alive(x, t_x, T)
    assert np.isfinite(e).all() and (e >= 0).all() and (e <= bound * 1.001 + 1e-9).all()


def test_quadrature_agrees_with_the_closed_form():
    from seglab.predict.btyd import _expected_if_alive_by_quadrature

    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = (0.24, 4.4, 0.79, 2.4)
    x, T = np.array([0.0, 1, 4, 20]), np.full(4, 39.0)
    closed = model.expected_purchases(39.0, x, T, T) / model.p_alive(x, T, T)
    assert _expected_if_alive_by_quadrature(39.0, x, T, *model.params_) == pytest.approx(closed, rel=1e-3)
