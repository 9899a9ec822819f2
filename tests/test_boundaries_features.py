"""Every threshold of ``build_features`` at, just below and just above its boundary: the
spend-trend windows, top categories (ties, exactly ``top``, a category called "other"), the
one-hot level cap, ``max_unique_share``, option ranges, and what ``attrs["features"]`` records."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError, DataValidationError
from seglab.features import build_features

AS_OF = pd.Timestamp("2024-07-01")


def one_customer(days_ago: list[float], amounts: list[float], categories=None, quantity=None) -> CustomerData:
    """Customer "x" with purchases ``days_ago`` before ``AS_OF`` (the reference date)."""
    n = len(days_ago)
    tx = pd.DataFrame({
        "customer_id": ["x"] * n,
        "timestamp": [AS_OF - pd.Timedelta(days=d) for d in days_ago],
        "amount": [float(a) for a in amounts],
        "quantity": [1.0] * n if quantity is None else [float(q) for q in quantity],
        "category": ["k"] * n if categories is None else categories,
    })
    return CustomerData(name="b", customers=pd.DataFrame({"customer_id": ["x"]}), transactions=tx,
                        reference_date=AS_OF)


def trend(days_ago, amounts, window=30.0) -> float:
    return float(build_features(one_customer(days_ago, amounts), trend_window_days=window).loc["x", "spend_trend"])


@pytest.mark.parametrize("days,recent,past", [
    (29.99, 10.0, 0.0),   # just inside the recent window
    (30.0, 0.0, 10.0),    # exactly W old: the past window (recent is (as_of - W, as_of])
    (30.01, 0.0, 10.0),
    (59.99, 0.0, 10.0),   # just inside the past window
    (60.0, 0.0, 0.0),     # exactly 2W old: in neither window
    (0.0, 10.0, 0.0),     # bought on the reference date itself
])
def test_spend_trend_window_boundaries(days, recent, past):
    # a second, old purchase (200 days) never counts in either window
    got = trend([days, 200.0], [10.0, 1000.0])
    assert got == pytest.approx(math.log1p(recent) - math.log1p(past))


def test_spend_trend_adds_up_each_window():
    got = trend([1, 10, 29, 31, 45, 59, 61], [1, 2, 3, 4, 5, 6, 100])
    assert got == pytest.approx(math.log1p(6) - math.log1p(15))


def test_spend_trend_window_is_the_option():
    assert trend([40.0], [9.0], window=30) == pytest.approx(-math.log(10))
    assert trend([40.0], [9.0], window=50) == pytest.approx(math.log(10))


def test_rfm_of_one_customer_in_days():
    df = build_features(one_customer([2.5, 12.5, 32.5], [10.0, 20.0, 60.0], quantity=[1, 2, 6]))
    x = df.loc["x"]
    assert x["recency_days"] == 2.5 and x["tenure_days"] == 32.5
    assert x["frequency"] == 3 and x["monetary_total"] == 90 and x["monetary_mean"] == 30
    assert x["gap_mean_days"] == 15 and x["gap_std_days"] == pytest.approx(math.sqrt(50))
    assert x["basket_size"] == 3


def test_two_purchases_give_a_gap_but_no_gap_spread():
    x = build_features(one_customer([1.0, 5.0], [1.0, 1.0])).loc["x"]
    assert x["gap_mean_days"] == 4 and np.isnan(x["gap_std_days"])


def _categories(counts: dict[str, int]) -> CustomerData:
    cats = [c for c, n in counts.items() for _ in range(n)]
    return one_customer([float(i + 1) for i in range(len(cats))], [1.0] * len(cats), categories=cats)


def test_exactly_top_categories_gives_no_other_column():
    df = build_features(_categories({"a": 3, "b": 2, "c": 1}), top_categories=3)
    assert [c for c in df.columns if c.startswith("cat_")] == ["cat_share_a", "cat_share_b", "cat_share_c"]
    assert df.attrs["features"]["n_categories_pooled_as_other"] == 0


def test_one_more_category_than_top_is_pooled():
    df = build_features(_categories({"a": 3, "b": 2, "c": 1}), top_categories=2)
    assert [c for c in df.columns if c.startswith("cat_")] == ["cat_share_a", "cat_share_b", "cat_share_other"]
    assert df.loc["x", "cat_share_other"] == pytest.approx(1 / 6)
    assert df.attrs["features"]["n_categories_pooled_as_other"] == 1
    assert df.attrs["features"]["top_categories"] == ["a", "b"]


def test_ties_in_category_counts_go_by_name():
    df = build_features(_categories({"zeta": 2, "beta": 2, "alpha": 1}), top_categories=1)
    assert df.attrs["features"]["top_categories"] == ["beta"]


def test_a_category_called_other_does_not_collide_with_the_pool():
    df = build_features(_categories({"other": 3, "b": 2, "c": 1}), top_categories=1)
    assert [c for c in df.columns if c.startswith("cat_")] == ["cat_share_other", "cat_share_other_"]
    assert df.loc["x", "cat_share_other"] == pytest.approx(0.5)
    assert df.loc["x", "cat_share_other_"] == pytest.approx(0.5)


def test_top_categories_zero_gives_no_share_columns():
    df = build_features(_categories({"a": 1, "b": 1}), top_categories=0)
    assert not any(c.startswith("cat_") for c in df.columns)
    assert df.attrs["features"]["top_categories"] == []


def test_amount_weighted_shares_without_spend_are_zero_not_nan():
    data = one_customer([1.0, 2.0], [0.0, 0.0], categories=["a", "b"])
    df = build_features(data, category_weight="amount")
    assert df.loc["x", ["cat_share_a", "cat_share_b"]].tolist() == [0.0, 0.0]


def _with_attribute(values: list) -> CustomerData:
    n = len(values)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "tag": values,
                              "n": np.arange(n, dtype=float)})
    return CustomerData(name="a", customers=customers)


def tags(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("tag")]


def test_max_unique_share_boundary():
    # 4 customers, 3 distinct tags (> max_category_levels=2): 3 > 0.5 * 4, skipped
    values = ["p", "q", "r", "p"]
    df = build_features(_with_attribute(values), max_category_levels=2, max_unique_share=0.5)
    assert tags(df) == [] and df.attrs["features"]["attributes_skipped"] == ["tag"]
    # exactly at the share (3 == 0.75 * 4): kept, capped at two levels plus other
    df = build_features(_with_attribute(values), max_category_levels=2, max_unique_share=0.75)
    assert tags(df) == ["tag=p", "tag=q", "tag=other"]
    assert df["tag=other"].tolist() == [0, 0, 1, 0]
    assert df.attrs["features"]["attributes_skipped"] == []
    assert df.attrs["features"]["attributes_one_hot"] == {"tag": ["tag=p", "tag=q", "tag=other"]}


def test_many_distinct_values_within_the_level_cap_are_kept():
    # every value distinct (share 1.0 > 0.5) but only 3 levels <= max_category_levels: a category
    df = build_features(_with_attribute(["p", "q", "r"]), max_category_levels=3, max_unique_share=0.5)
    assert tags(df) == ["tag=p", "tag=q", "tag=r"]


def test_exactly_max_levels_gives_no_other_level():
    df = build_features(_with_attribute(["p", "q", "p", None]), max_category_levels=2)
    assert tags(df) == ["tag=p", "tag=q"]
    assert df[tags(df)].to_numpy().tolist() == [[1, 0], [0, 1], [1, 0], [0, 0]]


@pytest.mark.parametrize("opts,match", [
    ({"top_categories": 1.5}, "top_categories"),
    ({"top_categories": -1}, "top_categories"),
    ({"max_category_levels": 0}, "max_category_levels"),
    ({"max_category_levels": 2.0}, "max_category_levels"),
    ({"trend_window_days": 0}, "trend_window_days"),
    ({"trend_window_days": -3}, "trend_window_days"),
    ({"trend_window_days": "90"}, "trend_window_days"),
    ({"max_unique_share": 0}, "max_unique_share"),
    ({"max_unique_share": 1.01}, "max_unique_share"),
    ({"max_unique_share": "half"}, "max_unique_share"),
    ({"category_weight": "spend"}, "category_weight"),
])
def test_option_ranges(opts, match):
    with pytest.raises(ConfigError, match=match):
        build_features(one_customer([1.0], [1.0]), **opts)


@pytest.mark.parametrize("opts", [{"top_categories": 0}, {"max_category_levels": 1}, {"trend_window_days": 0.5},
                                  {"max_unique_share": 1}, {"max_unique_share": 1.0}, {"category_weight": "amount"}])
def test_option_limits_that_are_allowed(opts):
    assert len(build_features(one_customer([1.0], [1.0]), **opts)) == 1


@pytest.mark.parametrize("value", ["false", "off", "null", "None", None])
def test_attribute_mode_spellings_of_none(value):
    data = _with_attribute(["p", "q"])
    data.transactions = one_customer([1.0], [1.0]).transactions.assign(customer_id="c0")
    df = build_features(data, attributes=value)
    assert df.attrs["features"]["attributes"] == "none"
    assert not any(c.startswith("tag") for c in df.columns)


def test_attribute_mode_is_case_insensitive():
    data = _with_attribute(["p", "q"])
    assert build_features(data, attributes="CLUSTER").attrs["features"]["attributes"] == "cluster"


@pytest.mark.parametrize("opts,why", [
    ({"attributes": "none"}, "no transactions and features.build.attributes is none"),
    ({"attributes": "profile"}, "is profile (attributes describe segments only)"),
])
def test_no_features_error_says_why(opts, why):
    with pytest.raises(ConfigError) as err:
        build_features(_with_attribute(["p", "q"]), **opts)
    assert why in str(err.value) and "'a'" in str(err.value)


def test_no_attribute_columns_error():
    data = CustomerData(name="a", customers=pd.DataFrame({"customer_id": ["c0", "c1"]}))
    with pytest.raises(ConfigError, match="no transactions and no attribute columns"):
        build_features(data)


def test_transactions_of_other_ids_only_is_a_validation_error():
    data = one_customer([1.0], [1.0])
    data.customers = pd.DataFrame({"customer_id": ["y"]})
    with pytest.raises(DataValidationError, match="no transaction belongs to a customer") as err:
        build_features(data)
    assert err.value.column == "customer_id"


def test_info_records_what_was_decided():
    data = one_customer([1.0, 2.0], [1.0, 1.0], categories=["a", "b"])
    data.customers = pd.DataFrame({"customer_id": ["x", "idle"]})
    info = build_features(data).attrs["features"]
    assert info["as_of"] == "2024-07-01"
    assert info["n_transactions_used"] == 2
    assert info["n_customers_without_transactions"] == 1
    assert info["attributes"] == "profile" and info["profile_only"] == []
    data.reference_date = AS_OF + pd.Timedelta(hours=6)
    assert build_features(data).attrs["features"]["as_of"] == "2024-07-01 06:00:00"


def test_customer_without_transactions_is_as_lapsed_as_the_window():
    data = one_customer([3.0, 40.0], [5.0, 5.0])
    data.customers = pd.DataFrame({"customer_id": ["idle", "x"]})
    df = build_features(data)
    assert list(df.index) == ["idle", "x"]
    assert df.loc["idle", "recency_days"] == 40.0  # as_of minus the first transaction in the data
    assert df.loc["idle", ["frequency", "monetary_total", "spend_trend"]].tolist() == [0, 0, 0]


@pytest.mark.parametrize("opts,message", [
    ({"top_categories": -1}, "features.build.top_categories=-1: an integer >= 0"),
    ({"max_category_levels": 0}, "features.build.max_category_levels=0: an integer >= 1"),
    ({"trend_window_days": 0}, "features.build.trend_window_days=0: a number > 0"),
    ({"max_unique_share": 0}, "features.build.max_unique_share=0: a number in (0, 1]"),
    ({"category_weight": "spend"}, "features.build.category_weight=spend: one of count, amount"),
    ({"attributes": "maybe"}, "features.build.attributes=maybe: one of auto, cluster, profile, none"),
    ({"top_categories": True}, "features.build.top_categories=true: an integer >= 0"),
    ({"top_categories": -1, "category_weight": "spend"},
     "features.build.top_categories=-1: an integer >= 0; features.build.category_weight=spend: one of count, amount"),
])
def test_option_errors_word_for_word(opts, message):
    with pytest.raises(ConfigError) as err:
        build_features(one_customer([1.0], [1.0]), **opts)
    assert str(err.value) == message


def test_no_features_error_word_for_word():
    with pytest.raises(ConfigError) as err:
        build_features(_with_attribute(["p", "q"]), attributes="none")
    assert str(err.value) == (
        "no clustering features for dataset 'a': no transactions and features.build.attributes is none "
        "(set features.build.attributes=auto or cluster, or use a source with transactions)")


def test_unknown_customers_error_names_the_id_types():
    data = one_customer([1.0], [1.0])
    data.customers = pd.DataFrame({"customer_id": [7]})
    with pytest.raises(DataValidationError) as err:
        build_features(data)
    assert str(err.value).startswith("no transaction belongs to a customer of the customers table "
                                     "(customer_id types: transactions ")
    assert "customers int64) | file: <CustomerData.transactions> | column: 'customer_id'" in str(err.value)


def test_skipped_attributes_are_logged(caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="seglab.features.build"):
        build_features(_with_attribute(["p", "q", "r", "s"]), max_category_levels=2, max_unique_share=0.5)
    assert "features: skipped id-like text attributes (too many distinct values): ['tag']" in caplog.text


def test_boolean_datetime_and_clashing_attributes():
    data = one_customer([1.0, 3.0], [4.0, 6.0])
    data.customers = pd.DataFrame({"customer_id": ["x"], "vip": [True], "joined": [AS_OF - pd.Timedelta(days=10)],
                                   "frequency": [9.0]})
    df = build_features(data, attributes="cluster")
    assert df.loc["x", "vip"] == 1.0 and df.loc["x", "joined_days"] == 10.0
    assert df.loc["x", "attr_frequency"] == 9.0 and df.loc["x", "frequency"] == 2.0
    assert df.attrs["features"]["profile_only"] == []
    df = build_features(data)  # auto with transactions: the same columns, profile-only
    assert df.attrs["features"]["profile_only"] == ["vip", "joined_days", "attr_frequency"]


def test_category_columns_follow_frequency_not_row_order_and_survive_absent_categories():
    # rows: b first, then a twice; an unknown customer holds the only "c" rows
    data = one_customer([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], categories=["b", "a", "a"])
    extra = data.transactions.iloc[:2].assign(customer_id="ghost", category="c")
    data.transactions = pd.concat([data.transactions, extra, extra.assign(timestamp=AS_OF)], ignore_index=True)
    df = build_features(data, top_categories=3)
    assert df.attrs["features"]["top_categories"] == ["c", "a", "b"]
    assert [c for c in df.columns if c.startswith("cat_")] == ["cat_share_c", "cat_share_a", "cat_share_b"]
    assert df.loc["x", ["cat_share_c", "cat_share_a", "cat_share_b"]].tolist() == pytest.approx([0, 2 / 3, 1 / 3])


def test_amount_shares_of_small_spends():
    data = one_customer([1.0, 2.0], [0.2, 0.3], categories=["a", "b"])
    df = build_features(data, category_weight="amount")
    assert df.loc["x", ["cat_share_a", "cat_share_b"]].tolist() == pytest.approx([0.4, 0.6])


def test_categorical_customer_ids_do_not_invent_purchases():
    data = one_customer([1.0, 2.0, 3.0], [5.0, 7.0, 1.0])
    cats = ["x", "y", "z"]
    data.transactions["customer_id"] = pd.Categorical(["x", "x", "y"], categories=cats)
    data.customers = pd.DataFrame({"customer_id": pd.Categorical(["x", "y"], categories=cats)})
    df = build_features(data)
    # no (customer, timestamp) pairs made up from the categories: x bought twice, y once
    assert df["frequency"].tolist() == [2, 1] and df["monetary_total"].tolist() == [12, 1]
    assert df["basket_size"].tolist() == [1, 1]


def test_precomputed_features_are_the_clustering_inputs():
    customers = pd.DataFrame({"customer_id": ["b", "a"], "age": [30, 40]})
    feats = pd.DataFrame({"f1": [1, 2], "f2": [0.5, 0.25]})
    df = build_features(CustomerData(name="p", customers=customers, features=feats), attributes="cluster")
    assert list(df.index) == ["b", "a"] and list(df.columns) == ["f1", "f2"]
    assert df["f1"].dtype == "float64" and df.loc["a", "f2"] == 0.25
    info = df.attrs["features"]
    assert info["precomputed"] is True and info["attributes"] == "none" and info["profile_only"] == []


def test_defaults_six_categories_ninety_day_window_ten_levels_pandas_engine():
    cats = [f"k{i}" for i in range(8)]
    data = one_customer([float(i + 1) for i in range(8)] + [89.5, 90.0], [1.0] * 8 + [3.0, 5.0],
                        categories=cats + ["k0", "k0"])
    df = build_features(data)
    assert [c for c in df.columns if c.startswith("cat_")] == [f"cat_share_k{i}" for i in range(6)] + [
        "cat_share_other"]
    # W = 90: the purchase 89.5 days old is recent, the one exactly 90 days old is past
    assert df.loc["x", "spend_trend"] == pytest.approx(math.log1p(8 + 3) - math.log1p(5))
    assert df.attrs["features"]["engine"] == "pandas"
    levels = _with_attribute([f"v{i:02d}" for i in range(11)] * 3)
    df = build_features(levels, max_unique_share=1.0)
    assert tags(df) == [f"tag=v{i:02d}" for i in range(10)] + ["tag=other"]
