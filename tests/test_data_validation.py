"""Every validation rule at the data-source boundary, on tiny bad files: the error is a
``DataValidationError`` whose message names the file, the column and a 0-based data row."""

from __future__ import annotations

import pytest

from seglab.data.table import TableSource
from seglab.data.transactions import TransactionsSource
from seglab.errors import DataValidationError

GOOD = "customer_id,timestamp,amount,quantity\nA,2024-01-01,10.0,1\nB,2024-01-02,5.5,2\nA,2024-02-01,7.25,1\n"


def _tx(tmp_path, text, name="tx.csv", **kw):
    p = tmp_path / name
    p.write_text(text)
    return TransactionsSource(path=str(p), quantity="quantity", **kw), p


def _raises(source, *, file, column=None, row=None, value=None, match=None):
    with pytest.raises(DataValidationError) as ei:
        source.load()
    msg = str(ei.value)
    assert str(file) in msg, msg
    if column is not None:
        assert f"column: '{column}'" in msg, msg
        assert ei.value.column == column
    if row is not None:
        assert row in ei.value.rows, msg
        assert "rows (0-based" in msg
    if value is not None:
        assert repr(value) in msg, msg
    if match is not None:
        assert match in msg, msg
    return msg


def test_good_file_loads(tmp_path):
    src, _ = _tx(tmp_path, GOOD)
    d = src.load()
    assert d.n_customers == 2 and len(d.transactions) == 3
    assert list(d.customers["customer_id"]) == ["A", "B"]


def test_missing_file(tmp_path):
    src = TransactionsSource(path=str(tmp_path / "nope.csv"))
    _raises(src, file=tmp_path / "nope.csv", match="not found")


def test_empty_file(tmp_path):
    src, p = _tx(tmp_path, "")
    _raises(src, file=p, match="empty")


def test_header_only_file(tmp_path):
    src, p = _tx(tmp_path, "customer_id,timestamp,amount,quantity\n")
    _raises(src, file=p, match="no data rows")


def test_missing_column_lists_available(tmp_path):
    src, p = _tx(tmp_path, GOOD.replace("amount", "price"))
    msg = _raises(src, file=p, column="amount", match="available columns")
    assert "price" in msg


def test_non_numeric_amount(tmp_path):
    src, p = _tx(tmp_path, GOOD + "C,2024-03-01,abc,1\n")
    _raises(src, file=p, column="amount", row=3, value="abc", match="numeric")


def test_unparsable_date(tmp_path):
    src, p = _tx(tmp_path, GOOD.replace("2024-01-02", "2024-13-45"), date_format="%Y-%m-%d")
    _raises(src, file=p, column="timestamp", row=1, value="2024-13-45", match="unparsable date")


def test_missing_date(tmp_path):
    src, p = _tx(tmp_path, GOOD + "C,,3,1\n")
    _raises(src, file=p, column="timestamp", row=3, match="missing date")


def test_negative_quantity(tmp_path):
    src, p = _tx(tmp_path, GOOD.replace("5.5,2", "5.5,-2"))
    _raises(src, file=p, column="quantity", row=1, value=-2, match="negative")


def test_negative_amount(tmp_path):
    src, p = _tx(tmp_path, GOOD.replace("7.25", "-7.25"))
    _raises(src, file=p, column="amount", row=2, match="negative")


def test_missing_amount(tmp_path):
    src, p = _tx(tmp_path, GOOD.replace("5.5", ""))
    _raises(src, file=p, column="amount", row=1, match="missing value")


def test_missing_customer_id(tmp_path):
    src, p = _tx(tmp_path, GOOD + ",2024-03-01,3,1\n")
    _raises(src, file=p, column="customer_id", row=3, match="missing customer id")


def test_exact_duplicates_dropped_and_counted(tmp_path):
    src, _ = _tx(tmp_path, GOOD + "A,2024-01-01,10.0,1\n")
    d = src.load()
    assert len(d.transactions) == 3
    assert d.meta["transactions_duplicates_dropped"] == 1
    src, _ = _tx(tmp_path, GOOD + "A,2024-01-01,10.0,1\n", name="tx2.csv", drop_duplicates=False)
    assert len(src.load().transactions) == 4


def test_reviews_file_rules(tmp_path):
    reviews = tmp_path / "rev.csv"
    reviews.write_text(
        "cid,body,stars,when\nA,great,5,2024-01-05\nB,,2,2024-01-06\nZ,who?,1,\nA,great,5,2024-01-05\n"
    )
    src, _ = _tx(
        tmp_path,
        GOOD,
        reviews_path=str(reviews),
        review_customer_id="cid",
        review_text="body",
        review_rating="stars",
        review_timestamp="when",
    )
    d = src.load()
    assert list(d.reviews["text"]) == ["great"]  # empty text, duplicate and unknown id dropped
    assert d.meta["reviews_without_text_dropped"] == 1
    assert d.meta["reviews_duplicates_dropped"] == 1
    # Z is not a customer (no transactions): dropped and counted
    assert d.meta["reviews_unknown_customer_dropped"] == 1
    reviews.write_text("cid,body,stars\nA,great,five\n")
    src, _ = _tx(
        tmp_path,
        GOOD,
        name="tx3.csv",
        reviews_path=str(reviews),
        review_customer_id="cid",
        review_text="body",
        review_rating="stars",
    )
    _raises(src, file=reviews, column="stars", row=0, value="five")


def test_table_duplicate_id(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,x\n1,2\n2,3\n1,4\n")
    _raises(
        TableSource(path=str(p), id_column="id"), file=p, column="id", row=2, match="duplicate customer id"
    )


def test_table_missing_id(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,x\n1,2\n,3\n")
    _raises(TableSource(path=str(p), id_column="id"), file=p, column="id", row=1)


def test_table_numeric_typo(tmp_path):
    rows = "\n".join(f"{i},{i * 1.5}" for i in range(30))
    p = tmp_path / "t.csv"
    p.write_text("id,income\n" + rows + "\n30,12,5x\n".replace("12,5x", '"12,5x"'))
    _raises(TableSource(path=str(p), id_column="id"), file=p, column="income", row=30, value="12,5x")


def test_table_declared_numeric_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,income,kind\n1,10,a\n2,lots,b\n")
    _raises(
        TableSource(path=str(p), id_column="id", numeric_columns=["income"]),
        file=p,
        column="income",
        row=1,
        value="lots",
    )


def test_table_unparsable_date(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,since\n1,04-09-2012\n2,31-02-2013\n")
    _raises(
        TableSource(path=str(p), id_column="id", date_columns=["since"], date_format="%d-%m-%Y"),
        file=p,
        column="since",
        row=1,
        value="31-02-2013",
    )


def test_table_missing_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,x\n1,2\n")
    msg = _raises(TableSource(path=str(p), id_column="ID"), file=p, column="ID")
    assert "'id'" in msg and "'x'" in msg
