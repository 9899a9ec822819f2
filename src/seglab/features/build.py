"""Per-customer features from a ``CustomerData``: one numeric row per customer.

``build_features(data, **cfg.features.build)`` returns a float DataFrame indexed by
``customer_id`` in the order of ``data.customers``. Units are the data's own (days, money,
counts, shares in [0, 1]), so the same frame gives segment profiles in original units; the
fitted ``Preprocessor`` turns it into the model's matrix.

Definitions (all vectorised group-bys; about a second per million transaction rows)
------------------------------------------------------------------------------------
A *purchase* is one distinct ``(customer_id, timestamp)``: rows sharing a timestamp are one
basket (CDNOW logs several rows per order). ``as_of`` is ``data.as_of()``; day counts are
fractional days (``timedelta / 1 day``).

- ``recency_days``: ``as_of`` minus the customer's last purchase.
- ``frequency``: number of purchases.
- ``monetary_total``: sum of ``amount``; ``monetary_mean``: ``monetary_total / frequency``
  (mean spend per purchase, i.e. average order value).
- ``tenure_days``: ``as_of`` minus the customer's first purchase.
- ``gap_mean_days`` / ``gap_std_days``: mean and sample standard deviation (ddof=1) of the
  days between consecutive purchases. NaN with fewer than 2 / 3 purchases: there is no gap
  (or no spread) to measure, so the value is left missing for the preprocessor's imputer.
- ``basket_size``: mean total ``quantity`` per purchase.
- ``spend_trend``: ``log1p(recent) - log1p(past)`` where ``recent`` is the spend in
  ``(as_of - W, as_of]`` and ``past`` the spend in ``(as_of - 2W, as_of - W]``, with
  ``W = trend_window_days``. Positive = spending more lately, 0 = no change (or no spend in
  either window), symmetric and finite (a log-ratio of ``1 + spend``).
- ``cat_share_<name>``: share of the customer's transaction rows (``category_weight: count``)
  or of their spend (``category_weight: amount``) in each of the ``top_categories`` most
  frequent categories overall (ties broken by name), the rest pooled in ``cat_share_other``
  (present only when some category is pooled). No share columns when the data has a single
  category (e.g. all ``"unknown"``): they would be constant.
- ``return_rate``, ``return_value_share``, ``cancellations``: only when the data has netted
  cancellations and returns (``data.returns=net``; definitions in ``seglab.features.returns``).

Customers without transactions (present in ``customers`` only): ``frequency``,
``monetary_*``, ``basket_size``, ``tenure_days``, ``spend_trend`` and all shares are 0;
``recency_days`` is the length of the observation window, ``as_of`` minus the first
transaction in the data (they did not buy at any time we can see, so they are at least that
lapsed); gaps are NaN (imputed later). Transactions of ids absent from ``customers`` are
ignored (``customers`` defines the population).

Customer attributes: clustering inputs or profile-only (``attributes``)
---------------------------------------------------------------------------
Every column of ``data.customers`` but ``customer_id`` is an attribute. ``attributes`` says
what they are for:

- ``auto`` (default): ``cluster`` when the data has no transactions (a customer-level table:
  the attributes are its only features), ``profile`` when it has transactions;
- ``cluster``: attributes are clustering inputs next to the transaction features;
- ``profile``: attributes are computed (same columns) but marked *profile-only*: they describe
  the segments afterwards (``profiles.csv``) and are not clustering inputs;
- ``none``: no attribute columns at all.

Why ``auto`` makes attributes profile-only when transactions exist: the usual practice in
customer segmentation is to segment on behaviour (RFM, purchase rhythm, basket, category mix)
and to *describe* the segments with demographics afterwards, so that the segments mean
"how people buy" and demographics can be read against them rather than define them. It also
matters numerically: standardised one-hot flags (each level its own column with variance 1)
form a few crisp discrete groups (one per attribute combination) that dominate distances and,
even more, what an autoencoder learns to reconstruct; on the synthetic default (25 columns, 10
of them one-hot flags unrelated to the planted segments) k-means' ARI is 0.92 with either
choice, but AE+k-means and DEC cluster the attribute combinations (ARI 0.03 and 0.01) when
attributes are inputs and recover the segments when they are profile-only (see
``experiments/default.md``). Use ``attributes: cluster`` when demographics should shape the
segments (then consider fewer levels or a custom weighting).

Profile-only columns are listed in ``df.attrs["features"]["profile_only"]``; ``Preprocessor``
leaves them out of the model matrix (and reports them), so the same frame gives profiles with
every column and a model matrix without them.

Encoding: numeric columns pass through as float (NaN kept for the imputer); booleans become 0/1;
datetimes become ``<col>_days`` (days before ``as_of``); other columns (strings,
categoricals) are one-hot encoded as ``<col>=<value>`` for the ``max_category_levels`` most
frequent values (ties by name) plus ``<col>=other`` when more exist. A missing value is an
all-zero row for that attribute (no separate level; the zeros already say "none of these").
A text column with more than ``max_unique_share`` of its rows distinct and more distinct
values than ``max_category_levels`` looks like a free-text or id column and is skipped.
An attribute whose name clashes with a transaction feature is prefixed ``attr_``.

What was decided (categories kept, attributes skipped, the resolved ``attributes`` mode, the
profile-only columns...) is in ``df.attrs["features"]``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from seglab.data.schema import CustomerData
from seglab.data.validate import member_of
from seglab.errors import ConfigError, DataValidationError
from seglab.features.options import attribute_mode, check_options
from seglab.features.returns import return_aggregates, return_features
from seglab.privacy import screen_attributes
from seglab.progress import stage

log = logging.getLogger(__name__)

#: Transaction features in output order (category shares follow, then attributes).
TRANSACTION_FEATURES = (
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_mean",
    "tenure_days",
    "gap_mean_days",
    "gap_std_days",
    "basket_size",
    "spend_trend",
)

_DAY = pd.Timedelta(days=1)

def build_features(
    data: CustomerData,
    *,
    top_categories: int = 6,
    trend_window_days: float = 90,
    include_transactions: bool = True,
    attributes: str = "auto",
    max_category_levels: int = 10,
    max_unique_share: float = 0.5,
    category_weight: str = "count",
    engine: str = "auto",
    engine_options: dict | None = None,
    allow_columns: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """Compute one float row per customer of ``data`` (see the module docstring).

    Args:
        data: the canonical dataset.
        top_categories: number of transaction categories that get their own share column.
        trend_window_days: window ``W`` of ``spend_trend`` (last ``W`` days vs the ``W`` before).
        include_transactions: compute the transaction features when transactions exist.
        attributes: ``auto`` | ``cluster`` | ``profile`` | ``none``: whether the customer
            attributes are clustering inputs or profile-only (see the module docstring).
        max_category_levels: one-hot levels kept per categorical attribute (rest -> ``other``).
        max_unique_share: skip text attributes with more distinct values than this share of rows.
        category_weight: ``count`` (share of rows) or ``amount`` (share of spend).
        engine: what computes the transaction features: ``auto`` | ``pandas`` | ``duckdb`` |
            ``spark`` (``seglab.features.engine``; same definitions, same results).
        engine_options: DuckDB/Spark settings (``memory_limit``, ``threads``, ``temp_dir``,
            ``spark_master``, ``spark_driver_memory``).
        allow_columns: attribute columns kept although their values look like direct
            identifiers (``seglab.privacy.screen_attributes`` drops the others with a warning).

    Returns:
        DataFrame indexed by ``customer_id`` (order of ``data.customers``), float64 columns;
        ``attrs["features"]["profile_only"]`` lists the columns that are not clustering inputs.
    """
    check_options(top_categories=top_categories, trend_window_days=trend_window_days,
                  include_transactions=include_transactions, attributes=attributes,
                  max_category_levels=max_category_levels, max_unique_share=max_unique_share,
                  category_weight=category_weight)
    mode = attribute_mode(attributes)
    ids = data.customer_ids
    as_of = data.as_of()
    info: dict = {"as_of": str(as_of.date()) if as_of == as_of.normalize() else str(as_of)}
    parts: list[pd.DataFrame] = []

    if data.features is not None:
        return _precomputed(data, mode, info)
    tx = data.transactions
    has_tx = bool(include_transactions and tx is not None and len(tx))
    if has_tx:
        from seglab.data.lazy import is_lazy
        from seglab.features.engine import resolve_engine, sql_transaction_features

        chosen = info["engine"] = resolve_engine(engine, tx)
        with stage(f"transaction features ({chosen}, {len(tx):,} rows)"):
            if chosen == "pandas":
                returns = data.returns
                if is_lazy(tx):
                    log.warning("features.engine=pandas reads %d on-disk transaction rows into memory", len(tx))
                    tx, returns = tx.to_pandas_with_returns()
                parts.append(_transaction_features(tx, ids, as_of, float(trend_window_days), info))
                shares = _category_shares(tx, ids, int(top_categories), category_weight, info)
                if shares is not None:
                    parts.append(shares)
                if returns is not None:  # cancellations and returns netted (seglab.features.returns)
                    parts.append(return_features(return_aggregates(returns), parts[0], ids))
            else:
                parts.extend(sql_transaction_features(
                    tx, ids, as_of, engine=chosen, top_categories=top_categories,
                    trend_window_days=trend_window_days, category_weight=category_weight, info=info,
                    options=engine_options, returns=data.returns))
    if mode == "auto":
        mode = "profile" if has_tx else "cluster"
    info["attributes"] = mode
    profile_only: list[str] = []
    if mode != "none":
        taken = set().union(*(p.columns for p in parts)) if parts else set()
        customers = screen_attributes(data.customers, allow_columns, info)  # no e-mails etc. as features
        attrs = _attribute_features(customers, as_of, max_category_levels, max_unique_share, taken, info)
        if attrs.shape[1]:
            parts.append(attrs)
            if mode == "profile":
                profile_only = [str(c) for c in attrs.columns]
    info["profile_only"] = profile_only

    n_inputs = sum(p.shape[1] for p in parts) - len(profile_only)
    if n_inputs == 0:
        why = "no transactions"
        if mode == "none":
            why += " and features.build.attributes is none"
        elif mode == "profile":
            why += " and features.build.attributes is profile (attributes describe segments only)"
        else:
            why += " and no attribute columns"
        raise ConfigError(
            f"no clustering features for dataset {data.name!r}: {why} "
            "(set features.build.attributes=auto or cluster, or use a source with transactions)"
        )
    out = pd.concat(parts, axis=1).astype("float64")
    out.index = ids
    out.attrs["features"] = info
    return out


def _transaction_features(
    tx: pd.DataFrame, ids: pd.Index, as_of: pd.Timestamp, window: float, info: dict
) -> pd.DataFrame:
    data_start = tx["timestamp"].min()
    n_all = len(tx)
    tx = tx[member_of(tx["customer_id"], ids)]
    if n_all and not len(tx):
        raise DataValidationError(
            "no transaction belongs to a customer of the customers table (customer_id types: "
            f"transactions {tx['customer_id'].dtype}, customers {ids.dtype})",
            file="<CustomerData.transactions>",
            column="customer_id",
        )
    info["n_transactions_used"] = int(len(tx))

    # one row per purchase (customer, timestamp), sorted by customer then time
    orders = (
        tx.groupby(["customer_id", "timestamp"], sort=True, observed=True)[["amount", "quantity"]]
        .sum()
        .reset_index()
    )
    cust = orders["customer_id"]
    ts = orders["timestamp"]
    g = orders.groupby("customer_id", sort=False)
    first = g["timestamp"].min()
    last = g["timestamp"].max()
    feats = pd.DataFrame(
        {
            "recency_days": (as_of - last) / _DAY,
            "frequency": g.size().astype("float64"),
            "monetary_total": g["amount"].sum(),
            "tenure_days": (as_of - first) / _DAY,
            "basket_size": g["quantity"].mean(),
        }
    )
    feats["monetary_mean"] = feats["monetary_total"] / feats["frequency"]

    same = cust.eq(cust.shift())
    gaps = pd.Series(((ts - ts.shift()) / _DAY).where(same).to_numpy(), index=cust.to_numpy())
    gaps = gaps.dropna()
    gg = gaps.groupby(level=0, sort=False)
    feats["gap_mean_days"] = gg.mean()
    feats["gap_std_days"] = gg.std(ddof=1)

    age = (as_of - ts) / _DAY
    recent = orders["amount"].where(age < window, 0.0)
    past = orders["amount"].where((age >= window) & (age < 2 * window), 0.0)
    rp = pd.DataFrame({"recent": recent.to_numpy(), "past": past.to_numpy()}, index=cust.to_numpy())
    rp = rp.groupby(level=0, sort=False).sum()
    feats["spend_trend"] = np.log1p(rp["recent"]) - np.log1p(rp["past"])

    return fill_customers_without_transactions(feats, ids, as_of, data_start, info)


def fill_customers_without_transactions(
    feats: pd.DataFrame, ids: pd.Index, as_of: pd.Timestamp, data_start: pd.Timestamp, info: dict
) -> pd.DataFrame:
    """``feats`` (indexed by the ids of customers with transactions) in ``ids`` order, with the
    documented values for customers without any; every engine ends here."""
    feats = feats.reindex(ids)
    none = feats["frequency"].isna()
    info["n_customers_without_transactions"] = int(none.sum())
    zero_cols = ["frequency", "monetary_total", "monetary_mean", "tenure_days", "basket_size", "spend_trend"]
    feats.loc[none, zero_cols] = 0.0
    feats.loc[none, "recency_days"] = (as_of - data_start) / _DAY
    return feats[list(TRANSACTION_FEATURES)].reset_index(drop=True)


def _ranked_levels(values: pd.Series) -> list:
    """Distinct non-null values, most frequent first, ties broken by their string form."""
    counts = values.value_counts(dropna=True)
    return sorted(counts.index, key=lambda v: (-counts[v], str(v)))


def _category_shares(
    tx: pd.DataFrame, ids: pd.Index, top: int, weight: str, info: dict
) -> pd.DataFrame | None:
    ranked = _ranked_levels(tx["category"])
    if len(ranked) <= 1 or top == 0:
        info["top_categories"] = []
        return None
    kept = ranked[:top]
    info["top_categories"] = [str(c) for c in kept]
    info["n_categories_pooled_as_other"] = max(0, len(ranked) - top)
    tx = tx[member_of(tx["customer_id"], ids)]
    names = {c: f"cat_share_{c}" for c in kept}
    other = "cat_share_other"
    while other in names.values():
        other += "_"
    cat = tx["category"].map(names).fillna(other)
    w = tx["amount"] if weight == "amount" else pd.Series(1.0, index=tx.index)
    table = w.groupby([tx["customer_id"], cat], sort=False).sum().unstack(fill_value=0.0)
    cols = [names[c] for c in kept] + ([other] if len(ranked) > top else [])
    table = table.reindex(columns=cols, fill_value=0.0)
    total = table.sum(axis=1)
    shares = table.div(total.where(total > 0), axis=0).fillna(0.0)
    return shares.reindex(ids, fill_value=0.0).reset_index(drop=True)


def _attribute_features(
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    max_levels: int,
    max_unique_share: float,
    taken: set,
    info: dict,
) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    skipped: list[str] = []
    one_hot: dict[str, list[str]] = {}
    n = len(customers)

    def put(name: str, values) -> None:
        key = f"attr_{name}" if name in taken else name
        cols[key] = pd.Series(np.asarray(values, dtype="float64"))

    for col in customers.columns:
        if col == "customer_id":
            continue
        s = customers[col].reset_index(drop=True)
        if ptypes.is_bool_dtype(s):
            put(str(col), s.astype("float64"))
        elif ptypes.is_numeric_dtype(s):
            put(str(col), s.astype("float64"))
        elif ptypes.is_datetime64_any_dtype(s):
            put(f"{col}_days", (as_of - s) / _DAY)
        else:
            levels = _ranked_levels(s)
            if len(levels) > max_levels and len(levels) > max_unique_share * n:
                skipped.append(str(col))
                continue
            kept = levels[:max_levels]
            names = []
            for level in kept:
                name = f"{col}={level}"
                put(name, (s == level).to_numpy())
                names.append(name)
            if len(levels) > max_levels:
                rest = s.notna() & ~s.isin(kept)
                put(f"{col}=other", rest.to_numpy())
                names.append(f"{col}=other")
            one_hot[str(col)] = names
    if skipped:
        log.warning("features: skipped id-like text attributes (too many distinct values): %s", skipped)
    info["attributes_one_hot"] = one_hot
    info["attributes_skipped"] = skipped
    return pd.DataFrame(cols, index=pd.RangeIndex(n))


def _precomputed(data: CustomerData, mode: str, info: dict) -> pd.DataFrame:
    """Precomputed per-customer features (the ``features`` source): they are the clustering
    inputs as they are; customer attributes, if any, are not added."""
    out = data.features.astype("float64").reset_index(drop=True)
    out.index = data.customer_ids
    info.update(precomputed=True, attributes="none", profile_only=[])
    out.attrs["features"] = info
    return out
