"""The validation helpers at their edges: infinities, negative and zero amounts, missing ids and
dates, the numeric-typo share, integral float ids, separators, review text joining, and the
canonical invariants ``validate_customer_data`` enforces. Each error must name file, column, rows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from seglab.data import validate as v
from seglab.data.schema import CustomerData
from seglab.errors import DataValidationError

F = "f.csv"


def err(fn, *args, **kw) -> DataValidationError:
    with pytest.raises(DataValidationError) as e:
        fn(*args, **kw)
    return e.value


def message(e: DataValidationError) -> str:
    """The message part of the error, before `` | file: ...``."""
    return str(e).split(" | ")[0]


# --- numeric -------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_amount_is_an_error_naming_the_row(bad):
    e = err(v.numeric, pd.Series([1.0, bad, 2.0]), F, "amount", allow_missing=False)
    assert message(e) == "infinite value in column 'amount' (1 row(s))"
    assert e.rows == [1] and e.column == "amount" and e.file == F


def test_infinity_written_as_text_is_an_error_too():
    e = err(v.numeric, pd.Series(["1", "inf", "-Infinity"]), F, "amount", allow_missing=False)
    assert message(e) == "infinite value in column 'amount' (2 row(s))"
    assert e.rows == [1, 2] and e.examples == ["inf", "-Infinity"]


def test_negative_amount_is_an_error_but_zero_is_not():
    e = err(v.numeric, pd.Series([0.0, -0.01, 3.0, -2.0]), F, "amount", allow_missing=False, non_negative=True)
    assert message(e) == "negative value in column 'amount' (must be >= 0) (2 row(s))" and e.rows == [1, 3]
    assert e.examples == [-0.01, -2.0]
    out = v.numeric(pd.Series([0.0, -0.0, 3.0]), F, "amount", allow_missing=False, non_negative=True)
    assert out.tolist() == [0.0, 0.0, 3.0] and out.dtype == "float64"


def test_negative_values_allowed_where_not_required():
    assert v.numeric(pd.Series([-1.5, 2.0]), F, "x", allow_missing=False).tolist() == [-1.5, 2.0]


def test_missing_numbers():
    e = err(v.numeric, pd.Series(["1", " ", None]), F, "quantity", allow_missing=False)
    assert message(e) == "missing value in required numeric column 'quantity' (2 row(s))" and e.rows == [1, 2]
    out = v.numeric(pd.Series(["1", "", None]), F, "rating", allow_missing=True)
    assert out.iloc[0] == 1.0 and out.iloc[1:].isna().all()


def test_non_numbers_are_named_with_their_values():
    e = err(v.numeric, pd.Series(["3", "abc", "12,5"]), F, "amount", allow_missing=True)
    assert message(e) == "column 'amount' must be numeric (2 row(s))"
    assert e.rows == [1, 2] and e.examples == ["abc", "12,5"]


def test_booleans_become_numbers():
    assert v.numeric(pd.Series([True, False]), F, "b", allow_missing=False).tolist() == [1.0, 0.0]


def test_fail_rows_shows_at_most_five_rows():
    e = err(v.numeric, pd.Series([-1.0] * 7), F, "amount", allow_missing=False, non_negative=True)
    assert e.rows == [0, 1, 2, 3, 4] and "(7 row(s))" in str(e)


def test_plain_values_in_messages():
    assert v._plain(np.int64(3)) == 3 and type(v._plain(np.float64(2.5))) is float
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        assert v._plain(missing) is None
    assert v._plain("x") == "x"


# --- ids -------------------------------------------------------------------------------------------
def test_integral_float_ids_lose_their_decimal_point():
    ids = v.customer_ids(pd.Series([1.0, 20.0, 3.5]), F, "id")
    assert ids.tolist() == ["1", "20", "3.5"]


def test_text_ids_are_stripped_and_blank_ids_are_errors():
    assert v.customer_ids(pd.Series([" a ", "007"]), F, "id").tolist() == ["a", "007"]
    e = err(v.customer_ids, pd.Series(["a", "  ", None]), F, "id")
    assert message(e) == "missing customer id (2 row(s))" and e.rows == [1, 2]


def test_duplicate_ids_name_every_repeat():
    e = err(v.unique_ids, pd.Series(["a", "b", "a", "c", "b"]), F, "id")
    assert message(e) == "duplicate customer id in a one-row-per-customer table (4 row(s))"
    assert e.rows == [0, 1, 2, 4]
    v.unique_ids(pd.Series(["a", "b"]), F, "id")


# --- dates -----------------------------------------------------------------------------------------
def test_dates_unparsable_and_missing():
    e = err(v.dates, pd.Series(["2024-01-01", "soon", ""]), F, "when", allow_missing=True)
    assert message(e) == "unparsable date in column 'when' (format=None) (1 row(s))" and e.rows == [1]
    e = err(v.dates, pd.Series(["2024-01-01", ""]), F, "when", allow_missing=False)
    assert message(e) == "missing date in column 'when' (1 row(s))" and e.rows == [1]
    out = v.dates(pd.Series(["2024-01-01", " "]), F, "when", allow_missing=True)
    assert out.iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(out.iloc[1])
    assert out.dtype == "datetime64[ns]"


def test_date_format_and_epoch_units():
    out = v.dates(pd.Series(["31-12-2023"]), F, "d", fmt="%d-%m-%Y", allow_missing=False)
    assert out.iloc[0] == pd.Timestamp("2023-12-31")
    e = err(v.dates, pd.Series(["2023-12-31"]), F, "d", fmt="%d-%m-%Y", allow_missing=False)
    assert "format='%d-%m-%Y'" in str(e)
    out = v.dates(pd.Series([86400, 0]), F, "d", allow_missing=False, unit="s")
    assert out.tolist() == [pd.Timestamp("1970-01-02"), pd.Timestamp("1970-01-01")]
    ts = pd.Series(pd.to_datetime(["2024-05-01"]))
    assert v.dates(ts, F, "d", allow_missing=False).iloc[0] == pd.Timestamp("2024-05-01")


# --- files -----------------------------------------------------------------------------------------
def test_file_checks(tmp_path):
    e = err(v.check_file, tmp_path / "shared/data/x.csv")  # the hint is generic: no path is special
    assert message(e) == (f"data file not found (the folder {tmp_path / 'shared/data'} does not exist either; "
                          "check the path or the variable it is built from)")
    assert e.file == str(tmp_path / "shared/data/x.csv")
    (tmp_path / "orders.csv").write_text("a\n1\n")
    assert message(err(v.check_file, tmp_path / "elsewhere.csv", what="customers file")) == \
        "customers file not found (the folder holds: orders.csv)"
    assert message(err(v.check_file, tmp_path)) == "data file is not a file"
    (tmp_path / "empty.csv").write_text("")
    assert message(err(v.check_file, tmp_path / "empty.csv")) == "data file is empty (0 bytes)"
    (tmp_path / "ok.csv").write_text("a\n1\n")
    assert v.check_file(tmp_path / "ok.csv") == tmp_path / "ok.csv"


@pytest.mark.parametrize("name,sep", [("a.tsv", "\t"), ("a.TSV.gz", "\t"), ("a.tab", "\t"), ("a.csv", ","),
                                      ("a.txt", ",")])
def test_default_separator(name, sep):
    from pathlib import Path

    assert v.default_sep(Path(name)) == sep


def test_read_frame_strips_headers_keeps_id_text_and_reads_parquet(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("id\t x \n007\t1\n008\t2\n")
    df = v.read_frame(p, str_columns=["id"])
    assert list(df.columns) == ["id", "x"] and df["id"].tolist() == ["007", "008"]
    assert list(df.index) == [0, 1]
    q = tmp_path / "t.parquet"
    pd.DataFrame({"id": ["a"], "x": [1.0]}).to_parquet(q)
    assert v.read_frame(q)["x"].tolist() == [1.0]
    h = tmp_path / "h.csv"
    h.write_text("a,b\n")
    assert message(err(v.read_frame, h)) == "data file has no data rows (columns: ['a', 'b'])"


# --- canonical tables ------------------------------------------------------------------------------
def test_transactions_frame_defaults_and_duplicates():
    raw = pd.DataFrame({"c": ["a", "a", "b"], "t": ["2024-01-01"] * 3, "m": [1.0, 1.0, 2.0], "k": ["x", "x", " "]})
    meta: dict = {}
    out = v.transactions_frame(raw, F, customer_id="c", timestamp="t", amount="m", category="k", meta=meta)
    assert out["category"].tolist() == ["x", "unknown"] and out["quantity"].tolist() == [1.0, 1.0]
    assert meta["transactions_duplicates_dropped"] == 1 and list(out.index) == [0, 1]
    keep = v.transactions_frame(raw, F, customer_id="c", timestamp="t", amount="m", drop_duplicates=False,
                                meta=meta)
    assert len(keep) == 3 and keep["category"].eq("unknown").all()
    assert meta["transactions_duplicates_dropped"] == 0


def test_reviews_frame_joins_text_columns_and_drops_empty_reviews():
    raw = pd.DataFrame({"c": ["a", "b", "c", "d", "a"], "title": ["Great", "Fine!", "", "", "Great"],
                        "body": ["works", "ok", "meh", "", "works"], "r": [5, None, 3, 1, 5]})
    meta: dict = {}
    out = v.reviews_frame(raw, F, customer_id="c", text=["title", "body"], rating="r", meta=meta)
    assert out["text"].tolist() == ["Great. works", "Fine! ok", "meh"]
    assert meta["reviews_without_text_dropped"] == 1 and meta["reviews_duplicates_dropped"] == 1
    assert out["rating"].dtype == "float64" and np.isnan(out["rating"].iloc[1])
    assert out["timestamp"].isna().all() and out["timestamp"].dtype == "datetime64[ns]"


def test_restrict_to_customers_counts_and_warns(caplog):
    df = pd.DataFrame({"customer_id": ["a", "z", "b", "z"]})
    meta: dict = {}
    with caplog.at_level(logging.WARNING):
        out = v.restrict_to_customers(df, pd.Index(["a", "b"]), "reviews", F, meta)
    assert out["customer_id"].tolist() == ["a", "b"] and list(out.index) == [0, 1]
    assert meta["reviews_unknown_customer_dropped"] == 2
    assert "dropped 2 reviews row(s)" in caplog.text


# --- invariants ------------------------------------------------------------------------------------
def ns(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).astype("datetime64[ns]")


def _canonical() -> CustomerData:
    tx = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ns(["2024-01-01", "2024-01-02"]),
                       "amount": [1.0, 2.0], "quantity": [1.0, 1.0], "category": ["x", "y"]})
    rv = pd.DataFrame({"customer_id": ["a"], "timestamp": ns(["2024-01-03"]), "text": ["ok"],
                       "rating": [4.0]})
    return CustomerData(name="n", customers=pd.DataFrame({"customer_id": ["a", "b"]}), transactions=tx,
                        reviews=rv, truth=pd.Series(["s", "t"]))


def test_canonical_data_passes():
    assert v.validate_customer_data(_canonical()) is not None


@pytest.mark.parametrize("breakage,match", [
    (lambda d: setattr(d, "customers", d.customers.rename(columns={"customer_id": "id"})), "customers has no 'customer_id' column (columns: ['id'])"),
    (lambda d: setattr(d, "customers", d.customers.iloc[:0]), "customers table is empty"),
    (lambda d: d.customers.__setitem__("customer_id", ["a", None]), "missing customer id (1 row(s))"),
    (lambda d: d.customers.__setitem__("customer_id", ["a", "a"]), "duplicate customer id in a one-row-per-customer table (2 row(s))"),
    (lambda d: setattr(d, "transactions", d.transactions[["timestamp", "customer_id", "amount", "quantity",
                                                          "category"]]), "transactions must start with columns ['customer_id', 'timestamp', 'amount', 'quantity', 'category'], got ['timestamp', 'customer_id', 'amount', 'quantity', 'category']"),
    (lambda d: d.transactions.__setitem__("timestamp", d.transactions["timestamp"].astype("datetime64[s]")),
     "transactions.timestamp must be datetime64[ns], got datetime64[s]"),
    (lambda d: d.transactions.__setitem__("amount", [1, 2]), "transactions.amount must be float64, got int64"),
    (lambda d: d.transactions.__setitem__("amount", [1.0, -2.0]), "transactions.amount must be >= 0 and not missing (1 row(s))"),
    (lambda d: d.transactions.__setitem__("quantity", [np.nan, 1.0]), "transactions.quantity must be >= 0 and not missing (1 row(s))"),
    (lambda d: d.transactions.__setitem__("timestamp", ns(["2024-01-01", None])),
     "transactions.timestamp missing (1 row(s))"),
    (lambda d: d.transactions.__setitem__("customer_id", ["a", "q"]), "transaction of a customer absent from customers (1 row(s))"),
    (lambda d: setattr(d, "reviews", d.reviews[["text", "customer_id", "timestamp", "rating"]]),
     "reviews must start with columns ['customer_id', 'timestamp', 'text', 'rating'], got ['text', 'customer_id', 'timestamp', 'rating']"),
    (lambda d: d.reviews.__setitem__("timestamp", [1.5]), "reviews.timestamp must be datetime64[ns], got float64"),
    (lambda d: d.reviews.__setitem__("rating", [4]), "reviews.rating must be float64, got int64"),
    (lambda d: d.reviews.__setitem__("customer_id", ["q"]), "review of a customer absent from customers (1 row(s))"),
    (lambda d: setattr(d, "truth", pd.Series(["s"])), "truth must be a Series indexed like customers"),
    (lambda d: setattr(d, "truth", pd.Series(["s", "t"], index=[5, 6])), "truth must be a Series indexed like customers"),
    (lambda d: setattr(d, "truth", pd.Series(["s", None])), "missing truth label (1 row(s))"),
])
def test_each_invariant_is_enforced(breakage, match):
    data = _canonical()
    breakage(data)
    e = err(v.validate_customer_data, data)
    assert message(e) == match and e.file == "<CustomerData 'n'>"
    if "row(s)" in match:  # row errors name their column
        expected = {"missing customer id": "customer_id", "duplicate customer id": "customer_id",
                    "transactions.amount": "amount", "transactions.quantity": "quantity",
                    "transactions.timestamp": "timestamp", "transaction of": "customer_id",
                    "review of": "customer_id", "missing truth": "truth"}
        assert e.column == next(col for start, col in expected.items() if match.startswith(start))


def test_row_of_a_broken_invariant_is_named():
    data = _canonical()
    data.transactions["amount"] = [1.0, -2.0]
    e = err(v.validate_customer_data, data)
    assert e.rows == [1] and e.column == "amount"


# --- customer attributes ---------------------------------------------------------------------------
def test_numeric_typo_share_boundary():
    # 19 of 20 values are numbers (exactly 95%): an error naming the odd one
    col = [str(i) for i in range(19)] + ["12,5"]
    e = err(v.attribute_frame, pd.DataFrame({"income": col}), F)
    assert "95.0% numbers" in str(e) and e.rows == [19] and e.examples == ["12,5"]
    # 18 of 20 (90%): left as text
    col = [str(i) for i in range(18)] + ["n/a", "x"]
    out, _ = v.attribute_frame(pd.DataFrame({"income": col}), F)
    assert not pd.api.types.is_numeric_dtype(out["income"]) and out["income"].iloc[-1] == "x"
    # all numbers written as text (missing allowed): numeric
    out, _ = v.attribute_frame(pd.DataFrame({"income": ["1", " ", "2.5"]}), F)
    assert out["income"].dtype == "float64" and np.isnan(out["income"].iloc[1])


def test_attribute_kinds():
    raw = pd.DataFrame({"code": [1, 2, None], "flag": [True, False, True], "n": ["1", "2", "x"],
                        "joined": ["2024-01-10", "2024-01-01", None], "name": [" ann ", "bo", ""]})
    out, ref = v.attribute_frame(raw, F, categorical_columns=["code"], date_columns=["joined"])
    assert ref == pd.Timestamp("2024-01-10")
    assert out["joined_days"].tolist()[:2] == [0.0, 9.0] and np.isnan(out["joined_days"].iloc[2])
    assert out["code"].tolist()[:2] == ["1.0", "2.0"] and pd.isna(out["code"].iloc[2])
    assert out["flag"].tolist() == [True, False, True]
    assert out["name"].tolist()[:2] == ["ann", "bo"] and pd.isna(out["name"].iloc[2])
    e = err(v.attribute_frame, raw, F, numeric_columns=["n"])
    assert e.column == "n" and e.rows == [2]
    out, ref = v.attribute_frame(raw[["joined"]], F, date_columns=["joined"],
                                 reference_date=pd.Timestamp("2024-01-11"))
    assert out["joined_days"].tolist()[:2] == [1.0, 10.0]
