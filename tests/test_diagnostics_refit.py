"""Refits for diagnostics are unfitted copies of the run's fitted model, never a recipe from train."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from seglab.diagnostics.refit import unfitted_copy
from seglab.diagnostics.stability import clustering_stability
from seglab.models.kmeans import KMeansModel


class _Unpicklable:
    def __deepcopy__(self, memo):
        raise AssertionError("a live logger must be replaced, not deep-copied")


def test_unfitted_copy_keeps_parameters_changes_the_seed_and_applies_overrides():
    X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    fitted = KMeansModel(n_clusters=3, n_init=2, random_state=0).fit(X)
    copy = unfitted_copy(fitted, seed=7, overrides={"n_init": 1})
    assert not hasattr(copy, "labels_") and hasattr(fitted, "labels_")
    assert copy.get_params() == {**fitted.get_params(), "random_state": 7, "n_init": 1}
    assert unfitted_copy(fitted).get_params() == fitted.get_params()
    with pytest.raises(ValueError, match=r"KMeansModel has no parameter\(s\) \['trainer_kwargs'\]"):
        unfitted_copy(fitted, 1, {"trainer_kwargs": {}})


def test_deep_model_refits_replace_the_trainer_settings_before_copying():
    from seglab.models.dec import DEC

    model = DEC(n_clusters=3, random_state=0, trainer_kwargs={"logger": [_Unpicklable()], "max_epochs": 1})
    copy = unfitted_copy(model, seed=2, overrides={"trainer_kwargs": {"logger": False}})
    assert copy.get_params()["trainer_kwargs"] == {"logger": False}
    assert copy.get_params()["random_state"] == 2


def test_stability_refits_use_the_models_parameters_and_the_overrides():
    X, _ = make_blobs(n_samples=90, centers=3, cluster_std=0.3, random_state=1)
    model = KMeansModel(n_clusters=3, random_state=0).fit(X)
    res = clustering_stability(model, X, model.labels_, seeds=(1,), n_bootstrap=0)
    assert res.metrics["stability/seed_ari_vs_reference"] == pytest.approx(1.0)
    # the override reaches every refit: one cluster per refit makes them disagree with the reference
    res = clustering_stability(model, X, model.labels_, seeds=(1,), n_bootstrap=0, refit_params={"n_clusters": 1})
    assert res.metrics["stability/seed_ari_vs_reference"] == pytest.approx(0.0)
    assert np.isfinite(res.metrics["stability/min_segment_jaccard"])
