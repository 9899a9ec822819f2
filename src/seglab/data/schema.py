"""The canonical data model every source produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Columns every ``transactions`` table has after a source has loaded it.
TRANSACTION_COLUMNS = ("customer_id", "timestamp", "amount", "quantity", "category")
#: Columns every ``reviews`` table has after a source has loaded it (rating may be NaN).
REVIEW_COLUMNS = ("customer_id", "timestamp", "text", "rating")
#: Columns of ``returns`` (cancellations and returns netted against purchases).
RETURN_COLUMNS = ("customer_id", "timestamp", "amount", "quantity", "kind")


@dataclass
class CustomerData:
    """One dataset in seglab's canonical form.

    Attributes:
        name: short dataset name, used in summaries and the tracker.
        customers: one row per customer; column ``customer_id`` (unique, str or int) plus any
            static attributes (numeric or categorical). It defines the set and the order of
            customers for every later stage.
        transactions: optional; columns ``TRANSACTION_COLUMNS``: ``timestamp`` is
            datetime64[ns], ``amount`` float (money, >= 0), ``quantity`` float (>= 0),
            ``category`` str (``"unknown"`` when the source has none). Large inputs hold a
            ``seglab.data.lazy.ParquetTransactions`` instead (rows on disk, read by an SQL
            engine; ``len`` and the time range known).
        reviews: optional; columns ``REVIEW_COLUMNS``: ``text`` str, ``rating`` float or NaN,
            ``timestamp`` datetime64[ns] or NaT.
        truth: optional ground-truth segment per customer, aligned with ``customers`` rows
            (a Series indexed like ``customers``), for benchmarks only.
        reference_date: the "as of" date for recency and churn; defaults to the day after the
            last transaction.
        meta: free-form facts a source wants reported (dropped duplicates, file paths...).
        features: optional precomputed per-customer clustering features (float columns, one
            row per ``customers`` row, same order), e.g. computed in a cluster and read by the
            ``features`` source; when present they are the features (not attributes).
        returns: optional cancellations and returns netted against purchases (a transactions
            source with ``returns=net``, ``seglab.data.lines``); columns ``RETURN_COLUMNS``:
            ``amount`` is the value each row netted (> 0), ``kind`` is ``cancellation`` or
            ``return``. The return features (``return_rate``, ``return_value_share``,
            ``cancellations``) are computed from it. On-disk transactions hold it as a view.
        feature_labels: business words for this data's own columns in segment names and figures
            (a source's ``feature_labels`` option; ``profiles.feature_labels`` overrides them).
    """

    name: str
    customers: pd.DataFrame
    transactions: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    truth: pd.Series | None = None
    reference_date: pd.Timestamp | None = None
    meta: dict = field(default_factory=dict)
    features: pd.DataFrame | None = None
    returns: pd.DataFrame | None = None
    feature_labels: dict = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def customer_ids(self) -> pd.Index:
        return pd.Index(self.customers["customer_id"], name="customer_id")

    def as_of(self) -> pd.Timestamp:
        """The reference date: explicit, else the day after the last transaction or review."""
        if self.reference_date is not None:
            return pd.Timestamp(self.reference_date)
        stamps = []
        if self.transactions is not None and len(self.transactions):
            from seglab.data.lazy import is_lazy

            tx = self.transactions
            stamps.append(tx.timestamp("max") if is_lazy(tx) else tx["timestamp"].max())
        if self.reviews is not None and len(self.reviews) and self.reviews["timestamp"].notna().any():
            stamps.append(self.reviews["timestamp"].max())
        if not stamps:
            return pd.Timestamp.today().normalize()
        return pd.Timestamp(max(stamps)).normalize() + pd.Timedelta(days=1)
