"""The synthetic source: determinism, canonical shape and dtypes, sizes, planted structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS
from seglab.data.synthetic import ARCHETYPES, SyntheticSource
from seglab.errors import ConfigError


@pytest.fixture(scope="module")
def small():
    return SyntheticSource(n_customers=400, seed=3).load()


def test_same_seed_same_data_other_seed_differs():
    a = SyntheticSource(n_customers=300, seed=7).load()
    b = SyntheticSource(n_customers=300, seed=7).load()
    c = SyntheticSource(n_customers=300, seed=8).load()
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.reviews, b.reviews)
    pd.testing.assert_series_equal(a.truth, b.truth)
    # another seed draws other customers: both the segments and the purchases differ
    assert not a.truth.equals(c.truth)
    assert (a.truth != c.truth).mean() > 0.5  # not a near-copy either
    assert not a.transactions["amount"].equals(c.transactions["amount"])
    assert len(a.transactions) != len(c.transactions) or not np.allclose(a.transactions["amount"],
                                                                         c.transactions["amount"])


def test_canonical_columns_and_dtypes(small):
    d = small
    assert list(d.transactions.columns) == list(TRANSACTION_COLUMNS)
    assert list(d.reviews.columns) == list(REVIEW_COLUMNS)
    assert d.transactions["timestamp"].dtype == "datetime64[ns]"
    assert d.reviews["timestamp"].dtype == "datetime64[ns]"
    assert d.transactions["amount"].dtype == "float64" and d.transactions["quantity"].dtype == "float64"
    assert pd.api.types.is_string_dtype(d.transactions["category"])
    assert pd.api.types.is_string_dtype(d.reviews["text"])
    assert d.reviews["rating"].between(1, 5).all()
    assert (d.transactions["amount"] > 0).all() and (d.transactions["quantity"] >= 1).all()
    assert d.customers["customer_id"].is_unique
    assert set(d.transactions["customer_id"]) == set(d.customers["customer_id"])  # everyone bought
    assert set(d.reviews["customer_id"]) <= set(d.customers["customer_id"])
    assert {"age", "gender", "region", "channel", "newsletter"} <= set(d.customers.columns)
    assert d.truth.index.equals(d.customers.index)
    assert d.reference_date == pd.Timestamp("2025-01-01")
    assert d.transactions["timestamp"].max() < d.reference_date
    assert d.reviews["timestamp"].max() < d.reference_date
    assert d.transactions["timestamp"].min() >= pd.Timestamp("2023-01-01")


def test_size_100_has_every_segment():
    d = SyntheticSource(n_customers=100, n_segments=5, seed=0).load()
    assert d.n_customers == 100
    assert d.truth.nunique() == 5
    assert len(d.transactions) > 100 and len(d.reviews) > 0


@pytest.mark.parametrize("k", [2, 3, 8])
def test_other_segment_counts(k):
    d = SyntheticSource(n_customers=200, n_segments=k, seed=1).load()
    assert d.truth.nunique() == k
    if k > len(ARCHETYPES):
        assert d.truth.str.endswith("_v2").any()


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        SyntheticSource(n_customers=3, n_segments=5).load()
    with pytest.raises(ConfigError):
        SyntheticSource(n_customers=100, review_prob=1.5).load()
    with pytest.raises(ConfigError):
        SyntheticSource(n_customers=100, start_date="2024-01-01", end_date="2024-01-10").load()


def test_segments_differ_where_planted(small):
    """Archetype means show up in simple per-customer aggregates (no modelling involved)."""
    d = small
    tx = d.transactions.assign(segment=d.truth.to_numpy()[d.transactions["customer_id"].to_numpy()])
    basket = tx.groupby("segment")["amount"].mean()
    assert basket["big_ticket"] > basket["loyal_high_spender"] > basket["bargain_hunter"]
    last = tx.groupby(["segment", "customer_id"])["timestamp"].max().groupby("segment").median()
    assert last["lapsing"] < last["loyal_high_spender"] - pd.Timedelta(days=60)
    first = tx.groupby(["segment", "customer_id"])["timestamp"].min().groupby("segment").median()
    assert first["new_customer"] > d.reference_date - pd.Timedelta(days=120)
    rev = d.reviews.assign(segment=d.truth.to_numpy()[d.reviews["customer_id"].to_numpy()])
    rating = rev.groupby("segment")["rating"].mean()
    assert rating["loyal_high_spender"] > rating["lapsing"] + 1.0


def test_missing_age_share():
    d = SyntheticSource(n_customers=2000, seed=0, missing_age_rate=0.1).load()
    assert 0.05 < d.customers["age"].isna().mean() < 0.15
    assert np.isfinite(d.transactions["amount"]).all()
