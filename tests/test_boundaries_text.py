"""Boundaries of the review aggregates: the negative-share threshold, recency weights at exactly one
half-life, reviews dated after ``as_of``, undated reviews, the ``as_of`` default, ignored rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError
from seglab.text.aggregate import MASK_COLUMN, SENTIMENT_COLUMNS, aggregate_scores, embedding_features

AS_OF = pd.Timestamp("2024-01-01")


def agg(cids, scores, ts=None, **kw):
    ids = kw.pop("ids", sorted(set(cids)))
    return aggregate_scores(pd.Index(ids), np.asarray(cids), np.asarray(scores, dtype=float),
                            None if ts is None else pd.to_datetime(pd.Series(ts)), **kw)


@pytest.mark.parametrize("threshold,expected", [(0.0, 1 / 4), (0.2, 2 / 4), (-0.5, 0.0), (-0.49, 1 / 4)])
def test_negative_share_is_strictly_below_the_threshold(threshold, expected):
    # scores -0.5, 0.0, 0.2, 0.9: a score equal to the threshold is not negative
    out = agg(["A"] * 4, [-0.5, 0.0, 0.2, 0.9], negative_threshold=threshold)
    assert out.loc["A", "text_share_negative"] == pytest.approx(expected)


def test_negative_share_threshold_is_used_not_zero():
    out = agg(["A", "A"], [0.1, 0.3], negative_threshold=0.25)
    assert out.loc["A", "text_share_negative"] == 0.5
    out = agg(["A", "A"], [-0.1, -0.3], negative_threshold=-0.25)
    assert out.loc["A", "text_share_negative"] == 0.5


def test_one_half_life_halves_the_weight():
    # two reviews, 0 and exactly 30 days old with half-life 30: weights 1 and 0.5
    out = agg(["A", "A"], [1.0, -1.0], ["2024-01-01", "2023-12-02"], as_of=AS_OF, half_life_days=30.0)
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((1.0 - 0.5) / 1.5)
    # two half-lives: 0.25
    out = agg(["A", "A"], [1.0, -1.0], ["2024-01-01", "2023-11-02"], as_of=AS_OF, half_life_days=30.0)
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((1.0 - 0.25) / 1.25)


def test_reviews_after_as_of_count_as_today_not_as_the_future():
    out = agg(["A", "A"], [1.0, -1.0], ["2024-03-01", "2023-12-02"], as_of=AS_OF, half_life_days=30.0)
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((1.0 - 0.5) / 1.5)


def test_as_of_defaults_to_the_latest_review():
    out = agg(["A", "A", "B"], [1.0, -1.0, 0.0], ["2023-12-31", "2023-12-01", "2024-01-30"], half_life_days=30.0)
    # latest review (B's) is 2024-01-30: A's reviews are 30 and 60 days old -> weights 0.5, 0.25
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((0.5 - 0.25) / 0.75)


def test_undated_review_weighs_like_the_oldest_dated_one():
    out = agg(["A", "A", "B"], [1.0, -1.0, 0.3], ["2024-01-01", None, "2023-12-02"], as_of=AS_OF,
              half_life_days=30.0)
    # the oldest dated review in the data is B's (30 days): the undated one gets weight 0.5
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((1.0 - 0.5) / 1.5)
    assert out.loc["A", "text_sent_last"] == 1.0
    assert out.loc["B", "text_sent_recency_mean"] == pytest.approx(0.3)


def test_most_recent_review_wins_whatever_its_row():
    out = agg(["A", "A", "A"], [0.7, -0.2, 0.1], ["2023-12-30", "2023-12-31", "2023-06-01"])
    assert out.loc["A", "text_sent_last"] == -0.2


def test_unknown_customers_and_nan_scores_are_ignored():
    out = agg(["A", "Z", "A", "A"], [0.4, -1.0, np.nan, 0.2], ids=["A", "B"])
    a = out.loc["A"]
    assert a["text_n_reviews"] == 2 and a[MASK_COLUMN] == 1
    assert a["text_sent_mean"] == pytest.approx(0.3)
    assert a["text_sent_min"] == pytest.approx(0.2)
    assert a["text_sent_std"] == pytest.approx(0.1)
    assert out.loc["B", "text_n_reviews"] == 0 and out.loc["B", MASK_COLUMN] == 0
    assert out.loc["B", list(SENTIMENT_COLUMNS)].isna().all()
    assert out["text_n_reviews"].dtype.kind == "i"
    assert list(out.columns) == ["text_n_reviews", *SENTIMENT_COLUMNS, MASK_COLUMN]


@pytest.mark.parametrize("half_life", [0, -5.0])
def test_half_life_must_be_positive(half_life):
    with pytest.raises(ConfigError, match="recency_half_life_days"):
        agg(["A"], [0.1], half_life_days=half_life)


def test_small_positive_half_life_is_accepted():
    out = agg(["A"], [0.4], ["2023-12-31"], as_of=AS_OF, half_life_days=0.5)
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx(0.4)


def test_embedding_features_boundaries():
    ids = pd.Index(["A", "B", "C"])
    emb = np.arange(12, dtype=float).reshape(4, 3)
    # every review invalid or of an unknown customer: all NaN
    out = embedding_features(ids, np.array(["A", "B", "Z", "C"]), emb, np.array([False, False, True, False]), 2)
    assert out.isna().all().all() and list(out.columns) == ["text_emb_0", "text_emb_1"]
    # embed_dim 0: no columns
    assert embedding_features(ids, np.array(["A"] * 4), emb, np.ones(4, bool), 0).shape == (3, 0)
    # more components asked than customers: the extra columns are zeros for those who reviewed
    out = embedding_features(ids, np.array(["A", "A", "B", "Z"]), emb, np.ones(4, bool), 3)
    assert out.loc["C"].isna().all()
    np.testing.assert_array_equal(out.loc[["A", "B"], "text_emb_2"].to_numpy(), [0.0, 0.0])
    assert np.abs(out.loc[["A", "B"], "text_emb_0"].to_numpy()).sum() > 0


def test_defaults_half_life_180_days_threshold_zero():
    # no options: a review 180 days old weighs half a fresh one; a score of exactly 0 is not negative
    out = aggregate_scores(pd.Index(["A"]), np.array(["A", "A", "A"]), np.array([1.0, -1.0, 0.0]),
                           pd.Series(pd.to_datetime(["2024-01-01", "2023-07-05", "2024-01-01"])),
                           as_of=AS_OF)
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx((1.0 - 0.5 + 0.0) / 2.5)
    assert out.loc["A", "text_share_negative"] == pytest.approx(1 / 3)
    assert out.index.name == "customer_id" and out.loc["A", MASK_COLUMN] == 1


def test_unparsable_timestamps_count_as_undated():
    out = aggregate_scores(pd.Index(["A"]), np.array(["A", "A"]), np.array([1.0, -1.0]),
                           pd.Series(["2024-01-01", "not a date"]), as_of=AS_OF, half_life_days=30.0)
    # the undated review takes the oldest dated age (0 days here): both weigh 1
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx(0.0)
    assert out.loc["A", "text_sent_last"] == 1.0


def test_one_review_is_enough_for_the_mask():
    out = agg(["A", "B", "B"], [0.2, 0.1, 0.3], ids=["A", "B", "C"])
    assert out[MASK_COLUMN].tolist() == [1, 1, 0] and out["text_n_reviews"].tolist() == [1, 2, 0]
    assert out[MASK_COLUMN].dtype.kind == "i"  # a 0/1 flag, not a float


def test_embedding_features_with_one_component_and_narrow_embeddings():
    from sklearn.decomposition import PCA

    ids = pd.Index(["A", "B", "C", "D"])
    emb = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0], [3.0, 5.0]])
    cids = np.array(["A", "B", "C", "D"])
    out = embedding_features(ids, cids, emb, np.ones(4, bool), embed_dim=1)
    assert out.index.name == "customer_id" and list(out.columns) == ["text_emb_0"]
    np.testing.assert_allclose(out["text_emb_0"].to_numpy(),
                               PCA(n_components=1, svd_solver="full").fit_transform(emb)[:, 0], atol=1e-9)
    # embeddings narrower (2) than the components asked (3): two components, the third is zero
    out = embedding_features(ids, cids, emb, np.ones(4, bool), embed_dim=3)
    np.testing.assert_allclose(out[["text_emb_0", "text_emb_1"]].to_numpy(),
                               PCA(n_components=2, svd_solver="full").fit_transform(emb), atol=1e-9)
    assert out["text_emb_2"].tolist() == [0.0] * 4
