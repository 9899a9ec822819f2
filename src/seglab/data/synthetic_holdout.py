"""Purchases after the synthetic observation window: a holdout period that forecasts are scored on.

``SyntheticSource(holdout_days=H)`` generates its customers exactly as without a holdout (same
draws, same window data, same planted segments at ``end_date``) and then, from a separate
random stream, lets each customer go on buying for ``H`` more days, in keeping with their
archetype (``HOLDOUT_BEHAVIOUR``):

- ``active``: the chance that the customer is still a customer at the end of the window.
  Loyal customers, bargain hunters, big-ticket buyers and most new customers are; lapsing
  customers have stopped (a few come back);
- ``dropout``: after each holdout purchase, the chance of leaving for good (a geometric
  lifetime, as in the BG/NBD story), higher for new customers than for loyal ones.

An active customer's first holdout purchase comes a uniform share of one of their usual gaps
after ``end_date`` (the forward time to the next renewal, approximately), and the next ones
follow their own gamma-distributed gaps. Each purchase draws its value, quantity and category
from the customer's own parameters, at the end-of-window level of their spend trend. So which
segment a customer is in at ``end_date`` carries information about the holdout, as it would
in a shop, but the holdout is not a deterministic function of the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Per archetype (variants ``<name>_vK`` use their base archetype's): P(active at the end of
#: the window) and P(leaving after each holdout purchase).
HOLDOUT_BEHAVIOUR = {
    "loyal_high_spender": {"active": 0.92, "dropout": 0.02},
    "bargain_hunter": {"active": 0.85, "dropout": 0.05},
    "lapsing": {"active": 0.05, "dropout": 0.30},
    "new_customer": {"active": 0.75, "dropout": 0.10},
    "big_ticket": {"active": 0.85, "dropout": 0.05},
}


def holdout_transactions(rng: np.random.Generator, arch: list[dict], seg: np.ndarray, customer_id: np.ndarray,
                         window_days: float, start: pd.Timestamp, holdout_days: float, *, gap: np.ndarray,
                         shape: np.ndarray, amount: np.ndarray, qty_mean: np.ndarray, cat_p: np.ndarray,
                         categories: tuple[str, ...], cat_price: np.ndarray) -> pd.DataFrame:
    """Transactions of the ``holdout_days`` after the window, columns as the window's.

    ``gap``, ``shape``, ``amount`` (mean basket value at the end of the window), ``qty_mean``
    and ``cat_p`` (category probabilities, one row per customer) are the customers' own
    parameters; ``arch`` and ``seg`` their archetypes.
    """
    n = len(seg)
    behaviour = [HOLDOUT_BEHAVIOUR[a.get("theme", a["name"])] for a in arch]
    active = rng.random(n) < np.array([b["active"] for b in behaviour])[seg]
    dropout = np.array([b["dropout"] for b in behaviour])[seg]
    lifetime = rng.geometric(dropout)  # purchases until the customer leaves
    H = float(holdout_days)
    n_cand = np.where(active, np.minimum(np.ceil(2.0 * H / gap) + 6, 2000), 0).astype(np.int64)
    rows = np.repeat(np.arange(n), n_cand)
    first = np.cumsum(n_cand) - n_cand
    gaps = rng.gamma(shape[rows], 1.0) / shape[rows] * gap[rows]
    gaps[first[n_cand > 0]] *= rng.random(int((n_cand > 0).sum()))  # forward time to the next purchase
    cum = np.cumsum(gaps)
    offset = np.repeat(np.concatenate([[0.0], cum])[first], n_cand)
    when = cum - offset  # days after the window's end
    nth = np.arange(len(rows)) - np.repeat(first, n_cand) + 1
    keep = (when < H) & (nth <= lifetime[rows])
    rows, when = rows[keep], when[keep]
    m = len(rows)
    cum_p = np.cumsum(cat_p[rows], axis=1)
    cat = np.minimum((rng.random(m)[:, None] > cum_p).sum(axis=1), len(categories) - 1)
    value = amount[rows] * cat_price[cat] * np.exp(rng.normal(-0.08, 0.4, m))
    day = window_days + when
    ts = start.to_datetime64().astype("datetime64[ns]") + (day * 86_400e9).astype("int64").astype("timedelta64[ns]")
    return pd.DataFrame({
        "customer_id": customer_id[rows],
        "timestamp": ts,
        "amount": np.round(np.maximum(value, 0.5), 2),
        "quantity": (1 + rng.poisson(qty_mean[rows] - 1.0)).astype("float64"),
        "category": pd.array(np.array(categories, dtype=object)[cat], dtype="str"),
    })
