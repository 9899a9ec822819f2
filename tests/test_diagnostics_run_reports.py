"""The run-dir writers that seglab.train.run calls, on a tiny synthetic dataset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seglab.diagnostics.run_reports import select_k, write_segment_reports, write_stability_reports
from seglab.features import build_features
from seglab.models.kmeans import KMeansModel


@pytest.fixture(scope="module")
def tiny():
    from seglab.data.synthetic import SyntheticSource
    from seglab.features import Preprocessor

    data = SyntheticSource(n_customers=400, seed=0).load()
    features = build_features(data)
    pre = Preprocessor()
    X = pre.fit_transform(features)
    return data, features, pre, X


def test_reports_end_to_end(tiny, tmp_path):
    data, features, pre, X = tiny
    k, km = select_k(X, tmp_path, k_min=2, k_max=6, criteria=["silhouette", "elbow"], random_state=0)
    chosen = json.loads((tmp_path / "k_selection.json").read_text())
    assert km["choose_k/k"] == k == chosen["k"] == chosen["picks"]["silhouette"]
    table = pd.read_csv(tmp_path / "k_selection.csv")
    assert table["k"].tolist() == [2, 3, 4, 5, 6]
    assert k == int(table.loc[table["silhouette"].idxmax(), "k"])  # the default rule, from the written table
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
    assert profiles["size"].iloc[:-1].tolist() == np.bincount(model.labels_, minlength=k).tolist()
    for col in ("name", "revenue_share", "aov", "churn_share", "clv", "top_categories"):
        assert col in profiles.columns
    assert profiles["revenue_share"].iloc[:-1].sum() == pytest.approx(1.0)
    # churn_days=120 reaches the profiles: the population's churn share is recomputed from the features
    assert profiles["churn_share"].iloc[-1] == pytest.approx((features["recency_days"] > 120).mean())
    s = write_stability_reports(
        tmp_path,
        model,
        X,
        model.labels_,
        seeds=[1],
        n_bootstrap=2,
        period_days=120,
        data=data,
        preprocessor=pre,
        features=features,
        build_features=build_features,
    )
    assert {"stability/seed_ari_mean", "stability/bootstrap_ari_mean", "stability/time_share_moved"} <= set(s)
    assert 0.5 <= s["stability/seed_ari_mean"] <= 1.0
    assert 0.0 <= s["stability/time_share_moved"] <= 1.0
    stability = json.loads((tmp_path / "stability.json").read_text())
    assert stability["metrics"]["stability/seed_ari_mean"] == pytest.approx(s["stability/seed_ari_mean"])
    transitions = pd.read_csv(tmp_path / "transitions.csv", index_col=0)
    assert 0 < transitions.to_numpy().sum() <= 400
    assert write_stability_reports(tmp_path, None, X, model.labels_) == {}
    for name in ("k_selection.png", "profiles.png", "transitions.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
    rules = pd.read_csv(tmp_path / "surrogate_rules.csv")
    assert set(rules["segment"]) <= set(range(k)) and len(rules) >= k
