"""Per-customer aggregation math on hand-made reviews, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError
from seglab.text.aggregate import aggregate_scores, embedding_features

AS_OF = pd.Timestamp("2024-01-01")


def _reviews():
    return pd.DataFrame({
        "cid": ["A", "A", "A", "B", "B", "Z", "A"],
        "ts": pd.to_datetime(["2023-12-22", "2023-09-23", None, "2023-07-05", "2023-07-05", "2023-01-01", "2023-12-31"]),
        # ages from AS_OF:  10 days,  100 days,  undated, 180 days, 180 days (same stamp, later row)
        "s": [0.5, -0.5, 1.0, -0.8, 0.2, 0.9, np.nan],  # Z is not a customer; the NaN review is skipped
    })


def test_aggregates_by_hand():
    r = _reviews()
    out = aggregate_scores(pd.Index(["C", "A", "B"]), r["cid"].to_numpy(), r["s"].to_numpy(), r["ts"],
                           as_of=AS_OF, half_life_days=100.0, negative_threshold=0.0)
    assert list(out.index) == ["C", "A", "B"]
    a, b, c = out.loc["A"], out.loc["B"], out.loc["C"]

    assert a["text_n_reviews"] == 3 and a["text_has_reviews"] == 1
    assert a["text_sent_mean"] == pytest.approx(1 / 3)
    # population std of (0.5, -0.5, 1.0): sqrt(((1/6)^2 + (5/6)^2 + (2/3)^2) / 3)
    assert a["text_sent_std"] == pytest.approx(math.sqrt(((1 / 6) ** 2 + (5 / 6) ** 2 + (2 / 3) ** 2) / 3))
    assert a["text_sent_min"] == pytest.approx(-0.5)
    assert a["text_sent_last"] == pytest.approx(0.5)  # the undated review counts as the oldest
    assert a["text_share_negative"] == pytest.approx(1 / 3)
    # weights 0.5^(age/100); the undated review gets the oldest dated age in the data (180 days)
    w = np.array([0.5 ** 0.1, 0.5 ** 1.0, 0.5 ** 1.8])
    assert a["text_sent_recency_mean"] == pytest.approx(float(w @ [0.5, -0.5, 1.0] / w.sum()))

    assert b["text_n_reviews"] == 2
    assert b["text_sent_mean"] == pytest.approx(-0.3)
    assert b["text_sent_std"] == pytest.approx(0.5)
    assert b["text_sent_min"] == pytest.approx(-0.8)
    assert b["text_sent_last"] == pytest.approx(0.2)  # same timestamp: the later row wins
    assert b["text_share_negative"] == pytest.approx(0.5)
    assert b["text_sent_recency_mean"] == pytest.approx(-0.3)

    assert c["text_n_reviews"] == 0 and c["text_has_reviews"] == 0
    for col in ("text_sent_mean", "text_sent_std", "text_sent_min", "text_sent_last",
                "text_share_negative", "text_sent_recency_mean"):
        assert np.isnan(c[col]), col  # a mask, not fake zeros


def test_single_review_std_is_zero_and_threshold_applies():
    out = aggregate_scores(pd.Index(["A"]), np.array(["A"]), np.array([-0.1]), None,
                           negative_threshold=-0.2)
    assert out.loc["A", "text_sent_std"] == 0.0
    assert out.loc["A", "text_share_negative"] == 0.0  # -0.1 is not below -0.2
    assert out.loc["A", "text_sent_recency_mean"] == pytest.approx(-0.1)  # undated: plain mean


def test_undated_everywhere_gives_plain_mean_and_row_order_last():
    out = aggregate_scores(pd.Index([1, 2]), np.array([1, 1, 1, 2]), np.array([0.9, -0.3, 0.0, 0.4]), None)
    assert out.loc[1, "text_sent_recency_mean"] == pytest.approx(0.2)
    assert out.loc[1, "text_sent_last"] == pytest.approx(0.0)
    assert out.loc[2, "text_sent_last"] == pytest.approx(0.4)


def test_half_life_must_be_positive():
    with pytest.raises(ConfigError):
        aggregate_scores(pd.Index(["A"]), np.array(["A"]), np.array([0.1]), None, half_life_days=0)


def test_embedding_pca_nan_without_reviews():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 5))
    cids = np.array(["A", "A", "B", "C", "C", "D"])
    valid = np.array([True, True, True, True, False, True])
    out = embedding_features(pd.Index(["A", "B", "C", "D", "E"]), cids, emb, valid, embed_dim=2)
    assert list(out.columns) == ["text_emb_0", "text_emb_1"]
    assert out.loc["E"].isna().all()
    assert out.loc[["A", "B", "C", "D"]].notna().all().all()
    # the PCA input is each customer's mean embedding over valid reviews
    from sklearn.decomposition import PCA

    means = np.vstack([emb[:2].mean(0), emb[2], emb[3], emb[5]])
    expected = PCA(n_components=2, svd_solver="full").fit_transform(means)
    np.testing.assert_allclose(out.loc[["A", "B", "C", "D"]].to_numpy(), expected, atol=1e-9)
