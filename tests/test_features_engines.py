"""The SQL feature definition on DuckDB gives the pandas reference's features, column by column,
in the same row order; on-disk (lazy) Parquet inputs are checked inside DuckDB with the pandas
path's messages. Spark runs the same comparisons in ``test_spark.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine_cases import AS_OF, assert_same_features, edge_data, edge_frame
from requirements import require_module
from seglab.data import SyntheticSource, TransactionsSource
from seglab.data.lazy import ParquetTransactions, is_lazy
from seglab.data.sql_engines import require
from seglab.data.sql_input import java_datetime_pattern
from seglab.data.synthetic_parquet import SyntheticParquetSource
from seglab.errors import ConfigError, DataValidationError, SeglabError
from seglab.features import build_features
from seglab.features.engine import resolve_engine


@pytest.fixture(autouse=True)
def _duckdb():
    require_module("duckdb", 'pip install "seglab[scale]"')


@pytest.mark.parametrize("weight", ["count", "amount"])
@pytest.mark.parametrize("top", [2, 6])
def test_duckdb_matches_pandas_on_edge_cases(weight, top):
    data = edge_data()
    kw = dict(top_categories=top, category_weight=weight, trend_window_days=90)
    expected = build_features(data, engine="pandas", **kw)
    got = build_features(data, engine="duckdb", **kw)
    assert_same_features(expected, got)
    # the edge cases are really there: a single purchase has no gap, two purchases no spread,
    # a tie is one purchase, zero spend has zero shares by amount, the pool exists at top=2
    assert np.isnan(got.loc["one", "gap_mean_days"]) and np.isnan(got.loc["tie", "gap_std_days"])
    assert got.loc["tie", "frequency"] == 2 and got.loc["none", "frequency"] == 0
    assert ("cat_share_other" in got.columns) == (top == 2)
    if weight == "amount":
        assert got.filter(like="cat_share_").loc["zero"].sum() == 0
    assert got.attrs["features"]["engine"] == "duckdb"


def test_trend_window_boundaries_follow_the_definition():
    got = build_features(edge_data(), engine="duckdb", trend_window_days=90)
    # recent = 13 (89.99.. days) + 23 (a millisecond before as_of); past = 11 (exactly 90) + 19
    assert got.loc["edge", "spend_trend"] == pytest.approx(np.log1p(36.0) - np.log1p(30.0), rel=1e-12)


def test_duckdb_matches_pandas_on_synthetic_data_and_is_deterministic():
    data = SyntheticSource(n_customers=1500, seed=3).load()
    expected = build_features(data, engine="pandas")
    first = build_features(data, engine="duckdb", engine_options={"threads": 2})
    again = build_features(data, engine="duckdb", engine_options={"threads": 2})
    assert_same_features(expected, first)
    pd.testing.assert_frame_equal(first, again)


def _write_parts(frame: pd.DataFrame, folder, n_parts: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n_parts)):
        frame.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)


def _source(path, in_memory, **kw) -> TransactionsSource:
    return TransactionsSource(path=str(path), quantity="quantity", category="category", in_memory=in_memory,
                              reference_date=str(AS_OF.date()), **kw)


def test_parquet_folder_on_disk_equals_in_memory(tmp_path):
    tx = edge_frame()
    tx = pd.concat([tx, tx.iloc[[3]]], ignore_index=True)  # an exact duplicate row, in the second part
    _write_parts(tx, tmp_path / "tx")
    on_disk = _source(tmp_path / "tx", in_memory=False).load()
    in_mem = _source(tmp_path / "tx", in_memory=True).load()
    assert is_lazy(on_disk.transactions) and not is_lazy(in_mem.transactions)
    assert list(on_disk.customers["customer_id"]) == list(in_mem.customers["customer_id"])  # first appearance
    assert len(on_disk.transactions) == len(tx) and on_disk.as_of() == in_mem.as_of()
    lazy_features = build_features(on_disk)  # auto: DuckDB for on-disk transactions
    assert lazy_features.attrs["features"]["engine"] == "duckdb"
    assert lazy_features.attrs["features"]["transactions_duplicates_dropped"] == 1
    assert_same_features(build_features(in_mem), lazy_features)
    # engine=pandas on on-disk data reads it through the pandas path: same again
    assert_same_features(build_features(in_mem), build_features(on_disk, engine="pandas"))


def test_glob_and_customers_file_restrict_the_population(tmp_path):
    _write_parts(edge_frame(), tmp_path / "tx", n_parts=3)
    customers = pd.DataFrame({"customer_id": ["many", "one", "ghost"], "region": ["n", "s", "n"]})
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    kw = dict(customers_path=str(tmp_path / "customers.parquet"))
    lazy = _source(tmp_path / "tx" / "part-*.parquet", in_memory=False, **kw).load()
    eager = _source(tmp_path / "tx" / "part-*.parquet", in_memory=True, **kw).load()
    dropped = len(edge_frame()) - 6  # "many" has 5 rows, "one" 1
    assert lazy.meta["transactions_unknown_customer_dropped"] == eager.meta["transactions_unknown_customer_dropped"] == dropped
    assert list(lazy.customers["customer_id"]) == ["many", "one", "ghost"]
    assert_same_features(build_features(eager), build_features(lazy))


def test_synthetic_parquet_round_trip_gives_the_in_memory_features(tmp_path):
    source = SyntheticSource(n_customers=800, seed=5)
    source.write_parquet(tmp_path / "syn")
    lazy = SyntheticParquetSource(path=str(tmp_path / "syn"), in_memory=False).load()
    data = source.load()
    assert is_lazy(lazy.transactions)
    assert (lazy.truth.to_numpy() == data.truth.to_numpy()).all()
    expected = build_features(data, engine="pandas")
    got = build_features(lazy)
    got.index = got.index.astype("int64")
    assert_same_features(expected, got)


BAD_CASES = {
    "negative amount": (lambda df: df.assign(amount=df["amount"].where(df.index != 5, -2.0)), {}),
    "missing id": (lambda df: df.assign(customer_id=df["customer_id"].where(~df.index.isin([4, 7]), None)), {}),
    "text amount": (lambda df: df.assign(amount=df["amount"].astype(str).where(df.index != 6, "12,5")), {}),
    "missing amount": (lambda df: df.assign(amount=df["amount"].where(df.index != 8, np.nan)), {}),
    "infinite quantity": (lambda df: df.assign(quantity=df["quantity"].where(df.index != 9, np.inf)), {}),
    "bad date text": (lambda df: df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d").where(df.index != 3, "31/02/2024")), {}),
    "missing column": (lambda df: df.drop(columns=["quantity"]), {}),
    "future date": (lambda df: df.assign(timestamp=df["timestamp"].where(df.index != 12, pd.Timestamp("2099-01-01"))), {}),
    "huge amount": (lambda df: df.assign(amount=df["amount"].where(df.index != 11, 1e308)), {}),
    "all amounts zero": (lambda df: df.assign(amount=0.0), {}),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_on_disk_validation_gives_the_pandas_message(tmp_path, case):
    corrupt, _ = BAD_CASES[case]
    frame = corrupt(edge_frame())
    _write_parts(frame, tmp_path / "tx")  # the bad rows are in the second file for most cases
    messages = []
    for in_memory in (True, False):
        with pytest.raises(DataValidationError) as err:
            _source(tmp_path / "tx", in_memory=in_memory).load()
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "part-" in messages[1]


def test_bad_row_numbers_are_per_file(tmp_path):
    frame = edge_frame()
    frame.loc[[12, 13], "amount"] = -1.0
    _write_parts(frame, tmp_path / "tx")
    with pytest.raises(DataValidationError) as err:
        _source(tmp_path / "tx", in_memory=False).load()
    assert err.value.file.endswith("part-1.parquet") and err.value.rows == [2, 3] and err.value.examples == [-1.0, -1.0]


def test_engine_choice():
    data = edge_data()
    assert resolve_engine("auto", data.transactions) == "pandas"
    lazy = ParquetTransactions.__new__(ParquetTransactions)
    assert resolve_engine("auto", lazy) == "duckdb" and resolve_engine("spark", lazy) == "spark"
    with pytest.raises(ConfigError, match="features.engine"):
        resolve_engine("polars", data.transactions)


def test_lazy_transactions_refuse_pandas_indexing_with_a_clear_error(tmp_path):
    _write_parts(edge_frame(), tmp_path / "tx")
    data = _source(tmp_path / "tx", in_memory=False).load()
    with pytest.raises(ConfigError, match="data.in_memory=true"):
        data.transactions["timestamp"]


def test_missing_optional_package_names_the_extra():
    with pytest.raises(SeglabError, match=r"seglab\[scale\]"):
        require("seglab_no_such_module", "scale")


def test_strftime_formats_become_spark_patterns():
    assert java_datetime_pattern("%d/%m/%Y %H:%M") == "dd/MM/yyyy HH:mm"
    assert java_datetime_pattern("%Y-%m-%dT%H:%M:%S") == "yyyy-MM-dd'T'HH:mm:ss"
    with pytest.raises(ConfigError):
        java_datetime_pattern("%G")


def test_sql_sums_are_exact_so_row_order_cannot_change_them():
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001 in floating point and 0.6 the other way round: the
    # SQL engines sum money exactly (DECIMAL), so parallel workers adding in any order agree
    rows = edge_frame().iloc[:3].assign(customer_id="x", amount=[0.1, 0.2, 0.3], quantity=[1.0, 2.0, 4.0])
    rows["timestamp"] = [AS_OF - pd.Timedelta(days=d) for d in (3.0, 2.0, 1.0)]
    totals = set()
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        data = edge_data()
        data.transactions = pd.concat([data.transactions, rows.iloc[order]], ignore_index=True)
        data.customers = pd.concat([data.customers, pd.DataFrame({"customer_id": ["x"], "age": [50.0]})],
                                   ignore_index=True)
        got = build_features(data, engine="duckdb", category_weight="amount")
        totals.add((got.loc["x", "monetary_total"], got.loc["x", "gap_std_days"]))
    assert totals == {(0.6, 0.0)}  # one exact answer; two equal gaps have exactly no spread
