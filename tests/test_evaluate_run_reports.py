"""The run-dir writers that seglab.train.run calls, on a tiny synthetic dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from seglab.evaluate.run_reports import select_k, write_segment_reports, write_stability_reports
from seglab.models.kmeans import KMeansModel


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def tiny():
    from seglab.data.synthetic import SyntheticSource
    from seglab.features import Preprocessor, build_features

    data = SyntheticSource(n_customers=400, seed=0).load()
    features = build_features(data)
    pre = Preprocessor()
    X = pre.fit_transform(features)
    return data, features, pre, X


def test_reports_end_to_end(tiny, tmp_path):
    data, features, pre, X = tiny
    k, km = select_k(X, tmp_path, k_min=2, k_max=6, criteria=["silhouette", "elbow"], random_state=0)
    assert 2 <= k <= 6 and km["choose_k/k"] == k
    model = KMeansModel(n_clusters=k, random_state=0).fit(X)
    m = write_segment_reports(
        tmp_path,
        features=features,
        X=X,
        labels=model.labels_,
        model=model,
        proba=model.predict_proba(X),
        feature_names=pre.feature_names_out_,
        profiles={"churn_days": 120},
        explain={"max_depth": 3, "n_repeats": 2},
    )
    assert 0 < m["explain/surrogate_fidelity"] <= 1
    profiles = pd.read_csv(tmp_path / "profiles.csv")
    assert profiles["size"].iloc[-1] == 400
    for col in ("name", "revenue_share", "aov", "churn_share", "clv", "top_categories"):
        assert col in profiles.columns
    assert profiles["revenue_share"].iloc[:-1].sum() == pytest.approx(1.0)
    s = write_stability_reports(
        tmp_path,
        lambda seed: KMeansModel(n_clusters=k, random_state=seed),
        X,
        model.labels_,
        seeds=[1],
        n_bootstrap=2,
        period_days=120,
        data=data,
        model=model,
        preprocessor=pre,
        features=features,
    )
    assert {"stability/seed_ari_mean", "stability/bootstrap_ari_mean", "stability/time_share_moved"} <= set(s)
    assert write_stability_reports(tmp_path, None, X, model.labels_) == {}
    for name in (
        "k_selection.png",
        "profiles.png",
        "surrogate_rules.csv",
        "transitions.csv",
        "stability.json",
    ):
        assert (tmp_path / name).exists()
