"""Properties that must hold for every input, checked on inputs hypothesis generates: feature
engineering and the clustering metrics do not depend on row order or label names, scale the way
their definitions say, and give no NaN for finite input except where documented (the gaps of
customers with fewer than 2 or 3 purchases); return netting never creates or loses money."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglab.data.lines import LineSpec, parse_lines, settle_returns
from seglab.data.schema import CustomerData
from seglab.evaluate import evaluate_clustering
from seglab.features import build_features

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = pd.Timestamp("2025-01-01")
MONEY_FEATURES = {"monetary_total", "monetary_mean"}
SCALE_FREE = {"recency_days", "frequency", "tenure_days", "gap_mean_days", "gap_std_days", "basket_size"}

row = st.tuples(st.integers(0, 5), st.integers(0, 720), st.integers(0, 86_399),
                st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False), st.integers(0, 50), st.sampled_from("abcd"))


@st.composite
def datasets(draw):
    rows = draw(st.lists(row, min_size=1, max_size=40))
    tx = pd.DataFrame({
        "customer_id": [f"c{r[0]}" for r in rows],
        "timestamp": [AS_OF - pd.Timedelta(days=r[1] + 1) + pd.Timedelta(seconds=r[2]) for r in rows],
        "amount": [round(r[3], 2) for r in rows], "quantity": [float(r[4]) for r in rows],
        "category": [r[5] for r in rows]}).astype({"timestamp": "datetime64[ns]"})
    ids = sorted(set(tx["customer_id"]) | {"c_none"})  # one customer without transactions
    customers = pd.DataFrame({"customer_id": ids})
    return CustomerData(name="h", customers=customers, transactions=tx, reference_date=AS_OF)


def _features(data: CustomerData) -> pd.DataFrame:
    return build_features(data, engine="pandas", top_categories=2)


@SETTINGS
@given(datasets(), st.randoms(use_true_random=False))
def test_features_do_not_depend_on_row_or_customer_order(data, rnd):
    expected = _features(data)
    order = list(range(len(data.transactions)))
    rnd.shuffle(order)
    cust = list(range(len(data.customers)))
    rnd.shuffle(cust)
    shuffled = CustomerData(name="h", customers=data.customers.iloc[cust].reset_index(drop=True),
                            transactions=data.transactions.iloc[order].reset_index(drop=True), reference_date=AS_OF)
    got = _features(shuffled).loc[expected.index]
    pd.testing.assert_frame_equal(got[expected.columns], expected, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(datasets(), st.integers(-3, 10))
def test_money_features_scale_with_the_money_and_the_others_do_not(data, power):
    factor = 2.0 ** power  # a power of two scales floats exactly
    expected = _features(data)
    scaled = CustomerData(name="h", customers=data.customers, reference_date=AS_OF,
                          transactions=data.transactions.assign(amount=data.transactions["amount"] * factor))
    got = _features(scaled)
    for col in expected.columns:
        if col in MONEY_FEATURES:
            np.testing.assert_allclose(got[col], expected[col] * factor, rtol=1e-12, err_msg=col)
        elif col in SCALE_FREE or col.startswith("cat_share_"):
            np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, err_msg=col)


@SETTINGS
@given(datasets())
def test_finite_input_gives_finite_features_except_the_documented_gaps(data):
    f = _features(data)
    purchases = data.transactions.groupby("customer_id")["timestamp"].nunique().reindex(f.index).fillna(0)
    for col in f.columns:
        nan = f[col].isna()
        if col == "gap_mean_days":
            assert (nan == (purchases < 2)).all()
        elif col == "gap_std_days":
            assert (nan == (purchases < 3)).all()
        else:
            assert np.isfinite(f[col]).all(), col


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 300), st.floats(-500, 500, allow_nan=False),
                          st.sampled_from("xyz")), min_size=1, max_size=30))
def test_netting_conserves_money_and_never_goes_below_zero(lines):
    raw = pd.DataFrame({"c": [r[0] for r in lines],
                        "t": [str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=r[1])).date()) for r in lines],
                        "amount": [round(r[2], 2) for r in lines], "item": [r[3] for r in lines]})
    spec = LineSpec(customer_id="c", timestamp="t", amount="amount", item="item", returns="net")
    meta: dict = {}
    parsed = parse_lines(raw, "f.csv", spec, meta)
    tx, ret = settle_returns(parsed, spec, meta)
    bought = parsed.loc[parsed["kind"] == "purchase", "amount"].sum()
    asked = parsed.loc[parsed["kind"] != "purchase", "amount"].abs().sum()
    assert (tx["amount"] >= 0).all() and (ret["amount"] >= 0).all()
    assert tx["amount"].sum() + ret["amount"].sum() == pytest.approx(bought, abs=1e-6)  # net + netted = gross
    netted_or_not = ret["amount"].sum() + meta["returned_value_unmatched"]
    unmatched_rows = parsed[(parsed["kind"] != "purchase") & ~parsed["customer_id"].isin(tx["customer_id"])
                            & ~parsed["customer_id"].isin(ret["customer_id"])]
    assert netted_or_not <= asked + 1e-6 and netted_or_not >= asked - unmatched_rows["amount"].abs().sum() - 1e-6


blobs = st.integers(2, 4).flatmap(lambda k: st.tuples(
    st.just(k), st.integers(0, 2**31 - 1), st.integers(5, 30)))


def _blob_data(k: int, seed: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), per)
    X = rng.normal(size=(k * per, 3)) + labels[:, None] * rng.uniform(0.5, 4.0)
    return X, labels


INTERNAL = ("eval/silhouette", "eval/calinski_harabasz", "eval/davies_bouldin")


@SETTINGS
@given(blobs, st.randoms(use_true_random=False), st.floats(1e-3, 1e3))
def test_metrics_ignore_label_names_and_row_order_and_overall_scale(blob, rnd, scale):
    k, seed, per = blob
    X, labels = _blob_data(k, seed, per)
    base, _ = evaluate_clustering(X, labels, truth=labels)
    names = list(range(k))
    rnd.shuffle(names)
    renamed = np.array(names)[labels]
    order = np.array(rnd.sample(range(len(X)), len(X)))
    variants = [(X, renamed, labels), (X[order], labels[order], labels[order]), (X * scale, labels, labels)]
    for Xv, lv, tv in variants:
        got, _ = evaluate_clustering(Xv, lv, truth=tv)
        for key in (*INTERNAL, "eval/ari", "eval/nmi", "eval/acc"):
            assert got[key] == pytest.approx(base[key], rel=1e-7, abs=1e-9), key
    assert all(np.isfinite(base[key]) for key in INTERNAL)
