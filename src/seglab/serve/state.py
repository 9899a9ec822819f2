"""Incremental assignment: fold new transactions into running per-customer aggregates, re-assign.

``seglab assign --run RUN_DIR --update --state STATE.parquet --input new.parquet --output out``
keeps a user-owned state file (Parquet, keyed by the user's ``customer_id``, separate from the
bundle) with, per customer:

- ``first_ts``, ``last_ts``: first and last purchase; ``n_purchases``: purchases (distinct
  timestamps); ``monetary_total``, ``quantity_total``;
- ``gap_n``, ``gap_mean``, ``gap_m2``: count, mean and sum of squared deviations of the days
  between consecutive purchases (Welford's update, so new purchases extend them exactly);
- ``cat_w_<i>`` and ``cat_total``: weights (rows or spend, as the run counted) of each category
  share column of the run, and of all categories;
- ``recent_ts``, ``recent_amount``: the purchases of the last ``2 x trend_window_days`` before the
  newest event seen (older ones can never count in ``spend_trend`` again, so they are dropped).

From these the run's transaction features are recomputed at any later reference date (recency,
tenure and the spend trend move with it; the others do not), exactly as ``build_features``
computes them from the whole history (tested: two batches give the features and segments of all
the transactions at once). The reference date defaults to the day after the newest event in the
state. Limits, each refused with a one-line error: runs with review-text features, netted returns
or attribute inputs; and a transaction at or before a customer's last folded purchase (a batch
must hold only newer purchases; such rows are refused, naming them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError, DataValidationError

_DAY = pd.Timedelta(days=1)


def trend_window(pipe: Any) -> float:
    """The run's ``trend_window_days`` (``build_features``' default when the run did not set it)."""
    import inspect

    from seglab.features import build_features

    default = inspect.signature(build_features).parameters["trend_window_days"].default
    return float(pipe.spec_.options.get("trend_window_days", default))


def _check_supported(pipe: Any) -> None:
    spec = pipe.spec_
    extra = [c for c in spec.model_columns if c not in spec.transaction_columns and c not in spec.category_columns]
    if spec.precomputed or spec.text_columns or extra:
        raise ConfigError("seglab assign --update folds transactions only: this run also clusters "
                          f"{', '.join(extra[:5]) or 'precomputed features'} (give full histories or a feature table)")
    if {"return_rate", "return_value_share", "cancellations"} & set(spec.transaction_columns):
        raise ConfigError("seglab assign --update does not fold netted returns; give full histories instead")


def _purchases(tx: pd.DataFrame) -> pd.DataFrame:
    return tx.groupby(["customer_id", "timestamp"], sort=True, observed=True)[["amount", "quantity"]].sum().reset_index()


def _category_weights(pipe: Any, tx: pd.DataFrame) -> pd.DataFrame:
    spec = pipe.spec_
    names = {c: f"cat_share_{c}" for c in spec.categories}
    other = next((c for c in spec.category_columns if c not in names.values()), None)
    w = tx["amount"] if spec.options.get("category_weight") == "amount" else pd.Series(1.0, index=tx.index)
    col = tx["category"].astype(str).map(names).fillna(other or "__unseen__")
    table = w.groupby([tx["customer_id"], col], sort=False).sum().unstack(fill_value=0.0)
    out = pd.DataFrame({f"cat_w_{i}": table[c] if c in table else 0.0 for i, c in enumerate(spec.category_columns)},
                       index=table.index)
    out["cat_total"] = table.sum(axis=1)
    return out


def fold(pipe: Any, state: pd.DataFrame | None, tx: pd.DataFrame) -> pd.DataFrame:
    """``state`` (indexed by customer_id) with the canonical transactions ``tx`` folded in."""
    _check_supported(pipe)
    window = trend_window(pipe)
    state = _empty(pipe) if state is None else state.copy()
    orders = _purchases(tx)
    known = orders["customer_id"].map(state["last_ts"]) if len(state) else pd.Series(pd.NaT, index=orders.index)
    stale = np.flatnonzero((orders["timestamp"] <= known).fillna(False).to_numpy())
    if len(stale):
        raise DataValidationError("transactions at or before the customer's last purchase already folded into the "
                                  "state (a batch must hold newer purchases only)", file="<--input>",
                                  column="timestamp", rows=stale, examples=orders["customer_id"].iloc[stale].tolist())
    weights = _category_weights(pipe, tx)
    horizon = orders["timestamp"].max() - 2 * window * _DAY if len(orders) else None
    rows = {}
    for cid, g in orders.groupby("customer_id", sort=False):
        prev = state.loc[cid].to_dict() if cid in state.index else None
        ts = g["timestamp"].to_numpy()
        gaps = np.diff(ts if prev is None else np.concatenate([[np.datetime64(prev["last_ts"])], ts])) / _DAY
        n0, mean, m2 = (0, 0.0, 0.0) if prev is None else (int(prev["gap_n"]), float(prev["gap_mean"]), float(prev["gap_m2"]))
        for gap in gaps.astype(np.float64):  # Welford
            n0 += 1
            delta = gap - mean
            mean += delta / n0
            m2 += delta * (gap - mean)
        recent_ts = list(prev["recent_ts"]) if prev is not None else []
        recent_amount = list(prev["recent_amount"]) if prev is not None else []
        recent_ts += list(g["timestamp"])
        recent_amount += list(g["amount"].astype(float))
        row = {"first_ts": prev["first_ts"] if prev is not None else g["timestamp"].iloc[0],
               "last_ts": g["timestamp"].iloc[-1],
               "n_purchases": (prev["n_purchases"] if prev is not None else 0) + len(g),
               "monetary_total": (prev["monetary_total"] if prev is not None else 0.0) + float(g["amount"].sum()),
               "quantity_total": (prev["quantity_total"] if prev is not None else 0.0) + float(g["quantity"].sum()),
               "gap_n": n0, "gap_mean": mean, "gap_m2": m2, "recent_ts": recent_ts, "recent_amount": recent_amount}
        for col in weights.columns:
            row[col] = (prev[col] if prev is not None else 0.0) + float(weights.at[cid, col])
        rows[cid] = row
    update = pd.DataFrame.from_dict(rows, orient="index")
    state = pd.concat([state.drop(index=[c for c in update.index if c in state.index]), update])
    if horizon is not None:  # purchases that can never count in spend_trend again
        keep = [[t > horizon for t in r] for r in state["recent_ts"]]
        state["recent_ts"] = [list(np.asarray(t, dtype=object)[k]) for t, k in zip(state["recent_ts"], keep, strict=True)]
        state["recent_amount"] = [list(np.asarray(a, dtype=float)[k]) for a, k in zip(state["recent_amount"], keep,
                                                                                    strict=True)]
    state.index.name = "customer_id"
    return state


def _empty(pipe: Any) -> pd.DataFrame:
    cols = ["first_ts", "last_ts", "n_purchases", "monetary_total", "quantity_total", "gap_n", "gap_mean", "gap_m2",
            "recent_ts", "recent_amount", *[f"cat_w_{i}" for i in range(len(pipe.spec_.category_columns))], "cat_total"]
    return pd.DataFrame(columns=cols, index=pd.Index([], name="customer_id"))


def features_from_state(pipe: Any, state: pd.DataFrame, reference_date: Any = None) -> pd.DataFrame:
    """The run's features of every customer in ``state`` at ``reference_date`` (default: the day
    after the newest purchase in the state)."""
    spec = pipe.spec_
    window = trend_window(pipe)
    last = pd.to_datetime(state["last_ts"])
    as_of = (last.max().normalize() + _DAY) if reference_date is None else pd.Timestamp(reference_date)
    n = state["n_purchases"].astype(float)
    out = pd.DataFrame(index=state.index)
    out["recency_days"] = (as_of - last) / _DAY
    out["frequency"] = n
    out["monetary_total"] = state["monetary_total"].astype(float)
    out["monetary_mean"] = out["monetary_total"] / n
    out["tenure_days"] = (as_of - pd.to_datetime(state["first_ts"])) / _DAY
    gap_n = state["gap_n"].astype(float)
    out["gap_mean_days"] = state["gap_mean"].astype(float).where(gap_n >= 1)
    out["gap_std_days"] = np.sqrt(state["gap_m2"].astype(float) / (gap_n - 1)).where(gap_n >= 2)
    out["basket_size"] = state["quantity_total"].astype(float) / n
    trend = []
    for ts, amount in zip(state["recent_ts"], state["recent_amount"], strict=True):
        age = (as_of - pd.to_datetime(pd.Series(list(ts), dtype="datetime64[ns]"))) / _DAY
        a = np.asarray(list(amount), dtype=float)
        recent = a[(age < window).to_numpy()].sum()
        past = a[((age >= window) & (age < 2 * window)).to_numpy()].sum()
        trend.append(np.log1p(recent) - np.log1p(past))
    out["spend_trend"] = trend
    total = state["cat_total"].astype(float)
    for i, col in enumerate(spec.category_columns):
        out[col] = (state[f"cat_w_{i}"].astype(float) / total.where(total > 0)).fillna(0.0)
    return out[spec.model_columns]


def read_state(path: str | Path) -> pd.DataFrame | None:
    path = Path(path)
    return pd.read_parquet(path).set_index("customer_id") if path.is_file() else None


def write_state(state: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    state.reset_index().to_parquet(tmp, index=False)
    tmp.replace(path)  # a crash mid-write leaves the previous state
