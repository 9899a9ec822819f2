"""Counted repairs: every row a source drops, nets or fixes is counted here, by reason.

Sources record counts in ``CustomerData.meta`` with ``record(meta, key, n)``; ``COUNTERS`` says
what each key counts and under which metric name a run reports it. ``data_report`` turns the
counts of a loaded dataset (plus the facts the feature step adds, e.g. duplicates the DuckDB
engine collapsed) into ``data/*`` metrics and one warning line per non-zero repair, which
``seglab.train`` writes to ``metrics.json``, the tracker and the console summary. Keys are never
raw customer ids or values: counts only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counter:
    metric: str  # reported as data/<metric>
    what: str  # "<n> <what>" in a warning
    warn: bool = True  # a non-zero count is a repair the user should see


#: meta key -> what it counts (in the order a summary lists them)
COUNTERS: dict[str, Counter] = {
    "rows_read": Counter("n_rows_read", "rows read", warn=False),
    "rows_without_customer_dropped": Counter("n_rows_without_customer_dropped",
                                             "rows without a customer id dropped (data.missing_customer=drop)"),
    "nonpositive_price_dropped": Counter("n_nonpositive_price_dropped",
                                         "rows with a zero or negative unit price dropped (data.nonpositive_price=drop)"),
    "future_dates_dropped": Counter("n_future_dates_dropped", "rows dated after today dropped (data.future_dates=drop)"),
    "cancellation_rows": Counter("n_cancellation_rows", "cancellation rows (invoice prefix) read", warn=False),
    "return_rows": Counter("n_return_rows", "return rows (negative quantity or amount) read", warn=False),
    "returns_dropped": Counter("n_returns_dropped", "cancellation/return rows dropped (data.returns=drop)"),
    "returns_netted_item": Counter("n_returns_netted_item",
                                   "cancellation/return rows netted against purchases of the same item", warn=False),
    "returns_netted_spend": Counter("n_returns_netted_spend",
                                    "cancellation/return rows netted against the customer's other purchases"),
    "returns_unmatched": Counter("n_returns_unmatched",
                                 "cancellation/return rows of customers without any purchase dropped (unmatched)"),
    "returned_value_unmatched": Counter("returned_value_unmatched",
                                        "of returned value above what the customer bought, not netted", warn=False),
    "purchase_rows_fully_returned": Counter("n_purchase_rows_fully_returned",
                                            "purchase rows netted to zero by returns dropped", warn=False),
    "transactions_duplicates_dropped": Counter("n_duplicates_dropped", "exact duplicate transaction rows dropped"),
    "transactions_unknown_customer_dropped": Counter("n_unmatched_transactions",
                                                     "transaction rows of ids absent from the customers file dropped"),
    "reviews_without_text_dropped": Counter("n_reviews_without_text_dropped", "reviews without text dropped"),
    "reviews_duplicates_dropped": Counter("n_review_duplicates_dropped", "exact duplicate reviews dropped"),
    "duplicate_reviews_dropped": Counter("n_review_duplicates_dropped", "exact duplicate reviews dropped"),
    "reviews_unknown_customer_dropped": Counter("n_unmatched_reviews", "reviews of ids absent from the population dropped"),
    "empty_columns_dropped": Counter("n_empty_columns_dropped", "empty unnamed columns dropped (trailing separators)"),
    "timestamps_converted_to_utc": Counter("n_timestamps_converted_to_utc",
                                           "timestamps with a UTC offset converted to UTC", warn=False),
    "returns_unknown_customer_dropped": Counter("n_unmatched_returns",
                                                "netted returns of ids absent from the customers file dropped"),
    "constant_features_dropped": Counter("n_constant_features_dropped",
                                         "constant features left out of the model matrix (they carry nothing)"),
    "orders_without_items": Counter("n_orders_without_items", "orders without any item line (no purchase)",
                                    warn=False),
    "n_transactions_used": Counter("n_transactions", "transaction rows the features use", warn=False),
    "n_customers_without_transactions": Counter("n_customers_without_transactions",
                                                "customers without any transaction (documented fill values)"),
}


def record(meta: dict | None, key: str, n: float, note: str | None = None) -> None:
    """Add ``n`` to ``meta[key]`` (``key`` must be in ``COUNTERS``); log ``note`` when ``n`` > 0."""
    if key not in COUNTERS:
        raise KeyError(f"unknown data counter {key!r}: add it to seglab.data.counts.COUNTERS")
    if meta is not None:
        meta[key] = meta.get(key, 0) + n
    if n and note:
        log.warning("%s", note)


def data_report(meta: dict, feature_info: dict | None = None,
                preprocess_report: dict | None = None) -> tuple[dict[str, float], list[str]]:
    """``data/*`` metrics for every counter present in ``meta`` or ``feature_info`` and a warning
    line per non-zero repair. Counts from ``feature_info`` (the feature step) win over ``meta``:
    for transactions on disk the engine collapses the duplicates and knows their number. The
    preprocessor's report adds the constant features it dropped."""
    merged = {k: v for k, v in meta.items() if k in COUNTERS}
    merged.update({k: v for k, v in (feature_info or {}).items() if k in COUNTERS})
    if preprocess_report is not None and "dropped_constant" in preprocess_report:
        merged["constant_features_dropped"] = len(preprocess_report["dropped_constant"])
    metrics: dict[str, float] = {}
    warnings: list[str] = []
    for key, counter in COUNTERS.items():
        if key not in merged:
            continue
        value = float(merged[key])
        name = f"data/{counter.metric}"
        metrics[name] = metrics.get(name, 0.0) + value
        if value and counter.warn:
            shown = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
            warnings.append(f"data: {shown} {counter.what} ({name})")
    return metrics, warnings
