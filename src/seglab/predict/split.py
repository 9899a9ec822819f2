"""The time split: a calibration period the models learn from, a holdout period they are scored on.

``time_split(data, calibration_end, holdout_days)`` cuts a ``CustomerData`` at the end of the
day ``calibration_end`` (inclusive; default: the data's last day minus ``holdout_days``):

- ``calibration``: the data as it was then: transactions and reviews up to the cut, only the
  customers with a purchase by then (the cohort every forecast is about), recency measured
  from the day after the cut. Segments, features and models see this and nothing else;
- ``holdout``: per cohort customer, what happened in the ``holdout_days`` after the cut:
  ``purchases`` (distinct purchase days), ``spend``, ``purchased`` (at least one purchase) and
  ``days_to_first`` (1 = the first holdout day; NaN without a purchase).
  Customers acquired after the cut are not in the cohort and are left out.

A purchase is a distinct (customer, day), as in Fader, Hardie & Lee's CDNOW data (several rows on
one day are one purchase). The data's last day is ``data.as_of()`` minus one day (the reference
date a source declares, else the day of the last transaction); a holdout that runs past it would
be scored on days nobody observed, so it is an error, as is a cut-off before the first purchase.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError

_DAY = pd.Timedelta(days=1)


@dataclass
class TimeSplit:
    """What ``time_split`` returns (see the module docstring)."""

    calibration: CustomerData
    holdout: pd.DataFrame
    calibration_end: pd.Timestamp
    holdout_days: float
    data_end: pd.Timestamp
    n_left_out: int

    @property
    def holdout_end(self) -> pd.Timestamp:
        return self.calibration_end + pd.Timedelta(days=self.holdout_days)

    def describe(self) -> dict:
        """Plain facts for metrics.json and the console."""
        return {"calibration_end": str(self.calibration_end.date()), "holdout_days": float(self.holdout_days),
                "holdout_end": str(self.holdout_end.date()), "data_end": str(self.data_end.date()),
                "n_customers": int(len(self.holdout)), "n_acquired_after_cut": int(self.n_left_out),
                "segments_fitted_on": f"calibration period only (transactions up to {self.calibration_end.date()})"}

    def note(self) -> str:
        d = self.describe()
        return (f"predict: segments and models fitted on the calibration period only (up to {d['calibration_end']}); "
                f"scored on the {d['holdout_days']:g}-day holdout to {d['holdout_end']} "
                f"({d['n_customers']} customers; {d['n_acquired_after_cut']} acquired later left out)")


def _day(value, key: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{key}={value!r} is not a date (use YYYY-MM-DD)") from None
    if stamp is pd.NaT:
        raise ConfigError(f"{key}={value!r} is not a date (use YYYY-MM-DD)")
    return stamp.normalize()


def time_split(data: CustomerData, calibration_end=None, holdout_days: float = 180) -> TimeSplit:
    """Cut ``data`` into calibration data and holdout outcomes (see the module docstring)."""
    tx = data.transactions
    if tx is None or not len(tx):
        raise ConfigError(f"predict=on needs transactions, and dataset {data.name!r} has none "
                          "(a customer-level table has no time to split)")
    holdout_days = float(holdout_days)
    if not np.isfinite(holdout_days) or holdout_days < 1:
        raise ConfigError(f"predict.holdout_days must be >= 1 day, got {holdout_days:g}")
    first_day = tx["timestamp"].min().normalize()
    data_end = data.as_of().normalize() - _DAY
    hold = pd.Timedelta(days=holdout_days)
    if calibration_end is None:
        cal_end = (data_end - hold).normalize()
    else:
        cal_end = _day(calibration_end, "predict.calibration_end")
    where = f"dataset {data.name!r} has purchases from {first_day.date()} to {data_end.date()}"
    if cal_end < first_day:
        raise ConfigError(f"predict.calibration_end={cal_end.date()} is before the first purchase: {where}")
    if cal_end + hold > data_end:
        raise ConfigError(f"the holdout ({cal_end.date()} + {holdout_days:g} days = {(cal_end + hold).date()}) runs "
                          f"past the data's last day: {where}; use an earlier predict.calibration_end or a shorter "
                          "predict.holdout_days")
    cut = cal_end + _DAY  # calibration = timestamps before the day after calibration_end
    cal_tx = tx[tx["timestamp"] < cut]
    cohort = data.customers["customer_id"].isin(cal_tx["customer_id"].unique()).to_numpy()
    if not cohort.any():
        raise ConfigError(f"no customer of dataset {data.name!r} bought by predict.calibration_end={cal_end.date()}")
    ids = pd.Index(data.customers["customer_id"].to_numpy()[cohort], name="customer_id")

    in_hold = (tx["timestamp"] >= cut) & (tx["timestamp"] < cut + hold) & tx["customer_id"].isin(ids)
    hold_tx = tx.loc[in_hold, ["customer_id", "timestamp", "amount"]]
    per_day = hold_tx.assign(day=hold_tx["timestamp"].dt.normalize()).groupby(["customer_id", "day"])["amount"].sum()
    per_customer = per_day.groupby(level="customer_id").agg(["size", "sum"])
    first_hold = per_day.reset_index().groupby("customer_id")["day"].min()
    holdout = pd.DataFrame(index=ids)
    holdout["purchases"] = per_customer["size"].reindex(ids).fillna(0).to_numpy(dtype=float)
    holdout["spend"] = per_customer["sum"].reindex(ids).fillna(0.0).to_numpy(dtype=float)
    holdout["purchased"] = holdout["purchases"] > 0
    holdout["days_to_first"] = ((first_hold.reindex(ids) - cut).dt.days + 1).to_numpy(dtype=float)

    reviews = data.reviews
    if reviews is not None:
        reviews = reviews[reviews["timestamp"].isna() | (reviews["timestamp"] < cut)].reset_index(drop=True)
    truth = None if data.truth is None else data.truth[cohort].reset_index(drop=True)
    calibration = replace(data, customers=data.customers[cohort].reset_index(drop=True),
                          transactions=cal_tx.reset_index(drop=True), reviews=reviews, truth=truth,
                          reference_date=cut, meta={**data.meta, "calibration_end": str(cal_end.date())})
    return TimeSplit(calibration=calibration, holdout=holdout, calibration_end=cal_end, holdout_days=holdout_days,
                     data_end=data_end, n_left_out=int((~cohort).sum()))


def rfm_summary(transactions: pd.DataFrame, customer_ids, calibration_end, unit_days: float = 7.0) -> pd.DataFrame:
    """Per customer, the buy-till-you-die summary of their calibration purchases.

    Columns (times in units of ``unit_days`` days, weeks by default): ``x`` repeat purchases
    (distinct purchase days minus one), ``t_x`` time from the first to the last purchase,
    ``T`` time from the first purchase to ``calibration_end`` (the cut's last day, as in
    Fader, Hardie & Lee's CDNOW summary), ``m`` mean spend of the repeat purchases (0 without
    one; the Gamma-Gamma input), ``monetary`` mean spend per purchase day including the
    first, ``recency`` = ``T - t_x``. Customers without a purchase are an error: the cohort is
    defined by having bought.
    """
    ids = pd.Index(customer_ids, name="customer_id")
    end = pd.Timestamp(calibration_end).normalize()
    tx = transactions[transactions["customer_id"].isin(ids)]
    days = tx.assign(day=tx["timestamp"].dt.normalize()).groupby(["customer_id", "day"], sort=True)["amount"].sum()
    days = days.reset_index()
    g = days.groupby("customer_id", sort=False)
    first = g["day"].min().reindex(ids)
    if first.isna().any():
        missing = ids[first.isna().to_numpy()][:5].tolist()
        raise ConfigError(f"customers without a calibration purchase have no RFM summary: ids {missing}")
    last = g["day"].max().reindex(ids)
    n_days = g.size().reindex(ids).to_numpy(dtype=float)
    total = g["amount"].sum().reindex(ids).to_numpy(dtype=float)
    first_spend = days.drop_duplicates("customer_id").set_index("customer_id")["amount"].reindex(ids).to_numpy(float)
    x = n_days - 1.0
    out = pd.DataFrame(index=ids)
    out["x"] = x
    out["t_x"] = (last - first).dt.days.to_numpy(dtype=float) / unit_days
    out["T"] = (end - first).dt.days.to_numpy(dtype=float) / unit_days
    out["m"] = np.divide(total - first_spend, x, out=np.zeros_like(x), where=x > 0)
    out["monetary"] = total / n_days
    out["recency"] = out["T"] - out["t_x"]
    return out
