"""The time split, the RFM summary, the synthetic holdout, scores and the cross-fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from seglab.data.schema import CustomerData
from seglab.data.synthetic import SyntheticSource
from seglab.errors import ConfigError
from seglab.predict.discriminative import cross_fitted, input_sets
from seglab.predict.scores import Forecast, bootstrap_scores, weighted_auc, weighted_rmse
from seglab.predict.split import rfm_summary, time_split


def tiny_data() -> CustomerData:
    rows = [  # customer, timestamp, amount
        ("a", "2024-01-01 10:00", 10.0), ("a", "2024-01-01 18:00", 5.0), ("a", "2024-01-15", 20.0),
        ("a", "2024-02-01", 30.0), ("a", "2024-03-02 00:00", 7.0), ("a", "2024-03-20", 8.0),
        ("b", "2024-01-10", 50.0), ("b", "2024-04-01", 60.0),
        ("c", "2024-02-20", 5.0),
        ("d", "2024-03-05", 9.0),  # acquired after the cut
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["timestamp"], format="ISO8601").astype("datetime64[ns]")
    tx["quantity"] = 1.0
    tx["category"] = "unknown"
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"]})
    truth = pd.Series(["x", "y", "x", "y"], name="segment")
    return CustomerData(name="tiny", customers=customers, transactions=tx, truth=truth)


def test_split_cuts_at_the_end_of_the_calibration_day():
    split = time_split(tiny_data(), "2024-03-01", 30)
    cal = split.calibration
    assert list(cal.customers["customer_id"]) == ["a", "b", "c"]  # d bought only after the cut
    assert split.n_left_out == 1 and list(cal.truth) == ["x", "y", "x"]
    assert cal.transactions["timestamp"].max() < pd.Timestamp("2024-03-02")
    assert cal.as_of() == pd.Timestamp("2024-03-02")
    # a purchase at midnight after the calibration's last day is in the holdout
    hold = split.holdout
    assert hold.loc["a", "purchases"] == 2 and hold.loc["a", "spend"] == 15.0
    assert hold.loc["a", "days_to_first"] == 1
    assert hold.loc["b", "purchases"] == 0  # 2024-04-01 is past the 30-day holdout
    assert not hold.loc["c", "purchased"] and np.isnan(hold.loc["c", "days_to_first"])
    assert split.describe()["segments_fitted_on"].startswith("calibration period only")


def test_default_cut_is_the_data_end_minus_the_holdout():
    split = time_split(tiny_data(), None, 30)
    assert split.data_end == pd.Timestamp("2024-04-01")
    assert split.calibration_end == pd.Timestamp("2024-03-02")


@pytest.mark.parametrize("cut,days,message", [
    ("2023-12-01", 30, "before the first purchase"),
    ("2024-03-20", 30, "runs past the data's last day"),
    ("not-a-date", 30, "is not a date"),
    ("2024-02-01", 0, "holdout_days must be >= 1"),
])
def test_bad_split_values_get_one_line_errors(cut, days, message):
    with pytest.raises(ConfigError, match=message) as err:
        time_split(tiny_data(), cut, days)
    assert "\n" not in str(err.value)


def test_split_needs_transactions():
    data = CustomerData(name="table", customers=pd.DataFrame({"customer_id": [1, 2]}))
    with pytest.raises(ConfigError, match="needs transactions"):
        time_split(data, None, 30)


def test_rfm_summary_counts_distinct_purchase_days():
    split = time_split(tiny_data(), "2024-03-01", 30)
    s = rfm_summary(split.calibration.transactions, split.calibration.customer_ids, split.calibration_end,
                    unit_days=1.0)
    # a: days 01-01 (15 spent), 01-15 (20), 02-01 (30) -> x = 2, t_x = 31 days, T = 60 days
    assert s.loc["a", ["x", "t_x", "T"]].tolist() == [2.0, 31.0, 60.0]
    assert s.loc["a", "m"] == pytest.approx(25.0) and s.loc["a", "monetary"] == pytest.approx(65 / 3)
    assert s.loc["c", ["x", "t_x", "m"]].tolist() == [0.0, 0.0, 0.0]
    assert s.loc["a", "recency"] == pytest.approx(29.0)


def test_synthetic_holdout_keeps_the_window_and_follows_the_archetypes():
    plain = SyntheticSource(n_customers=1500, seed=5).load()
    extended = SyntheticSource(n_customers=1500, seed=5, holdout_days=120).load()
    end = pd.Timestamp("2025-01-01")
    window = extended.transactions[extended.transactions["timestamp"] < end].reset_index(drop=True)
    pd.testing.assert_frame_equal(window, plain.transactions)
    assert extended.as_of() == end + pd.Timedelta(days=120)
    after = extended.transactions[extended.transactions["timestamp"] >= end]
    assert after["timestamp"].max() < extended.as_of()
    bought = extended.customers["customer_id"].isin(after["customer_id"]).to_numpy()
    share = pd.Series(bought).groupby(extended.truth.to_numpy()).mean()
    assert share["lapsing"] < 0.15 < 0.7 < share["loyal_high_spender"]
    with pytest.raises(ConfigError, match="holdout_days"):
        SyntheticSource(n_customers=100, holdout_days=-1).load()


def test_weighted_auc_and_rmse_equal_the_scores_of_the_resampled_customers():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60).astype(float)
    s = np.round(rng.random(60), 1)  # many ties
    e = rng.random(60) * 3
    idx = [rng.integers(0, 60, 60) for _ in range(3)]
    w = np.vstack([np.bincount(i, minlength=60) for i in idx])
    auc, rmse = weighted_auc(y, s, w), weighted_rmse(y, e, w)
    for b, i in enumerate(idx):
        assert auc[b] == pytest.approx(roc_auc_score(y[i], s[i]))
        assert rmse[b] == pytest.approx(np.sqrt(np.mean((e[i] - y[i]) ** 2)))
    assert np.isnan(weighted_auc(np.ones(5), s[:5], np.ones((1, 5)))[0])


def test_bootstrap_scores_pairs_models_with_their_base():
    rng = np.random.default_rng(1)
    n = 400
    purchases = rng.poisson(1.0, n).astype(float)
    good = Forecast(purchases + rng.normal(0, 0.3, n), purchases + rng.normal(0, 0.3, n))
    noisy = Forecast(purchases + rng.normal(0, 3, n), purchases + rng.normal(0, 3, n), base="good")
    same = Forecast(good.p_purchase, good.expected_purchases, base="good")
    segments = np.repeat([0, 1], n // 2)
    scores = bootstrap_scores(purchases, {"good": good, "noisy": noisy, "same": same}, segments, n_boot=100)
    row = scores.set_index(["model", "segment", "metric"])
    assert set(scores["segment"]) == {"all", "0", "1"}
    assert row.loc[("same", "all", "auc"), ["delta", "delta_lo", "delta_hi"]].abs().max() == 0
    noisy_auc = row.loc[("noisy", "all", "auc")]
    assert noisy_auc["delta_hi"] < 0 and noisy_auc["lo"] <= noisy_auc["value"] <= noisy_auc["hi"]
    assert row.loc[("noisy", "0", "rmse"), "delta_lo"] > 0
    assert row.loc[("good", "1", "auc"), "n_customers"] == n // 2


def test_cross_fitting_scores_each_customer_with_a_model_that_never_saw_it():
    """A column equal to a random target lets an in-sample model look perfect; out of fold, a
    customer's own row is never in the training data, so the ID-like column is useless."""
    rng = np.random.default_rng(2)
    n = 300
    purchases = rng.poisson(0.7, n).astype(float)
    summary = pd.DataFrame({"x": rng.poisson(2, n), "recency": rng.random(n), "T": rng.random(n) + 1,
                            "monetary": rng.random(n)})
    leaky = summary.assign(monetary=np.arange(n, dtype=float))  # a unique id per customer
    fc = cross_fitted({"rfm": input_sets(["rfm"], summary=leaky)["rfm"]}, purchases, n_folds=5)["gbm_rfm"]
    assert abs(roc_auc_score(purchases > 0, fc.p_purchase) - 0.5) < 0.12
    # and a real signal is found
    signal = summary.assign(x=purchases + rng.normal(0, 0.5, n))
    fc = cross_fitted({"rfm": input_sets(["rfm"], summary=signal)["rfm"]}, purchases, n_folds=5)["gbm_rfm"]
    assert roc_auc_score(purchases > 0, fc.p_purchase) > 0.8


def test_input_sets_add_the_segment_and_skip_what_the_run_lacks():
    summary = pd.DataFrame({"x": [0.0, 1, 2], "recency": [1.0, 2, 3], "T": [5.0, 5, 5], "monetary": [1.0, 2, 3]})
    sets = input_sets(["rfm", "rfm_seg", "rfm_soft", "rfm_latent"], summary=summary, labels=np.array([0, 1, 1]))
    assert set(sets) == {"rfm", "rfm_seg"}
    assert list(sets["rfm_seg"].columns[-2:]) == ["segment_0", "segment_1"]
    with pytest.raises(ConfigError, match="unknown input sets"):
        input_sets(["rfm", "nope"], summary=summary)
