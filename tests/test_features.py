"""build_features on tiny hand-made CustomerData, every number computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError
from seglab.features import TRANSACTION_FEATURES, build_features


def _data(**kw) -> CustomerData:
    # customers in a deliberate non-sorted order; c3 has no transactions
    customers = pd.DataFrame({"customer_id": ["c2", "c1", "c3"]})
    tx = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2", "c2"],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-21", "2024-01-21"]
            ),
            "amount": [10.0, 20.0, 30.0, 50.0, 25.0],
            "quantity": [1.0, 2.0, 3.0, 5.0, 1.0],
            "category": ["A", "B", "A", "A", "C"],
        }
    )
    return CustomerData(name="tiny", customers=customers, transactions=tx, **kw)


def test_transaction_features_by_hand():
    df = build_features(_data(), top_categories=2, trend_window_days=15)
    assert list(df.index) == ["c2", "c1", "c3"]
    assert df.index.name == "customer_id"
    assert all(dt == np.float64 for dt in df.dtypes)
    assert list(df.columns) == [*TRANSACTION_FEATURES, "cat_share_A", "cat_share_B", "cat_share_other"]
    # as_of = day after the last transaction = 2024-02-01
    c1, c2, c3 = df.loc["c1"], df.loc["c2"], df.loc["c3"]
    # c1: purchases on Jan 1, 11, 31 for 10, 20, 30
    assert c1["recency_days"] == 1
    assert c1["frequency"] == 3
    assert c1["monetary_total"] == 60
    assert c1["monetary_mean"] == 20
    assert c1["tenure_days"] == 31
    assert c1["gap_mean_days"] == 15  # gaps 10 and 20
    assert c1["gap_std_days"] == pytest.approx(math.sqrt(50))  # sample std of (10, 20)
    assert c1["basket_size"] == 2
    # W = 15: last 15 days hold Jan 31 (30); the 15 before hold Jan 11 (20); Jan 1 is older
    assert c1["spend_trend"] == pytest.approx(math.log(31) - math.log(21))
    assert c1[["cat_share_A", "cat_share_B", "cat_share_other"]].tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    # c2: two rows at one timestamp = one purchase of 75 with 6 items
    assert c2["recency_days"] == 11
    assert c2["frequency"] == 1
    assert c2["monetary_total"] == 75
    assert c2["monetary_mean"] == 75
    assert c2["tenure_days"] == 11
    assert np.isnan(c2["gap_mean_days"]) and np.isnan(c2["gap_std_days"])
    assert c2["basket_size"] == 6
    assert c2["spend_trend"] == pytest.approx(math.log(76))
    # categories A(3) > B(1) = C(1): tie broken by name, so B kept and C pooled as other
    assert c2[["cat_share_A", "cat_share_B", "cat_share_other"]].tolist() == pytest.approx([0.5, 0, 0.5])
    # c3 has no transactions: zeros, recency = the whole window (Jan 1 -> Feb 1), gaps NaN
    assert c3["recency_days"] == 31
    for col in ["frequency", "monetary_total", "monetary_mean", "tenure_days", "basket_size", "spend_trend"]:
        assert c3[col] == 0
    assert np.isnan(c3["gap_mean_days"]) and np.isnan(c3["gap_std_days"])
    assert c3[["cat_share_A", "cat_share_B", "cat_share_other"]].tolist() == [0, 0, 0]
    assert df.attrs["features"]["n_customers_without_transactions"] == 1
    assert df.attrs["features"]["top_categories"] == ["A", "B"]


def test_gap_std_needs_three_purchases_and_reference_date():
    data = _data(reference_date=pd.Timestamp("2024-03-01"))
    df = build_features(data, top_categories=6, trend_window_days=90)
    assert df.loc["c1", "recency_days"] == 30  # Jan 31 -> Mar 1 (2024 is a leap year)
    assert df.loc["c1", "tenure_days"] == 60
    # all categories fit: no "other" column
    assert [c for c in df.columns if c.startswith("cat_share_")] == [
        "cat_share_A",
        "cat_share_B",
        "cat_share_C",
    ]
    assert df.loc["c1", "spend_trend"] == pytest.approx(math.log(61))  # all 60 spent in the last 90 days


def test_category_share_by_amount():
    df = build_features(_data(), top_categories=1, category_weight="amount")
    assert df.loc["c1", "cat_share_A"] == pytest.approx(40 / 60)
    assert df.loc["c2", "cat_share_other"] == pytest.approx(25 / 75)


def test_single_category_gives_no_share_columns():
    data = _data()
    data.transactions["category"] = "unknown"
    df = build_features(data)
    assert not any(c.startswith("cat_share") for c in df.columns)


def test_attributes_numeric_bool_one_hot_and_datetime():
    data = _data()
    data.customers = pd.DataFrame(
        {
            "customer_id": ["c2", "c1", "c3"],
            "age": [30, np.nan, 50],
            "vip": [True, False, True],
            "region": ["N", "S", None],
            "since": pd.to_datetime(["2024-01-22", "2023-12-31", "2024-01-01"]),
        }
    )
    df = build_features(data, max_category_levels=1, max_unique_share=1.0)
    attrs = df.drop(columns=[c for c in df.columns if c in TRANSACTION_FEATURES or c.startswith("cat_share")])
    assert list(attrs.columns) == ["age", "vip", "region=N", "region=other", "since_days"]
    assert attrs["age"].tolist()[0::2] == [30, 50] and np.isnan(attrs.loc["c1", "age"])
    assert attrs["vip"].tolist() == [1, 0, 1]
    # N and S tie (1 each), N first by name; S pooled as other; missing region is all-zero
    assert attrs[["region=N", "region=other"]].to_numpy().tolist() == [[1, 0], [0, 1], [0, 0]]
    assert attrs["since_days"].tolist() == [10, 32, 31]  # days before as_of 2024-02-01


def test_id_like_text_attribute_skipped_and_name_clash_prefixed():
    data = _data()
    data.customers = pd.DataFrame(
        {"customer_id": ["c2", "c1", "c3"], "code": ["a-x", "b-x", "c-x"], "frequency": [1.0, 2.0, 3.0]}
    )
    df = build_features(data, max_category_levels=2)
    assert not any(c.startswith("code") for c in df.columns)
    assert df.attrs["features"]["attributes_skipped"] == ["code"]
    assert df["attr_frequency"].tolist() == [1, 2, 3]


def test_customer_table_only_and_no_features_error():
    data = CustomerData(name="t", customers=pd.DataFrame({"customer_id": [3, 1, 2], "x": [1.0, 2.0, 3.0]}))
    df = build_features(data)  # auto: no transactions -> attributes are the clustering inputs
    assert list(df.columns) == ["x"] and list(df.index) == [3, 1, 2]
    assert df.attrs["features"]["attributes"] == "cluster" and df.attrs["features"]["profile_only"] == []
    for opts in ({"attributes": "none"}, {"attributes": False}, {"attributes": "profile"}):
        with pytest.raises(ConfigError, match="no clustering features"):
            build_features(data, **opts)


def _data_with_attributes() -> CustomerData:
    data = _data()
    data.customers = pd.DataFrame(
        {"customer_id": ["c2", "c1", "c3"], "age": [30.0, 40.0, 50.0], "region": ["N", "S", "N"]}
    )
    return data


ATTRS = ["age", "region=N", "region=S"]


@pytest.mark.parametrize(
    ("opts", "mode", "columns", "profile_only"),
    [
        ({}, "profile", ATTRS, ATTRS),  # auto with transactions: describe, do not cluster
        ({"attributes": "auto"}, "profile", ATTRS, ATTRS),
        ({"attributes": "profile"}, "profile", ATTRS, ATTRS),
        ({"attributes": "cluster"}, "cluster", ATTRS, []),
        ({"attributes": "none"}, "none", [], []),
        ({"attributes": False}, "none", [], []),  # YAML's false
    ],
)
def test_attribute_modes(opts, mode, columns, profile_only):
    df = build_features(_data_with_attributes(), top_categories=2, **opts)
    behaviour = [*TRANSACTION_FEATURES, "cat_share_A", "cat_share_B", "cat_share_other"]
    assert list(df.columns) == behaviour + columns
    assert df.attrs["features"]["attributes"] == mode
    assert df.attrs["features"]["profile_only"] == profile_only
    if columns:
        assert df["region=N"].tolist() == [1, 0, 1]


def test_attribute_modes_without_transactions_in_use():
    # include_transactions=false: the attributes are all there is, so auto clusters on them
    df = build_features(_data_with_attributes(), include_transactions=False)
    assert list(df.columns) == ATTRS
    assert df.attrs["features"]["attributes"] == "cluster" and df.attrs["features"]["profile_only"] == []


@pytest.mark.parametrize(
    ("opts", "match"),
    [
        ({"attributes": "maybe"}, "attributes=maybe: one of auto, cluster, profile, none"),
        ({"attributes": True}, "attributes=true: one of auto"),
    ],
)
def test_bad_attribute_options(opts, match):
    with pytest.raises(ConfigError, match=match):
        build_features(_data_with_attributes(), **opts)


def test_profile_only_attributes_reach_profiles_but_not_the_model_matrix():
    from seglab.features import Preprocessor

    df = build_features(_data_with_attributes(), top_categories=2)
    pre = Preprocessor(log1p="none", outliers="none", corr_threshold=None, drop_constant=False)
    X = pre.fit_transform(df)
    assert pre.feature_names_in_ == list(df.columns[: -len(ATTRS)])
    assert pre.report_["profile_only"] == ATTRS
    assert X.shape == (3, len(df.columns) - len(ATTRS))
    # the frame itself (what segment_profiles gets) still has the attributes in original units
    assert df["age"].tolist() == [30, 40, 50]
    # transform of a frame without attrs (e.g. rebuilt elsewhere) gives the same matrix
    plain = pd.DataFrame(df.to_numpy(), index=df.index, columns=df.columns)
    np.testing.assert_array_equal(pre.transform(plain), X)


def test_transactions_of_unknown_customers_ignored():
    data = _data()
    extra = pd.DataFrame(
        {
            "customer_id": ["zz"],
            "timestamp": pd.to_datetime(["2023-06-01"]),
            "amount": [999.0],
            "quantity": [9.0],
            "category": ["A"],
        }
    )
    data.transactions = pd.concat([data.transactions, extra], ignore_index=True)
    df = build_features(data, top_categories=2, trend_window_days=15)
    assert df.loc["c1", "monetary_total"] == 60
    assert len(df) == 3


@pytest.mark.parametrize(
    "opts",
    [
        {"top_categories": -1},
        {"trend_window_days": 0},
        {"max_category_levels": 0},
        {"category_weight": "spend"},
    ],
)
def test_bad_build_options(opts):
    with pytest.raises(ConfigError):
        build_features(_data(), **opts)


def test_config_file_options_are_accepted():
    from pathlib import Path

    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[1] / "conf" / "features"
    for name in ["default.yaml"]:
        cfg = OmegaConf.merge({"seed": 0}, {"features": OmegaConf.load(conf / name)})
        build = OmegaConf.to_container(cfg.features.build, resolve=True)
        pre = OmegaConf.to_container(cfg.features.preprocess, resolve=True)
        from seglab.features import Preprocessor

        df = build_features(_data(), **build)
        Preprocessor(**pre)
        assert len(df) == 3


def test_vectorised_on_many_transactions():
    rng = np.random.default_rng(0)
    n_c, n_t = 2000, 50_000
    customers = pd.DataFrame({"customer_id": np.arange(n_c)})
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_c, n_t),
            "timestamp": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 24, n_t), unit="h"),
            "amount": rng.gamma(2, 20, n_t),
            "quantity": rng.integers(1, 5, n_t).astype(float),
            "category": rng.choice(list("abcdefghij"), n_t),
        }
    )
    df = build_features(CustomerData(name="r", customers=customers, transactions=tx))
    assert df.shape[0] == n_c
    np.testing.assert_allclose(df["monetary_total"].sum(), tx["amount"].sum())
    shares = df[[c for c in df.columns if c.startswith("cat_share")]].sum(axis=1)
    np.testing.assert_allclose(shares[df["frequency"] > 0], 1.0)


def test_unmatched_customer_ids_are_an_error():
    from seglab.errors import DataValidationError

    data = _data()
    data.customers = pd.DataFrame({"customer_id": [1, 2, 3]})
    with pytest.raises(DataValidationError, match="customer_id"):
        build_features(data)


def test_on_the_synthetic_source():
    from seglab.data.synthetic import SyntheticSource
    from seglab.features import Preprocessor

    data = SyntheticSource(n_customers=300, seed=1).load()
    df = build_features(data)
    assert list(df.index) == list(data.customers["customer_id"])
    assert list(df.columns[: len(TRANSACTION_FEATURES)]) == list(TRANSACTION_FEATURES)
    assert (df["frequency"] >= 1).all()  # every synthetic customer bought
    tx = data.transactions
    by_customer = tx.groupby("customer_id")["amount"].sum().reindex(df.index)
    np.testing.assert_allclose(df["monetary_total"].to_numpy(), by_customer.to_numpy())
    orders = tx.groupby("customer_id")["timestamp"].nunique().reindex(df.index)
    np.testing.assert_array_equal(df["frequency"].to_numpy(), orders.to_numpy())
    X = Preprocessor().fit_transform(df)
    assert X.shape[0] == 300 and np.isfinite(X).all()
