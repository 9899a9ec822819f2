"""Return behaviour per customer, for data whose cancellations and returns were netted.

A transactions source with ``returns=net`` keeps the netted return rows (``CustomerData.returns``;
``seglab.data.lines``). From them and the netted purchases:

- ``return_rate``: return events / (purchases + return events), where a return event is one
  distinct ``(customer, timestamp)`` of the customer's netted return rows (a cancelled invoice
  or a return) and purchases are ``frequency``: the share of the customer's visits that gave
  something back, in [0, 1);
- ``return_value_share``: value returned / (value kept + value returned), with value kept =
  ``monetary_total`` (after netting) and value returned the sum of what the returns netted, in
  [0, 1]: the share of what the customer bought that came back;
- ``cancellations``: the number of distinct cancellation events (invoices with the cancel
  prefix) of the customer.

Customers without returns, and customers without transactions, get 0 for all three. The
per-customer aggregates come from pandas (``return_aggregates``) or from the engines' SQL
(``returns_sql``); ``return_features`` combines them the same way for every engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RETURN_FEATURES = ("return_rate", "return_value_share", "cancellations")
_MONEY = "DECIMAL(38, 9)"


def return_aggregates(returns: pd.DataFrame) -> pd.DataFrame:
    """Per customer: ``n_events``, ``n_cancellations`` (distinct times) and ``value`` returned."""
    if returns is None or not len(returns):
        return pd.DataFrame({"n_events": [], "n_cancellations": [], "value": []}, index=pd.Index([], name="customer_id"))
    g = returns.groupby("customer_id", sort=False)
    cancel = returns[returns["kind"] == "cancellation"].groupby("customer_id", sort=False)["timestamp"].nunique()
    out = pd.DataFrame({"n_events": g["timestamp"].nunique().astype("float64"), "value": g["amount"].sum()})
    out["n_cancellations"] = cancel.reindex(out.index).fillna(0).astype("float64")
    return out


def returns_sql(view: str) -> str:
    """``return_aggregates`` as SQL over a view of ``customer_id, ts_us, amount, kind``."""
    return (f"SELECT customer_id, CAST(COUNT(DISTINCT ts_us) AS DOUBLE) AS n_events, "
            f"CAST(COUNT(DISTINCT CASE WHEN kind = 'cancellation' THEN ts_us END) AS DOUBLE) AS n_cancellations, "
            f"CAST(SUM(CAST(amount AS {_MONEY})) AS DOUBLE) AS value FROM {view} GROUP BY customer_id")


def return_features(aggregates: pd.DataFrame, core: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """The three features in ``ids`` order (positional index), from the per-customer
    ``aggregates`` and the ``core`` transaction features (``frequency``, ``monetary_total``,
    rows in ``ids`` order)."""
    agg = aggregates.reindex(ids).fillna(0.0)
    freq = core["frequency"].to_numpy(dtype=float)
    kept = core["monetary_total"].to_numpy(dtype=float)
    events, value = agg["n_events"].to_numpy(), agg["value"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(freq + events > 0, events / (freq + events), 0.0)
        share = np.where(kept + value > 0, value / (kept + value), 0.0)
    return pd.DataFrame({"return_rate": rate, "return_value_share": np.clip(share, 0.0, 1.0),
                         "cancellations": agg["n_cancellations"].to_numpy()}, index=pd.RangeIndex(len(ids)))
