"""Small transaction logs with every edge case the feature engines must agree on (shared by
``test_features_engines.py`` and ``test_spark.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.data.schema import CustomerData

AS_OF = pd.Timestamp("2025-01-01")
#: rtol and atol of every engine-vs-pandas comparison: sums in another order differ in the
#: last bits; time is resolved to the microsecond by the SQL engines (1 µs = 1.2e-11 days)
TOL = 1e-9


def _t(days_before: float, seconds: float = 0.0) -> pd.Timestamp:
    return AS_OF - pd.Timedelta(days=days_before) + pd.Timedelta(seconds=seconds)


def edge_rows() -> list[tuple]:
    """(customer_id, timestamp, amount, quantity, category) rows; see the comments."""
    return [
        ("one", _t(200), 10.0, 1.0, "x"),                      # a single purchase: gaps NaN
        ("tie", _t(100, 3600), 5.0, 1.0, "x"),                  # two rows at one time = one purchase
        ("tie", _t(100, 3600), 7.0, 2.0, "y"),
        ("tie", _t(30), 1.0, 1.0, "y"),                         # two purchases: one gap, std NaN
        ("zero", _t(10), 0.0, 0.0, "x"),                        # zero amounts and quantities
        ("zero", _t(20), 0.0, 0.0, "y"),
        ("zero", _t(40), 0.0, 0.0, "rare1"),
        ("rare", _t(5), 3.0, 1.0, "rare1"),                     # categories outside the top-k
        ("rare", _t(6), 4.0, 1.0, "rare2"),
        ("rare", _t(7), 5.0, 3.0, "x"),
        ("edge", _t(90), 11.0, 1.0, "y"),                       # exactly W days: past window
        ("edge", _t(90, 1e-3), 13.0, 1.0, "y"),                 # just inside W: recent window
        ("edge", _t(180), 17.0, 1.0, "x"),                      # exactly 2W: in neither window
        ("edge", _t(180, 1e-3), 19.0, 1.0, "x"),                # just inside 2W: past window
        ("edge", _t(0, -1e-3), 23.0, 2.0, "unknown"),           # a millisecond before as_of
        ("many", _t(300), 8.0, 1.0, "x"),                       # irregular gaps: a real std
        ("many", _t(250, 7), 9.5, 2.0, "y"),
        ("many", _t(249), 2.25, 1.0, "y"),
        ("many", _t(120), 30.0, 4.0, "x"),
        ("many", _t(1), 12.0, 1.0, "x"),
    ]


def edge_frame() -> pd.DataFrame:
    rows = edge_rows()
    return pd.DataFrame({
        "customer_id": pd.array([r[0] for r in rows], dtype="str"),
        "timestamp": pd.to_datetime([r[1] for r in rows]).astype("datetime64[ns]"),
        "amount": np.array([r[2] for r in rows], dtype="float64"),
        "quantity": np.array([r[3] for r in rows], dtype="float64"),
        "category": pd.array([r[4] for r in rows], dtype="str"),
    })


def edge_data(reference_date: pd.Timestamp | None = AS_OF) -> CustomerData:
    """The edge rows plus ``none`` (a customer without transactions) and an attribute."""
    tx = edge_frame()
    ids = ["one", "tie", "none", "zero", "rare", "edge", "many"]
    customers = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"), "age": [30.0, 41.0, np.nan, 25.0, 60.0, 33.0, 47.0]})
    return CustomerData(name="edges", customers=customers, transactions=tx, reference_date=reference_date)


def assert_same_features(expected: pd.DataFrame, got: pd.DataFrame, tol: float = TOL) -> None:
    """Same columns in the same order, same row order, equal values within ``tol`` (NaN where
    the reference has NaN)."""
    assert list(got.columns) == list(expected.columns)
    assert [str(i) for i in got.index] == [str(i) for i in expected.index]
    for col in expected.columns:
        a, b = expected[col].to_numpy(dtype=float), got[col].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NaN pattern of {col}")
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol, equal_nan=True, err_msg=col)
