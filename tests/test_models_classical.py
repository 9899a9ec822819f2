"""Every classical baseline on small, well-separated blobs: the known answer is recovered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.errors import ConfigError
from seglab.models.base import ClusterModel
from seglab.models.classical import (
    ConsensusModel,
    DBSCANModel,
    GMMModel,
    HDBSCANModel,
    HierarchicalModel,
    MiniBatchKMeansModel,
    PCAKMeansModel,
    SpectralModel,
    co_association,
    kdistance_eps,
)

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny fits are slower with OpenMP threads than without (and much slower on a busy machine)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=400, centers=4, n_features=5, cluster_std=0.6, random_state=3)
    return X, y


K_MODELS = [
    MiniBatchKMeansModel(n_clusters=4, random_state=0),
    GMMModel(n_clusters=4, random_state=0),
    GMMModel(n_clusters=4, covariance_type="diag", random_state=0),
    HierarchicalModel(n_clusters=4),
    SpectralModel(n_clusters=4, random_state=0),
    PCAKMeansModel(n_clusters=4, n_components=2, random_state=0),
    ConsensusModel(n_clusters=4, n_runs=2, random_state=0),
    ConsensusModel(n_clusters=4, n_runs=2, k_range=[4, 8], random_state=0),
]


@pytest.mark.parametrize("model", K_MODELS, ids=lambda m: type(m).__name__)
def test_k_models_recover_blobs(model, blobs, tmp_path):
    X, y = blobs
    model.fit(X)
    assert model.labels_.shape == (len(X),)
    assert adjusted_rand_score(y, model.labels_) > 0.98
    assert np.array_equal(model.predict(X[:50]), model.labels_[:50]) or type(model).__name__ in {
        "SpectralModel",
        "ConsensusModel",
    }
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 4)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba.argmax(axis=1), model.predict(X))
    assert model.cluster_centers_.shape[0] == 4
    assert all(np.isfinite(v) for v in model.fit_report().values())
    # save/load predicts identically
    path = model.save(tmp_path / "m.ckpt")
    again = ClusterModel.load(path)
    assert np.array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize("model", K_MODELS, ids=lambda m: type(m).__name__)
def test_same_seed_same_labels(model, blobs):
    X, _ = blobs
    from sklearn.base import clone

    a = clone(model).fit(X).labels_
    b = clone(model).fit(X).labels_
    assert np.array_equal(a, b)


def test_pca_kmeans_embeds(blobs):
    X, y = blobs
    m = PCAKMeansModel(n_clusters=4, n_components=0.9, random_state=0).fit(X)
    Z = m.transform(X)
    assert Z.shape[1] == m.fit_report()["fit/n_components"] < X.shape[1] + 1
    assert m.has_embedding and not m.uses_lightning  # an embedding, but a classical baseline
    assert m.cluster_centers_.shape == (4, Z.shape[1])


def test_large_n_sampling_strategy(blobs):
    X, y = blobs
    for model in (
        HierarchicalModel(n_clusters=4, max_samples=100, random_state=1),
        HierarchicalModel(n_clusters=4, max_samples=100, assign="knn", random_state=1),
        SpectralModel(n_clusters=4, max_samples=120, random_state=1),
        ConsensusModel(n_clusters=4, n_runs=2, max_samples=150, random_state=1),
    ):
        model.fit(X)
        assert model.fit_report()["fit/sampled"] == 1.0
        assert adjusted_rand_score(y, model.labels_) > 0.98
        assert (model.labels_ >= 0).all()


def test_dbscan_finds_blobs_and_noise():
    X, y = make_blobs(n_samples=300, centers=[[0, 0], [6, 6], [0, 6]], cluster_std=0.4, random_state=0)
    outliers = np.array([[20.0, 20.0], [-15.0, 3.0], [3.0, -14.0]])
    Xo = np.vstack([X, outliers])
    m = DBSCANModel(eps="auto", min_samples=8).fit(Xo)
    assert m.n_clusters_ == 3
    assert (m.labels_[-3:] == -1).all()
    keep = m.labels_[:300] >= 0
    assert adjusted_rand_score(y[keep], m.labels_[:300][keep]) == 1.0
    assert keep.mean() > 0.95
    proba = m.predict_proba(Xo)
    assert proba.shape == (303, 3)
    assert (proba[-3:] == 0).all()
    assert (m.predict(outliers) == -1).all()
    # fixed eps works too; nonsense eps is a clear error
    assert DBSCANModel(eps=1.0, min_samples=8).fit(Xo).n_clusters_ == 3
    with pytest.raises(ConfigError):
        DBSCANModel(eps="large").fit(Xo)


def test_dbscan_sampled():
    X, y = make_blobs(n_samples=600, centers=[[0, 0], [6, 6], [0, 6]], cluster_std=0.4, random_state=0)
    m = DBSCANModel(min_samples=5, max_samples=200, random_state=0).fit(X)
    assert m.fit_report()["fit/sampled"] == 1.0
    keep = m.labels_ >= 0
    assert m.n_clusters_ == 3 and keep.mean() > 0.9
    assert adjusted_rand_score(y[keep], m.labels_[keep]) == 1.0


def test_kdistance_eps_between_scales():
    X, _ = make_blobs(n_samples=300, centers=[[0, 0], [10, 10]], cluster_std=0.3, random_state=0)
    eps = kdistance_eps(X, 5)
    assert 0.05 < eps < 3.0


def test_hdbscan_finds_blobs_and_noise():
    X, y = make_blobs(n_samples=300, centers=[[0, 0], [6, 6], [0, 6]], cluster_std=0.4, random_state=0)
    Xo = np.vstack([X, [[20.0, 20.0], [-15.0, 3.0]]])
    m = HDBSCANModel().fit(Xo)
    assert m.n_clusters_ == 3
    assert (m.labels_[-2:] == -1).all()
    keep = m.labels_[:300] >= 0
    assert adjusted_rand_score(y[keep], m.labels_[:300][keep]) == 1.0
    assert m.predict_proba(Xo).shape == (302, 3)
    assert np.array_equal(m.predict(Xo), m.labels_)


def test_co_association_by_hand():
    C = co_association([np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([-1, 0, 0])])
    # (0,1) together in labeling 1 only; (1,2) in 2 and 3; (0,2) never (noise joins nothing)
    expected = np.array([[1, 1 / 3, 0], [1 / 3, 1, 2 / 3], [0, 2 / 3, 1]])
    assert np.allclose(C, expected)


def test_gmm_bad_covariance_type(blobs):
    with pytest.raises(ConfigError):
        GMMModel(covariance_type="banana").fit(blobs[0])


@pytest.mark.parametrize(
    "name",
    ["minibatch_kmeans", "gmm", "hierarchical", "dbscan", "hdbscan", "spectral", "pca_kmeans", "consensus"],
)
def test_configs_instantiate(name, blobs):
    # the model file alone, resolved against the two root keys it reads (n_clusters, seed)
    cfg = OmegaConf.create(
        {"n_clusters": 4, "seed": 1, "model": OmegaConf.load(CONF / "model" / f"{name}.yaml")}
    )
    model = instantiate(cfg.model, _convert_="all")
    assert isinstance(model, ClusterModel)
    if hasattr(model, "random_state"):
        assert model.random_state == 1
    if name not in ("dbscan", "hdbscan"):
        assert model.n_clusters == 4
    labels = model.fit(blobs[0]).labels_
    assert len(labels) == len(blobs[0])
