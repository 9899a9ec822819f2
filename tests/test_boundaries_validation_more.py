"""Validation edges that mutation testing showed untested: date formats and units really passed
through, review errors naming file and column, review text joining on any index, what counts as a
duplicate review, ``member_of``, the drop warning, attribute kinds, precomputed features, read errors."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from seglab.data import validate as v
from test_boundaries_validation import F, _canonical, err, message


def test_transactions_frame_passes_the_date_format_and_unit():
    raw = pd.DataFrame({"c": ["a"], "t": ["01/02/2024"], "m": [1.0]})  # day first: 1 February
    out = v.transactions_frame(raw, F, customer_id="c", timestamp="t", amount="m", date_format="%d/%m/%Y")
    assert out["timestamp"].tolist() == [pd.Timestamp("2024-02-01")]
    raw = pd.DataFrame({"c": ["a"], "t": [86400], "m": [1.0]})
    out = v.transactions_frame(raw, F, customer_id="c", timestamp="t", amount="m", date_unit="s")
    assert out["timestamp"].tolist() == [pd.Timestamp("1970-01-02")]


def test_reviews_frame_dates_ids_and_errors_name_the_file():
    raw = pd.DataFrame({"c": ["a", "b"], "t": ["01/02/2024", ""], "x": ["ok", "fine"]}, index=[10, 11])
    out = v.reviews_frame(raw, F, customer_id="c", text="x", timestamp="t", date_format="%d/%m/%Y")
    assert out["timestamp"].iloc[0] == pd.Timestamp("2024-02-01") and pd.isna(out["timestamp"].iloc[1])
    out = v.reviews_frame(raw.assign(t=[86400, None]), F, customer_id="c", text="x", timestamp="t", date_unit="s")
    assert out["timestamp"].iloc[0] == pd.Timestamp("1970-01-02")
    e = err(v.reviews_frame, raw.assign(t=["soon", ""]), F, customer_id="c", text="x", timestamp="t")
    assert e.file == F and e.column == "t" and e.rows == [10]
    e = err(v.reviews_frame, raw.assign(c=["a", " "]), F, customer_id="c", text="x")
    assert e.file == F and e.column == "c" and e.rows == [11]
    e = err(v.reviews_frame, raw, F, customer_id="c", text="body")
    assert e.file == F and e.column == "body"


def test_review_text_joining_edge_cases_on_any_index():
    raw = pd.DataFrame({"c": ["a", "b", "c"], "title": ["Solo", "Why?", ""], "body": ["", "because", "only body"]},
                       index=[7, 3, 5])
    out = v.reviews_frame(raw, F, customer_id="c", text=["title", "body"])
    assert out["text"].tolist() == ["Solo", "Why? because", "only body"]


def test_review_duplicates_are_same_customer_text_and_date_whatever_the_rating():
    raw = pd.DataFrame({"c": ["a", "a", "a"], "t": ["2024-01-01", "2024-01-01", "2024-01-02"],
                        "x": ["same", "same", "same"], "r": [4, 5, 4]})
    meta: dict = {}
    out = v.reviews_frame(raw, F, customer_id="c", text="x", timestamp="t", rating="r", meta=meta)
    assert len(out) == 2 and meta["reviews_duplicates_dropped"] == 1
    assert out["rating"].tolist() == [4.0, 4.0]  # the first of the repeated pair is kept


def test_member_of_with_repeated_ids_and_any_index():
    values = pd.Series(["a", "z", "b"], index=[5, 6, 7])
    got = v.member_of(values, pd.Index(["a", "b"]))
    assert got.tolist() == [True, False, True] and list(got.index) == [5, 6, 7]
    got = v.member_of(values, pd.Index(["a", "a", "b"]))  # not unique: plain isin
    assert got.tolist() == [True, False, True] and list(got.index) == [5, 6, 7]


def test_restrict_to_customers_warns_without_raw_ids(caplog, monkeypatch):
    df = pd.DataFrame({"customer_id": ["a", "zq", "yq", "xq", "wq"]})
    meta: dict = {}
    monkeypatch.delenv("SEGLAB_ID_KEY", raising=False)
    with caplog.at_level(logging.WARNING):
        out = v.restrict_to_customers(df, pd.Index(["a"]), "reviews", F, meta)
    assert out["customer_id"].tolist() == ["a"] and meta["reviews_unknown_customer_dropped"] == 4
    assert ("f.csv: dropped 4 reviews row(s) of customer ids absent from the customers table "
            "(ids withheld; set SEGLAB_ID_KEY to log keyed hashes)") in caplog.text
    monkeypatch.setenv("SEGLAB_ID_KEY", "k")  # with a key: keyed hashes of the first three, never the ids
    with caplog.at_level(logging.WARNING):
        v.restrict_to_customers(df, pd.Index(["a"]), "reviews", F, meta)
    from seglab.privacy import hash_id

    assert f"(keyed hashes {hash_id('zq')[:16]}, {hash_id('yq')[:16]}, {hash_id('xq')[:16]} ...)" in caplog.text
    assert not any(i in caplog.text for i in ("zq", "yq", "xq", "wq"))


def test_attribute_frame_edges():
    raw = pd.DataFrame({"n": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                        "joined": ["01-02-2024", None], "none_yet": [None, None], "inc": ["1", None]})
    out, ref = v.attribute_frame(raw, F, date_columns=["joined"], date_format="%d-%m-%Y", numeric_columns=["inc"])
    assert out["n"].dtype == "int64"  # numeric columns stay as read
    assert out["when"].dtype.kind == "M" and out["when"].iloc[1] == pd.Timestamp("2024-02-01")
    assert ref == pd.Timestamp("2024-02-01") and out["joined_days"].iloc[0] == 0.0
    assert out["inc"].iloc[0] == 1.0 and np.isnan(out["inc"].iloc[1])  # declared numeric: missing allowed
    e = err(v.attribute_frame, raw, F, numeric_columns=["absent"])
    assert e.file == F and e.column == "absent"


def test_a_date_column_without_any_date_gives_missing_days():
    raw = pd.DataFrame({"none_yet": [None, None], "x": [1, 2]}).astype({"none_yet": object})
    out, ref = v.attribute_frame(raw, F, date_columns=["none_yet"])
    assert ref is None and out["none_yet_days"].isna().all()


def test_numeric_typo_message_word_for_word():
    col = [str(i) for i in range(19)] + ["12,5"]
    e = err(v.attribute_frame, pd.DataFrame({"income": col}), F)
    assert message(e) == ("column 'income' is 95.0% numbers but has non-numeric values (fix them, or list the "
                          "column in categorical_columns) (1 row(s))")


def test_zero_amounts_and_quantities_are_valid_data():
    data = _canonical()
    data.transactions["amount"] = [0.0, 0.5]
    data.transactions["quantity"] = [0.0, 1.0]
    assert v.validate_customer_data(data) is data


def test_precomputed_features_must_line_up_and_be_float():
    data = _canonical()
    data.features = pd.DataFrame({"f": [1.0, 2.0]})
    assert v.validate_customer_data(data) is data
    data.features = pd.DataFrame({"f": [1.0]})
    assert message(err(v.validate_customer_data, data)) == "features must be a frame indexed like customers"
    data.features = pd.DataFrame({"f": [1.0, 2.0]}, index=[3, 4])
    assert message(err(v.validate_customer_data, data)) == "features must be a frame indexed like customers"
    data.features = pd.DataFrame({"f": [1.0, 2.0], "g": [1, 2], "h": ["a", "b"]})
    assert message(err(v.validate_customer_data, data)) == "features must be float64 columns, not ['g', 'h']"


def test_read_frame_errors_word_for_word(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n\n")
    assert message(err(v.read_frame, p, what="customer table")).startswith("customer table has no columns or rows (")
    q = tmp_path / "bad.csv"
    q.write_bytes(b"a,b\n\xff\xfe,1\n")
    e = err(v.read_frame, q, what="customer table")  # the undecodable row and column are named
    assert message(e).startswith("customer table is not valid utf-8 text (") and e.rows == [0] and e.column == "a"
    one = tmp_path / "one.csv"
    one.write_text("only\n1\n")
    assert v.read_frame(one)["only"].tolist() == [1]  # a single column is a table too
    semi = tmp_path / "semi.txt"
    semi.write_text("a;b\n1;2\n")
    assert list(v.read_frame(semi, sep=";").columns) == ["a", "b"]
