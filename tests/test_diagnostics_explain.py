"""Surrogate-tree rules, their fidelity computation, and permutation importance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from seglab.diagnostics.explain import (
    fidelity_score,
    permutation_importance_table,
    surrogate_tree,
    tree_rules,
    write_explanations,
)
from seglab.models.kmeans import KMeansModel


def test_fidelity_score_by_hand():
    class Fixed:
        def predict(self, X):
            return np.array([0, 1, 1, 2, 2, 2])

    # agrees on rows 0, 1, 3, 4: 4 of 6
    assert fidelity_score(Fixed(), np.zeros((6, 1)), [0, 1, 0, 2, 2, 1]) == pytest.approx(4 / 6)


def test_surrogate_exact_rule():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"spend": rng.uniform(0, 1000, 400), "noise": rng.normal(size=400)})
    labels = (f["spend"] > 500).astype(int).to_numpy()
    res = surrogate_tree(f, labels, max_depth=2, random_state=0)
    assert res.fidelity == 1.0 and res.fidelity_train == 1.0
    assert res.n_test == 100 and res.n_train == 300
    assert res.rules["segment"].tolist() == ["0", "1"]
    assert res.rules["rule"].iloc[0].startswith("spend <= ")
    assert abs(float(res.rules["rule"].iloc[0].split("<= ")[1]) - 500) < 20
    assert res.rules["precision"].tolist() == [1.0, 1.0]
    assert res.rules["support"].sum() == res.n_train


def test_surrogate_fidelity_is_heldout_agreement():
    # labels follow spend > 500 except 40 customers flipped at random: a depth-1 tree learns
    # the threshold, so its held-out fidelity is 1 - (flipped share among held-out customers)
    rng = np.random.default_rng(1)
    f = pd.DataFrame({"spend": rng.uniform(0, 1000, 400)})
    labels = (f["spend"] > 500).astype(int).to_numpy().copy()
    flipped = rng.choice(400, size=40, replace=False)
    labels[flipped] = 1 - labels[flipped]
    res = surrogate_tree(f, labels, max_depth=1, min_samples_leaf=1, random_state=0)
    t = res.tree.tree_.threshold[0]
    assert abs(t - 500) < 10
    # no held-out customer lies between the learned threshold and 500: the split is the true one there
    spend_test = f["spend"].to_numpy()[res.test_index]
    assert not ((spend_test > min(t, 500)) & (spend_test <= max(t, 500))).any()
    expected = 1 - np.isin(res.test_index, flipped).mean()
    assert res.fidelity == pytest.approx(expected)
    assert res.fidelity == pytest.approx(
        fidelity_score(res.tree, f.to_numpy()[res.test_index], labels[res.test_index])
    )


def test_tree_rules_merge_intervals():
    from sklearn.tree import DecisionTreeClassifier

    x = np.arange(30, dtype=float).reshape(-1, 1)
    y = np.r_[np.zeros(10), np.ones(10), np.zeros(10)].astype(int)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)
    rules = tree_rules(tree, ["age"])
    assert "9.5 < age <= 19.5" in rules.loc[rules["segment"] == "1", "rule"].tolist()


def test_permutation_importance_finds_the_feature():
    X, _ = make_blobs(n_samples=300, centers=[[0, 0], [8, 0]], cluster_std=0.5, random_state=0)
    model = KMeansModel(n_clusters=2, random_state=0).fit(X)
    imp = permutation_importance_table(model, X, model.labels_, ["x", "y"], n_repeats=3)
    assert imp["feature"].tolist() == ["x", "y"]
    assert imp.loc[0, "importance_mean"] > 0.3
    assert abs(imp.loc[1, "importance_mean"]) < 0.05


def test_write_explanations(tmp_path):
    X, _ = make_blobs(n_samples=300, centers=3, n_features=3, random_state=2)
    features = pd.DataFrame(X * 100, columns=["a", "b", "c"])
    model = KMeansModel(n_clusters=3, random_state=0).fit(X)
    metrics = write_explanations(tmp_path, features, X, model.labels_, model, feature_names=["a", "b", "c"])
    assert 0.9 <= metrics["explain/surrogate_fidelity"] <= 1.0
    imp = pd.read_csv(tmp_path / "feature_importance.csv")
    assert set(imp["of"]) == {"model", "surrogate"}
    data = json.loads((tmp_path / "explanations.json").read_text())
    assert set(data["surrogate"]["rules"]) == {"0", "1", "2"}
    assert data["surrogate"]["fidelity_heldout"] == metrics["explain/surrogate_fidelity"]
    rules = pd.read_csv(tmp_path / "surrogate_rules.csv")
    assert list(rules.columns[:4]) == ["segment", "rule", "support", "precision"]
    assert set(rules["segment"]) == {0, 1, 2}
    # three well separated blobs: each segment has a rule that is (almost) always right
    assert rules.groupby("segment")["precision"].max().min() >= 0.9
    assert rules["rule"].str.contains(r"[abc] (<=|>)").all()
    # the JSON holds the same rules as the CSV
    assert sum(len(v) for v in data["surrogate"]["rules"].values()) == len(rules)
    model_imp = imp[imp["of"] == "model"].set_index("feature")["importance_mean"]
    assert model_imp.max() > 0.1  # permuting some feature changes the model's labels
