"""The report's statistics: t intervals, ranks per family, Welch, Friedman + Nemenyi over datasets."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seglab.evaluate.registry import MetricSpec
from seglab.report.cross import cross_dataset_blocks
from seglab.report.stats import critical_difference, family_ranks, t_interval, welch
from seglab.report.table import Method


def test_t_interval_matches_scipy():
    v = [0.90, 0.92, 0.91, 0.95, 0.89]
    mean, half, n = t_interval(v + [float("nan")])
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert n == 5 and mean == pytest.approx(np.mean(v)) and half == pytest.approx((hi - lo) / 2)
    assert np.isnan(t_interval([0.5])[1])


def test_ranks_are_averaged_within_a_family_only():
    specs = [MetricSpec("eval/silhouette", "Sil", True, family="internal"),
             MetricSpec("eval/davies_bouldin", "DB", False, family="internal"),
             MetricSpec("eval/ari", "ARI", True, family="external")]
    table = pd.DataFrame({"eval/silhouette": [0.3, 0.2], "eval/davies_bouldin": [1.0, 2.0], "eval/ari": [0.1, 0.9]},
                         index=["A", "B"])
    ranks = family_ranks(table, specs)
    assert ranks.loc["A", "mean rank: internal"] == 1 and ranks.loc["B", "mean rank: external"] == 1
    assert "mean rank" not in ranks  # no rank across families


def test_welch_says_when_seeds_are_too_few():
    assert welch([0.9] * 3, [0.1] * 3, True).result == "too few seeds"
    assert welch([0.9, 0.91, 0.92, 0.9, 0.91], [0.5, 0.52, 0.51, 0.5, 0.49], True).result == "better"
    assert "too few seeds" in welch([1, 2], [3, 4], True).words()


def test_critical_difference_only_across_enough_datasets():
    rng = np.random.default_rng(0)
    means = pd.DataFrame({"good": 0.9 + rng.normal(0, 0.01, 8), "mid": 0.7 + rng.normal(0, 0.01, 8),
                          "bad": 0.3 + rng.normal(0, 0.01, 8)}, index=[f"d{i}" for i in range(8)])
    cd = critical_difference(means, "ARI", True)
    assert cd.friedman_p < 0.01 and cd.nemenyi is not None
    assert cd.mean_ranks["good"] == 1 and "good vs bad" in cd.claim or "bad vs good" in cd.claim
    few = critical_difference(means.iloc[:2], "ARI", True)
    assert np.isnan(few.friedman_p) and "no method is claimed better" in few.claim


def _method(dataset, label, value):
    return Method(dataset, label, "x." + label, False, {}, pd.DataFrame(), {"eval/ari": (value, 0.0, 5)})


def test_cross_dataset_section_in_plain_words():
    spec = [MetricSpec("eval/ari", "ARI", True, family="external")]
    one = cross_dataset_blocks([_method("a", "k-means", 0.9)], spec)
    assert "one dataset" in one[1].text
    two = [_method(d, lab, v) for d in ("a", "b") for lab, v in (("k-means", 0.9), ("GMM", 0.8), ("DEC", 0.95))]
    blocks = cross_dataset_blocks(two, spec)
    claims = blocks[-1].items
    assert len(claims) == 1 and "needs at least 5 datasets" in claims[0]


def test_baseline_settings_are_reported():
    from seglab.report.results import baseline_settings_blocks

    runs = pd.DataFrame({"metric.fit/covariance_type": [3.0, 3.0, 1.0], "metric.fit/reg_covar": [1e-6, 1e-6, 1e-3]})
    gmm = Method("d", "GMM", "x.GMMModel", False, {}, runs)
    deep = Method("d", "DEC", "x.DEC", True, {}, runs)
    blocks = baseline_settings_blocks([gmm, deep])
    rows = blocks[1].rows
    assert rows[0] == ["GMM", "covariance type (by BIC)", "spherical (2 of 3 runs), tied (1 of 3 runs)"]
    assert rows[1][2] == "1e-06, 0.001" and all(r[0] == "GMM" for r in rows)


def test_density_baseline_settings_and_outcome_are_reported():
    from seglab.report.results import baseline_settings_blocks

    runs = pd.DataFrame({"metric.fit/space_dim": [5.0, 5.0], "metric.fit/min_samples": [10.0, 10.0],
                         "metric.fit/eps": [0.33214, 0.35191], "metric.fit/n_clusters_found": [12.0, 11.0],
                         "metric.fit/noise_share": [0.003, 0.002]})
    hdb = runs.drop(columns="metric.fit/eps").assign(**{"metric.fit/min_cluster_size": [50.0, 50.0]})
    blocks = baseline_settings_blocks([Method("d", "DBSCAN", "x.DBSCANModel", False, {}, runs),
                                       Method("d", "HDBSCAN", "x.HDBSCANModel", False, {}, hdb)])
    rows = {(r[0], r[1]): r[2] for r in blocks[1].rows}
    assert rows[("DBSCAN", "dimension of the space clustered")] == "5"
    assert rows[("DBSCAN", "min_samples")] == "10"
    assert rows[("DBSCAN", "eps (k-distance knee)")] == "0.332, 0.352"
    assert rows[("DBSCAN", "clusters found")] == "11, 12"
    assert rows[("DBSCAN", "noise share (own segment in metrics)")] == "0.2% (runs: 0.2% to 0.3%)"
    assert rows[("HDBSCAN", "min_cluster_size")] == "50" and ("HDBSCAN", "eps (k-distance knee)") not in rows
