"""Choosing k on blobs whose number of clusters is known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from seglab.diagnostics.choose_k import choose_k, write_k_selection
from seglab.errors import ConfigError


@pytest.fixture(scope="module")
def blobs4():
    X, _ = make_blobs(n_samples=400, centers=4, n_features=4, cluster_std=0.7, random_state=11)
    return X


@pytest.fixture(scope="module")
def selection(blobs4):
    return choose_k(blobs4, k_min=2, k_max=7, random_state=0)


def test_every_criterion_finds_known_k(selection):
    assert selection.rule == "silhouette"
    assert selection.k == 4
    assert selection.picks == {c: 4 for c in selection.picks}
    assert set(selection.picks) == {
        "elbow",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "gap",
        "bic",
    }
    assert list(selection.table["k"]) == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("rule", ["davies_bouldin", "majority", "gap"])
def test_rules(blobs4, rule):
    sel = choose_k(
        blobs4, k_min=2, k_max=6, rule=rule, criteria=["silhouette", "davies_bouldin"], random_state=0
    )
    assert sel.k == 4
    if rule == "gap":
        assert "gap" in sel.picks  # the rule's criterion is always computed


def test_rule_changes_the_choice():
    # two pairs of close blobs: silhouette prefers the 2 pairs, the elbow/CH may prefer 4;
    # whatever each picks, the chosen k must follow the configured rule
    centers = [[0, 0], [0, 2.2], [12, 0], [12, 2.2]]
    X, _ = make_blobs(n_samples=400, centers=centers, cluster_std=0.5, random_state=0)
    for rule in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        sel = choose_k(
            X, k_min=2, k_max=6, rule=rule, criteria=["silhouette", "calinski_harabasz", "davies_bouldin"]
        )
        assert sel.k == sel.picks[rule]
    assert choose_k(X, k_min=2, k_max=6, rule="silhouette", criteria=["silhouette"]).k == 2


def test_sampled_and_deterministic(blobs4):
    a = choose_k(blobs4, k_min=3, k_max=5, max_samples=300, silhouette_sample_size=200, random_state=3)
    b = choose_k(blobs4, k_min=3, k_max=5, max_samples=300, silhouette_sample_size=200, random_state=3)
    assert a.table.equals(b.table)
    assert a.k == 4


def test_bad_options(blobs4):
    with pytest.raises(ConfigError):
        choose_k(blobs4, rule="vibes")
    with pytest.raises(ConfigError):
        choose_k(blobs4, criteria=["silhouette", "nope"])
    with pytest.raises(ConfigError):
        choose_k(blobs4, k_min=1)


def test_write_k_selection(selection, tmp_path):
    metrics = write_k_selection(selection, tmp_path)
    assert metrics["choose_k/k"] == 4.0 and metrics["choose_k/gap_k"] == 4.0
    written = pd.read_csv(tmp_path / "k_selection.csv")
    pd.testing.assert_frame_equal(written, selection.table.reset_index(drop=True), check_dtype=False)
    assert (tmp_path / "k_selection.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "k_selection.json").read_text())
    assert data["k"] == 4 and data["picks"]["bic"] == 4
    assert np.isfinite([row["silhouette"] for row in data["table"]]).all()
