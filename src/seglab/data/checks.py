"""The canonical invariants of ``seglab.data.schema``, checked for every source before it returns."""

from __future__ import annotations

import pandas as pd

from seglab.data.convert import fail_rows, unique_ids
from seglab.data.repairs import member_of
from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS, CustomerData
from seglab.errors import DataValidationError


def validate_customer_data(data: CustomerData) -> CustomerData:
    """Check the canonical invariants of ``seglab.data.schema``; raise ``DataValidationError``.

    Cheap (vectorised) and run by every source before it returns, so later stages may rely on:
    unique non-missing ids; canonical columns and dtypes; non-negative amounts and quantities;
    every transaction/review customer present in ``customers``; ``truth`` aligned with
    ``customers``.
    """
    where = f"<CustomerData {data.name!r}>"
    c = data.customers
    if "customer_id" not in c.columns:
        raise DataValidationError(
            f"customers has no 'customer_id' column (columns: {list(c.columns)})", file=where
        )
    if len(c) == 0:
        raise DataValidationError("customers table is empty", file=where)
    ids = c["customer_id"]
    if ids.isna().any():
        fail_rows("missing customer id", where, "customer_id", ids.isna(), ids)
    unique_ids(ids, where, "customer_id")
    id_index = pd.Index(ids)
    from seglab.data.lazy import is_lazy  # (lazy imports this module)

    # transactions on disk were checked inside DuckDB when they were opened (seglab.data.lazy)
    if data.transactions is not None and not is_lazy(data.transactions):
        t = data.transactions
        if list(t.columns[: len(TRANSACTION_COLUMNS)]) != list(TRANSACTION_COLUMNS):
            raise DataValidationError(
                f"transactions must start with columns {list(TRANSACTION_COLUMNS)}, got {list(t.columns)}",
                file=where,
            )
        if t["timestamp"].dtype != "datetime64[ns]":
            raise DataValidationError(
                f"transactions.timestamp must be datetime64[ns], got {t['timestamp'].dtype}", file=where
            )
        for col in ("amount", "quantity"):
            if t[col].dtype != "float64":
                raise DataValidationError(
                    f"transactions.{col} must be float64, got {t[col].dtype}", file=where
                )
            bad = t[col].isna() | (t[col] < 0)
            if bad.any():
                fail_rows(f"transactions.{col} must be >= 0 and not missing", where, col, bad, t[col])
        if t["timestamp"].isna().any():
            fail_rows(
                "transactions.timestamp missing", where, "timestamp", t["timestamp"].isna(), t["timestamp"]
            )
        unknown = ~member_of(t["customer_id"], id_index)
        if unknown.any():
            fail_rows(
                "transaction of a customer absent from customers",
                where,
                "customer_id",
                unknown,
                t["customer_id"],
            )
    if data.reviews is not None:
        r = data.reviews
        if list(r.columns[: len(REVIEW_COLUMNS)]) != list(REVIEW_COLUMNS):
            raise DataValidationError(
                f"reviews must start with columns {list(REVIEW_COLUMNS)}, got {list(r.columns)}", file=where
            )
        if r["timestamp"].dtype != "datetime64[ns]":
            raise DataValidationError(
                f"reviews.timestamp must be datetime64[ns], got {r['timestamp'].dtype}", file=where
            )
        if r["rating"].dtype != "float64":
            raise DataValidationError(f"reviews.rating must be float64, got {r['rating'].dtype}", file=where)
        unknown = ~member_of(r["customer_id"], id_index)
        if unknown.any():
            fail_rows(
                "review of a customer absent from customers", where, "customer_id", unknown, r["customer_id"]
            )
    if data.features is not None:
        f = data.features
        if len(f) != len(c) or not f.index.equals(c.index):
            raise DataValidationError("features must be a frame indexed like customers", file=where)
        not_float = [str(col) for col in f.columns if f[col].dtype != "float64"]
        if not_float:
            raise DataValidationError(f"features must be float64 columns, not {not_float}", file=where)
    if data.truth is not None:
        if len(data.truth) != len(c) or not data.truth.index.equals(c.index):
            raise DataValidationError("truth must be a Series indexed like customers", file=where)
        if data.truth.isna().any():
            fail_rows("missing truth label", where, "truth", data.truth.isna(), data.truth)
    return data


def check_cluster_count(n_customers: int, n_clusters, k_min: int = 2) -> None:
    """More customers than segments, or a one-line error before any feature is computed (a
    clustering of 3 customers into 5 segments ends in a traceback inside the model).
    ``n_clusters`` may be ``auto`` (then ``k_min`` is the least asked) or absent (DBSCAN)."""
    if n_clusters is None:
        return
    k = int(k_min) if str(n_clusters) == "auto" else int(n_clusters)
    if n_customers <= k:
        what = f"model.n_clusters=auto tries k from choose_k.k_min={k}" if str(n_clusters) == "auto" \
            else f"n_clusters={k}"
        raise DataValidationError(
            f"{what}, but the data has {n_customers} customer(s): a segmentation needs more customers than "
            "segments", file="<CustomerData>", hint=f"n_clusters={n_customers - 1} or fewer" if n_customers > 2 else "data with more customers")
