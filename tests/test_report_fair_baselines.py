"""Fair baseline configurations: GMM's covariance structure by BIC without collapsed fits,
DBSCAN's min_samples from the dimension; the plain settings keep scikit-learn's labels."""

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture

from seglab.models.classical import DBSCANModel, GMMModel
from seglab.models.classical.mixture import COVARIANCE_TYPES, collapsed


@pytest.fixture(scope="module")
def blobs_with_point_mass():
    X, y = make_blobs(n_samples=400, centers=3, n_features=4, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(0)
    imputed = np.where(y == 0, 0.0, rng.normal(size=len(X)))  # one segment's block imputed with one value
    return np.column_stack([X, imputed]), y


def test_gmm_fixed_type_matches_sklearn(blobs_with_point_mass):
    X, _ = blobs_with_point_mass
    ours = GMMModel(n_clusters=3, covariance_type="diag", random_state=1).fit(X)
    theirs = GaussianMixture(3, covariance_type="diag", n_init=3, reg_covar=1e-6, init_params="k-means++",
                             random_state=1).fit(X)
    assert np.array_equal(ours.labels_, theirs.predict(X))
    assert "fit/covariance_type" not in ours.fit_report()


def test_gmm_bic_skips_collapsed_fits_and_records_the_choice(blobs_with_point_mass):
    X, y = blobs_with_point_mass
    model = GMMModel(n_clusters=3, covariance_type="bic", random_state=0).fit(X)
    rows = model.selection_
    assert len(rows) == 8 and sum(r["chosen"] for r in rows) == 1
    chosen = next(r for r in rows if r["chosen"])
    # full/diag components fit segment 0's constant column with zero variance: those fits collapse
    assert any(r["collapsed"] for r in rows if r["covariance_type"] in ("full", "diag"))
    assert not chosen["collapsed"]
    assert chosen["bic"] == min(r["bic"] for r in rows if not r["collapsed"])
    report = model.fit_report()
    assert COVARIANCE_TYPES[int(report["fit/covariance_type"])] == chosen["covariance_type"]
    assert report["fit/reg_covar"] == chosen["reg_covar"]
    assert report["fit/n_collapsed"] == sum(r["collapsed"] for r in rows)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(y, model.labels_) > 0.9


def test_collapsed_detects_a_zero_variance_component():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 2)), np.column_stack([rng.normal(size=100) + 6, np.zeros(100)])])
    diag = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    sph = GaussianMixture(2, covariance_type="spherical", random_state=0).fit(X)
    assert collapsed(diag, X) and not collapsed(sph, X)


def test_dbscan_min_samples_auto_is_twice_the_dimension(blobs_with_point_mass):
    X, _ = blobs_with_point_mass
    model = DBSCANModel(min_samples="auto", eps=0.8).fit(X)
    assert model.fit_report()["fit/min_samples"] == 2 * X.shape[1]
    assert np.array_equal(model.labels_, DBSCAN(eps=0.8, min_samples=10).fit(X).labels_)
    fixed = DBSCANModel(min_samples=7, eps=0.8).fit(X)
    assert np.array_equal(fixed.labels_, DBSCAN(eps=0.8, min_samples=7).fit(X).labels_)
