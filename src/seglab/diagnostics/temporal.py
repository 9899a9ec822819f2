"""Stability over time: the segments customers had at an earlier cut-off against those at the end.

For transaction data, ``temporal_stability`` takes the data as it was at the cut-off
(``cutoff_data``: later transactions and dated reviews removed, only customers who had bought by
then, recency measured from the cut-off), builds its features with the run's own feature
builder (behaviour, attributes and review text: the cut-off's reviews only, re-scored through
the text cache), assigns the customers at both dates with the *same* fitted preprocessor and
model, and reports the transition matrix between segments (rows: segment at the cut-off,
columns: segment at the end) and the share of customers present at both dates who moved.

Nothing from after the cut-off may enter the cut-off state. Columns the cut-off frame lacks
(a category nobody had bought yet, the whole review block when no review predates the cut-off)
get what the features give a customer without such events: 0 for category shares and for the
review count and flag, missing otherwise (the fitted preprocessor imputes it like any missing
value); never a value from the end date. A note lists them. Reviews without a date cannot be
placed in time and are kept (a note counts them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError

#: Columns a customer without the events behind them has as 0 (shares, counts, the has-reviews flag).
ZERO_WHEN_ABSENT_PREFIXES = ("cat_share_",)
ZERO_WHEN_ABSENT = ("text_has_reviews", "text_n_reviews")


def cutoff_data(data: CustomerData, cutoff: str | pd.Timestamp) -> CustomerData:
    """``data`` as it was at ``cutoff``: transactions and dated reviews after it removed, only
    customers with a transaction on or before it kept (with their reviews), and recency
    measured from it."""
    if data.transactions is None or not len(data.transactions):
        raise ConfigError(f"dataset {data.name!r} has no transactions: stability over time needs them")
    cutoff = pd.Timestamp(cutoff)
    tx = data.transactions[data.transactions["timestamp"] <= cutoff]
    if not len(tx):
        raise ConfigError(f"no transaction on or before the cut-off {cutoff.date()} in dataset {data.name!r}")
    present = data.customers["customer_id"].isin(tx["customer_id"].unique())
    reviews = data.reviews
    if reviews is not None:
        dated_before = reviews["timestamp"].isna() | (reviews["timestamp"] <= cutoff)
        reviews = reviews[dated_before & reviews["customer_id"].isin(data.customers["customer_id"][present])]
        reviews = reviews.reset_index(drop=True)
    truth = None if data.truth is None else data.truth[present.to_numpy()]
    return replace(
        data,
        customers=data.customers[present].reset_index(drop=True),
        transactions=tx.reset_index(drop=True),
        reviews=reviews,
        truth=None if truth is None else truth.reset_index(drop=True),
        reference_date=cutoff,
        meta={**data.meta, "cutoff": str(cutoff)},
    )


@dataclass
class TemporalResult:
    """``counts`` / ``rates`` (row-normalised) transition matrices indexed by the segment at
    the cut-off (rows) and at the end (columns), ``share_moved``, ``n_customers`` (present
    at both dates), ``notes``."""

    counts: pd.DataFrame
    rates: pd.DataFrame
    share_moved: float
    n_customers: int
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {
            "stability/time_share_moved": self.share_moved,
            "stability/time_n_customers": float(self.n_customers),
        }


def transition_matrix(labels_from: np.ndarray, labels_to: np.ndarray) -> tuple[pd.DataFrame, float]:
    """Counts of customers per (segment before, segment after) and the share that changed."""
    a = pd.Series(np.asarray(labels_from, dtype=int), name="from")
    b = pd.Series(np.asarray(labels_to, dtype=int), name="to")
    counts = pd.crosstab(a, b)
    segs = sorted(set(counts.index) | set(counts.columns))
    counts = counts.reindex(index=segs, columns=segs, fill_value=0)
    counts.index.name, counts.columns.name = "from", "to"
    moved = float((a.to_numpy() != b.to_numpy()).mean()) if len(a) else float("nan")
    return counts, moved


def align_columns(frame: pd.DataFrame, columns: list[str], notes: list[str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns``; absent ones filled as the module docstring says."""
    out = frame.reindex(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    zero = [c for c in missing if c in ZERO_WHEN_ABSENT or str(c).startswith(ZERO_WHEN_ABSENT_PREFIXES)]
    if zero:
        out[zero] = 0.0
        notes.append(f"features absent at the cut-off set to 0 (no such event yet): {zero}.")
    imputed = [c for c in missing if c not in zero]
    if imputed:
        notes.append(f"features absent at the cut-off left missing for the preprocessor to impute: {imputed}.")
    return out


def temporal_transitions(
    model: Any,
    preprocessor: Any,
    features_start: pd.DataFrame,
    features_end: pd.DataFrame,
) -> TemporalResult:
    """Assign the customers of both feature frames (indexed by customer_id) with the same
    fitted ``preprocessor`` (``transform``, ``feature_names_in_``) and ``model``
    (``predict``) and compare the segments of the customers present in both.

    Each frame is assigned from its own columns only (``align_columns``).
    """
    notes: list[str] = []
    common = features_start.index.intersection(features_end.index)
    if not len(common):
        raise ConfigError("no customer is present at both dates")
    cols = list(getattr(preprocessor, "feature_names_in_", features_end.columns))
    start = align_columns(features_start.loc[common], cols, notes)
    end = features_end.loc[common].reindex(columns=cols)
    lab0 = np.asarray(model.predict(preprocessor.transform(start)), dtype=int)
    lab1 = np.asarray(model.predict(preprocessor.transform(end)), dtype=int)
    counts, moved = transition_matrix(lab0, lab1)
    rates = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return TemporalResult(counts=counts, rates=rates, share_moved=moved, n_customers=len(common), notes=notes)


def temporal_stability(
    data: CustomerData,
    model: Any,
    preprocessor: Any,
    build_features: Callable[[CustomerData], pd.DataFrame],
    *,
    period_days: float = 180,
    features_end: pd.DataFrame | None = None,
) -> TemporalResult:
    """Transitions between the cut-off ``as_of - period_days`` and the data's end.

    ``build_features`` turns a ``CustomerData`` into the per-customer frame the run clustered
    (the run passes its own: behaviour, attributes and text, exactly as configured); it is
    applied to the cut-off data, and to ``data`` unless ``features_end`` (the run's frame) is
    given.
    """
    cutoff = data.as_of() - pd.Timedelta(days=float(period_days))
    past = cutoff_data(data, cutoff)
    start = build_features(past)
    end = features_end if features_end is not None else build_features(data)
    result = temporal_transitions(model, preprocessor, start, end)
    result.notes.insert(0, f"cut-off {cutoff.date()} ({period_days:g} days before {data.as_of().date()}).")
    if past.reviews is not None and past.reviews["timestamp"].isna().any():
        result.notes.append(f"{int(past.reviews['timestamp'].isna().sum())} reviews without a date are counted "
                            "at the cut-off (they cannot be placed in time).")
    return result
