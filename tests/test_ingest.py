"""Commerce data as it comes (issue 15): the generated retail log with every quirk, read with the
documented options, counts exactly what was planted, from CSV, gzip, zip, Excel, a folder of
monthly files or a glob; each policy's error names the option that handles it; netting follows
its rule on hand-made cases; the return features are what their definitions say."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from requirements import require_module
from seglab.data.lines import LineSpec, parse_lines, settle_returns
from seglab.data.retail_log import DATE_FORMAT, retail_log, write_retail_log
from seglab.data.transactions import TransactionsSource
from seglab.errors import DataValidationError
from seglab.features import build_features

RETAIL = dict(customer_id="CustomerID", timestamp="InvoiceDate", quantity="Quantity", unit_price="UnitPrice",
              invoice="InvoiceNo", item="StockCode", missing_customer="drop", returns="net", nonpositive_price="drop")


def load(path, **kw) -> object:
    return TransactionsSource(path=str(path), **{**RETAIL, **kw}).load()


def assert_planted(data, planted: dict) -> None:
    got = {k: data.meta.get(k) for k in planted}
    assert got == planted


@pytest.fixture(scope="module")
def small_log(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retail")
    planted = write_retail_log(folder / "retail.csv", n_lines=3000, seed=3)
    return folder, planted


def test_generated_log_counts_match_what_was_planted(small_log):
    folder, planted = small_log
    data = load(folder / "retail.csv", date_format=DATE_FORMAT)
    assert_planted(data, planted)
    assert planted["rows_without_customer_dropped"] == 750 and planted["transactions_duplicates_dropped"] == 30
    assert (data.transactions["amount"] > 0).all() and data.returns["amount"].gt(0).all()
    assert set(data.returns["kind"]) == {"cancellation", "return"}


@pytest.mark.parametrize("suffix", [".csv.gz", ".zip"])
def test_compressed_csv_reads_the_same(small_log, tmp_path, suffix):
    folder, planted = small_log
    frame = pd.read_csv(folder / "retail.csv", dtype={"CustomerID": str})
    path = tmp_path / f"retail{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("retail.csv", frame.to_csv(index=False))
    else:
        frame.to_csv(path, index=False)
    assert_planted(load(path, date_format=DATE_FORMAT), planted)


def test_monthly_files_in_a_folder_or_a_glob_read_as_one_log(small_log, tmp_path):
    folder, planted = small_log
    frame = pd.read_csv(folder / "retail.csv", dtype={"CustomerID": str})
    month = pd.to_datetime(frame["InvoiceDate"], format=DATE_FORMAT).dt.strftime("%Y-%m")
    (tmp_path / "monthly").mkdir()
    for m, part in frame.groupby(month):
        part.to_csv(tmp_path / "monthly" / f"retail-{m}.csv", index=False)
    whole = load(folder / "retail.csv", date_format=DATE_FORMAT)
    for path in (tmp_path / "monthly", tmp_path / "monthly" / "retail-2011-*.csv"):
        data = load(path, date_format=DATE_FORMAT)
        if "*" in str(path):  # the glob leaves December 2010 out
            assert data.meta["rows_read"] < planted["rows_read"]
            continue
        assert_planted(data, planted)
        assert data.meta["n_files"] == 13
        pd.testing.assert_frame_equal(build_features(data), build_features(whole))


def test_excel_copy_reads_the_same_and_the_sheet_is_chosen(small_log, tmp_path):
    require_module("python_calamine", 'pip install "seglab[excel]"')
    require_module("openpyxl", 'pip install "seglab[excel]"')
    folder, planted = small_log
    planted_x = write_retail_log(tmp_path / "retail.xlsx", n_lines=3000, seed=3)
    assert planted_x == planted
    data = load(tmp_path / "retail.xlsx", sheet="Online Retail")
    assert_planted(data, planted)
    csv = load(folder / "retail.csv", date_format=DATE_FORMAT)
    pd.testing.assert_frame_equal(data.transactions, csv.transactions)
    with pytest.raises(DataValidationError, match=r"has no sheet 'Sheet9'; sheets: \['Online Retail'\]"):
        load(tmp_path / "retail.xlsx", sheet="Sheet9")
    frame = pd.read_excel(tmp_path / "retail.xlsx", dtype={"CustomerID": str}, engine="calamine")  # two halves
    (tmp_path / "halves").mkdir()
    cut = frame["InvoiceDate"] < pd.Timestamp("2011-06-01")
    frame[cut].to_excel(tmp_path / "halves" / "a.xlsx", index=False)
    frame[~cut].to_excel(tmp_path / "halves" / "b.xlsx", index=False)
    assert_planted(load(tmp_path / "halves"), planted)


def test_old_xls_files_are_read_too(tmp_path):
    require_module("python_calamine", 'pip install "seglab[excel]"')
    require_module("xlwt", 'writing the .xls test file: pip install -e ".[dev]"')
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("tx")
    for j, name in enumerate(["customer_id", "timestamp", "amount"]):
        sheet.write(0, j, name)
    for i, row in enumerate([("a", "2024-01-02", 3.5), ("b", "2024-02-03", 4.0), ("a", "2024-03-04", 1.25)], 1):
        for j, v in enumerate(row):
            sheet.write(i, j, v)
    book.save(str(tmp_path / "tx.xls"))
    data = TransactionsSource(path=str(tmp_path / "tx.xls")).load()
    assert data.transactions["amount"].tolist() == [3.5, 4.0, 1.25] and data.n_customers == 2


def test_a_missing_excel_reader_names_the_extra(tmp_path, monkeypatch):
    import seglab.data.sql_engines as engines
    from seglab.errors import SeglabError

    (tmp_path / "tx.xlsx").write_bytes(b"not really excel")
    real = engines.importlib.import_module
    monkeypatch.setattr(engines.importlib, "import_module",
                        lambda m: (_ for _ in ()).throw(ImportError(m)) if m == "python_calamine" else real(m))
    with pytest.raises(SeglabError, match=r'pip install "seglab\[excel\]"'):
        TransactionsSource(path=str(tmp_path / "tx.xlsx")).load()


@pytest.mark.parametrize("policy,option", [
    ({"missing_customer": "error"}, "data.missing_customer=drop"),
    ({"nonpositive_price": "error"}, "data.nonpositive_price=drop"),
    ({"returns": "error"}, "data.returns=net (subtract returns from purchases) or data.returns=drop"),
])
def test_each_policy_error_names_the_option_that_handles_it(small_log, policy, option):
    folder, _ = small_log
    with pytest.raises(DataValidationError) as err:
        load(folder / "retail.csv", date_format=DATE_FORMAT, **policy)
    assert err.value.hint.startswith(option) and str(err.value).endswith(err.value.hint)
    assert err.value.file.endswith("retail.csv") and err.value.rows


def test_drop_instead_of_net_drops_every_return_row(small_log):
    folder, planted = small_log
    data = load(folder / "retail.csv", date_format=DATE_FORMAT, returns="drop")
    assert data.meta["returns_dropped"] == planted["cancellation_rows"] + planted["return_rows"]
    assert data.returns is None and "return_rate" not in build_features(data).columns


def _lines(rows, **spec) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    raw = pd.DataFrame(rows, columns=["c", "t", "amount", "item", "inv"])
    spec = LineSpec(customer_id="c", timestamp="t", amount="amount", item="item", invoice="inv", returns="net", **spec)
    meta: dict = {}
    tx, ret = settle_returns(parse_lines(raw, "f.csv", spec, meta), spec, meta)
    return tx, ret, meta


def test_netting_takes_the_same_item_latest_first_then_other_spend_never_below_zero():
    tx, ret, meta = _lines([
        ("a", "2024-01-01", 10.0, "x", "1"), ("a", "2024-02-01", 6.0, "x", "2"), ("a", "2024-03-01", 5.0, "y", "3"),
        ("a", "2024-04-01", -9.0, "x", "C4"),   # item x: 6 from Feb, then 3 from Jan
        ("a", "2024-04-02", -4.0, "z", "5"),    # never bought z: 4 from the remaining spend, latest first (y)
        ("b", "2024-01-05", 2.0, "x", "6"), ("b", "2024-01-06", -7.0, "x", "C7"),  # returns 7 of 2 bought: 5 unmatched
        ("c", "2024-01-07", -1.0, "x", "C8"),   # no purchase at all
    ])
    got = {(r.customer_id, str(r.timestamp.date())): r.amount for r in tx.itertuples()}
    assert got == {("a", "2024-01-01"): 7.0, ("a", "2024-03-01"): 1.0}  # Feb line fully returned, b's line too
    assert meta["returns_netted_item"] == 2 and meta["returns_netted_spend"] == 1 and meta["returns_unmatched"] == 1
    assert meta["purchase_rows_fully_returned"] == 2 and meta["returned_value_unmatched"] == 5.0
    assert ret.groupby("customer_id")["amount"].sum().to_dict() == {"a": 13.0, "b": 2.0}
    assert list(ret["kind"]) == ["cancellation", "return", "cancellation"]


def test_return_features_follow_their_definitions():
    from seglab.data.schema import CustomerData

    tx, ret, _ = _lines([
        ("a", "2024-01-01", 10.0, "x", "1"), ("a", "2024-02-01", 30.0, "y", "2"),
        ("a", "2024-03-01", -10.0, "x", "C3"),
        ("b", "2024-01-05", 5.0, "x", "4"),
    ])
    data = CustomerData(name="t", customers=pd.DataFrame({"customer_id": ["a", "b", "n"]}), transactions=tx,
                        returns=ret, reference_date=pd.Timestamp("2024-06-01"))
    for engine in ("pandas", "duckdb"):
        f = build_features(data, engine=engine)
        assert f["return_rate"].tolist() == [0.5, 0.0, 0.0]  # a: 1 return event, 1 purchase left
        assert f["return_value_share"].tolist() == [0.25, 0.0, 0.0]  # 10 of 40 bought
        assert f["cancellations"].tolist() == [1.0, 0.0, 0.0]


def test_unit_price_needs_a_quantity_and_bad_policies_are_config_errors():
    from seglab.errors import ConfigError

    with pytest.raises(ConfigError, match="data.unit_price needs data.quantity"):
        LineSpec(unit_price="p")
    with pytest.raises(ConfigError, match=r"data.returns must be one of error, drop, net, got 'keep'"):
        LineSpec(returns="keep")


def test_on_disk_policies_and_netting_equal_the_pandas_path(tmp_path):
    """The DuckDB path runs the same policies and netting as SQL: counts and features agree."""
    frame, planted = retail_log(4000, seed=7)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], format=DATE_FORMAT)
    (tmp_path / "tx").mkdir()
    frame.iloc[:2500].to_parquet(tmp_path / "tx" / "part-0.parquet", index=False)
    frame.iloc[2500:].to_parquet(tmp_path / "tx" / "part-1.parquet", index=False)
    eager, lazy = (load(tmp_path / "tx", in_memory=m) for m in (True, False))
    assert_planted(lazy, planted)
    for key in ("purchase_rows_fully_returned", "returned_value_unmatched", "returns_dropped"):
        assert lazy.meta.get(key) == pytest.approx(eager.meta.get(key))
    assert list(lazy.customers["customer_id"]) == list(eager.customers["customer_id"])
    expected, got = build_features(eager), build_features(lazy)
    assert list(got.columns) == list(expected.columns) and "return_value_share" in got.columns
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-9)
    for policy in ({"missing_customer": "error"}, {"returns": "error"}):  # same first error, same words
        messages = []
        for in_memory in (True, False):
            with pytest.raises(DataValidationError) as err:
                load(tmp_path / "tx", in_memory=in_memory, **policy)
            messages.append(str(err.value))
        assert messages[0] == messages[1]


# --- the bar: end to end through train.run ------------------------------------------------------
def _compose(overrides, log_dir):
    from bad_input_corpus import compose

    return compose(["model=kmeans", "text=none", "logger=none", "explain.enabled=false", *overrides], log_dir)


def test_the_40000_line_retail_log_runs_end_to_end_with_the_documented_options(tmp_path):
    """data=retail (conf/data/retail.yaml) on a 40,000-line generated log: metrics.json's data/*
    counts are exactly what the generator planted."""
    import json

    from seglab.data.counts import COUNTERS
    from seglab.train import run

    planted = write_retail_log(tmp_path / "retail.csv", n_lines=40_000, seed=0)
    result = run(_compose(["data=retail", f"data.path={tmp_path / 'retail.csv'}"], tmp_path / "logs"),
                 run_dir=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"]
    for key, n in planted.items():
        assert metrics[f"data/{COUNTERS[key].metric}"] == n, key
    assert metrics["data/n_customers"] == 663 and len(result.labels) == 663
    assert any("n_rows_without_customer_dropped" in w for w in result.warnings)


@pytest.mark.slow
def test_the_retail_log_as_excel_runs_end_to_end(tmp_path):
    require_module("openpyxl", 'pip install "seglab[excel]"')
    from seglab.train import run

    planted = write_retail_log(tmp_path / "retail.xlsx", n_lines=40_000, seed=0)
    result = run(_compose(["data=retail", f"data.path={tmp_path / 'retail.xlsx'}"], tmp_path / "logs"),
                 run_dir=tmp_path / "run")
    assert result.metrics["data/n_rows_without_customer_dropped"] == planted["rows_without_customer_dropped"]
    assert result.metrics["data/n_returns_netted_item"] == planted["returns_netted_item"]


@pytest.mark.shared_data
def test_olist_joins_on_the_person_and_counts_what_it_drops(shared_data_dir):
    from seglab.data.olist import OlistSource

    data = OlistSource(path=str(shared_data_dir / "olist_sample_4k")).load()
    assert data.n_customers == 3958 and data.customers["customer_id"].is_unique
    assert data.meta["returns_dropped"] == 17 and data.meta["orders_without_items"] == 23
    assert data.reviews["rating"].between(1, 5).all() and len(data.reviews) == 1701
    assert (data.transactions.groupby("customer_id")["timestamp"].nunique() > 1).sum() == 2  # 2 repeat buyers
    assert {"customer_state", "payment_type", "payment_installments_mean", "review_score_mean"} <= set(data.customers)
    assert data.transactions["category"].str.contains("_").any() and "bed_bath_table" in set(data.transactions["category"])


@pytest.mark.slow
@pytest.mark.shared_data
def test_train_data_olist_runs_end_to_end_with_text(shared_data_dir, tmp_path, monkeypatch):
    from seglab.train import run

    monkeypatch.setenv("SEGLAB_SHARED_DATA", str(shared_data_dir))
    from bad_input_corpus import compose

    cfg = compose(["data=olist", "logger=none", "num_threads=1"], tmp_path / "logs")
    result = run(cfg, run_dir=tmp_path / "run")
    assert result.metrics["data/n_customers"] == 3958 and result.metrics["data/n_returns_dropped"] == 17
    assert (tmp_path / "run" / "metrics.json").exists() and result.extra["config"].text.name == "minilm"
