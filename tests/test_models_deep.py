"""Deep clustering models: the DEC/IDEC math against hand-computed values, and fast end-to-end fits."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from seglab.errors import ConfigError
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.base import ClusterModel
from seglab.models.dec import DEC, IDEC
from seglab.models.losses import idec_loss, kl_divergence, soft_assignment, target_distribution
from seglab.models.settings import Network

CONF = Path(__file__).resolve().parents[1] / "conf"

# Tiny, fast settings shared by the end-to-end tests (flat config keys: ``from_config``).
FAST = dict(hidden_dims=[16, 8], latent_dim=2, batch_size=64, max_epochs=30, patience=5,
            n_init=5, num_threads=1, trainer_kwargs={"accelerator": "cpu"})
DEC_FAST = dict(FAST, update_interval=5, cluster_max_epochs=5)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, n_features=6, centers=3, cluster_std=0.8, random_state=3)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    return X, y


# --- the math, by hand ----------------------------------------------------------------------
def test_soft_assignment_matches_hand_computation():
    z = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    mu = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    # alpha = 1: q ∝ 1 / (1 + d²). Row 0: d² = 0, 4 -> 1, 1/5. Row 1: d² = 2, 2 -> 1/3, 1/3.
    expected = torch.tensor([[1.0 / 1.2, 0.2 / 1.2], [0.5, 0.5]])
    assert torch.allclose(soft_assignment(z, mu, alpha=1.0), expected, atol=1e-6)
    # alpha = 2: kernel (1 + d²/2)^(-3/2). Row 0: 1 and 3^(-1.5).
    a, b = 1.0, 3.0 ** -1.5
    q2 = soft_assignment(z, mu, alpha=2.0)
    assert torch.allclose(q2[0], torch.tensor([a / (a + b), b / (a + b)]), atol=1e-6)


def test_target_distribution_matches_hand_computation():
    q = torch.tensor([[0.8, 0.2], [0.4, 0.6], [0.5, 0.5]])
    f = q.sum(0)  # soft frequencies: 1.7, 1.3
    rows = []
    for qi in q.tolist():
        w = [qi[0] ** 2 / 1.7, qi[1] ** 2 / 1.3]
        rows.append([w[0] / sum(w), w[1] / sum(w)])
    assert torch.allclose(f, torch.tensor([1.7, 1.3]))
    p = target_distribution(q)
    assert torch.allclose(p, torch.tensor(rows), atol=1e-6)
    # p sharpens confident rows: the 0.8 row becomes more confident
    assert p[0, 0] > q[0, 0]
    assert torch.allclose(p.sum(1), torch.ones(3))


def test_kl_divergence_matches_hand_computation():
    p = torch.tensor([[0.9, 0.1], [0.5, 0.5]])
    q = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    row0 = 0.9 * math.log(0.9 / 0.6) + 0.1 * math.log(0.1 / 0.4)
    expected = (row0 + 0.0) / 2  # batch mean of per-row KL
    assert kl_divergence(p, q).item() == pytest.approx(expected, abs=1e-6)
    # zero entries of p contribute nothing (0 log 0 = 0)
    assert kl_divergence(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]])).item() == pytest.approx(math.log(2))


def test_idec_loss_is_mse_plus_gamma_kl():
    p = torch.tensor([[0.9, 0.1], [0.5, 0.5]])
    q = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    mse = (0 + 1 + 1 + 0) / 4
    kl = (0.9 * math.log(0.9 / 0.6) + 0.1 * math.log(0.1 / 0.4)) / 2
    assert idec_loss(p, q, x_hat, x, gamma=0.1).item() == pytest.approx(mse + 0.1 * kl, abs=1e-6)


# --- estimators -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [AEKMeans, DEC, IDEC])
def test_fit_recovers_blobs(cls, blobs):
    X, y = blobs
    kw = FAST if cls is AEKMeans else DEC_FAST
    m = cls.from_config(n_clusters=3, random_state=0, **kw).fit(X)
    assert isinstance(m, ClusterModel) and m.has_embedding and m.uses_lightning
    assert adjusted_rand_score(y, m.labels_) > 0.9
    assert m.cluster_centers_.shape == (3, 2)
    assert m.transform(X).shape == (len(X), 2)
    proba = m.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(m.predict(X), m.labels_)
    report = m.fit_report()
    assert report["fit/n_empty_clusters"] == 0
    assert "fit/pretrain_epochs" in report and "fit/pretrain_val_loss" in report
    if cls is not AEKMeans:
        for key in ("fit/cluster_iterations", "fit/delta_label_final", "fit/stopped_by_tol"):
            assert key in report


def test_same_seed_same_labels(blobs):
    X, _ = blobs
    a = DEC.from_config(n_clusters=3, random_state=7, **DEC_FAST).fit(X)
    b = DEC.from_config(n_clusters=3, random_state=7, **DEC_FAST).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_save_load_round_trip(blobs, tmp_path):
    X, _ = blobs
    m = IDEC.from_config(n_clusters=3, random_state=0, **DEC_FAST).fit(X)
    path = m.save(tmp_path / "model.joblib")
    back = ClusterModel.load(path)
    assert type(back) is IDEC
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(back.reconstruct(X), m.reconstruct(X))


def test_pickle_drops_live_trainer_objects(blobs):
    X, _ = blobs

    class NotPicklable:
        def __reduce__(self):
            raise TypeError("loggers hold connections")

    m = AEKMeans.from_config(n_clusters=3, random_state=0, **{**FAST, "max_epochs": 2})
    m.fit(X)
    m.trainer_kwargs = {"accelerator": "cpu", "logger": [NotPicklable()]}
    back = pickle.loads(pickle.dumps(m))
    assert back.trainer_kwargs == {"accelerator": "cpu"}
    np.testing.assert_array_equal(back.predict(X), m.predict(X))


def test_shared_pretraining_and_clone(blobs):
    X, _ = blobs
    ae = AEKMeans.from_config(n_clusters=3, random_state=0, **FAST).fit(X)
    dec = DEC.from_config(n_clusters=3, random_state=0, **DEC_FAST).fit(X, init_from=ae)
    assert dec.fit_report()["fit/pretrain_shared"] == 1.0
    np.testing.assert_array_equal(dec.init_labels_, ae.labels_)
    # the donor's weights are copied, not moved or changed
    assert ae.encoder_ is not dec.encoder_
    np.testing.assert_array_equal(ae.labels_, ae.predict(X))
    assert clone(dec).get_params()["clustering__update_interval"] == 5


def test_layerwise_pretraining_runs(blobs):
    X, y = blobs
    m = AEKMeans.from_config(n_clusters=3, random_state=0, pretrain="layerwise", noise=0.2, layerwise_epochs=3,
                             **FAST).fit(X)
    report = m.fit_report()
    assert {"fit/pretrain_layer1_epochs", "fit/pretrain_layer3_epochs", "fit/pretrain_epochs"} <= set(report)
    assert adjusted_rand_score(y, m.labels_) > 0.8


def test_degenerate_solution_is_reported():
    m = DEC(n_clusters=3)
    with pytest.warns(RuntimeWarning, match="1 of 3 clusters are empty"):
        report = m._degeneracy_report(np.array([0, 0, 2, 2]))
    assert report["fit/n_empty_clusters"] == 1.0
    assert report["fit/min_cluster_share"] == 0.0 and report["fit/max_cluster_share"] == 0.5
    labels = np.r_[np.zeros(995, dtype=int), np.ones(4, dtype=int), [2]]
    assert m._degeneracy_report(labels)["fit/n_small_clusters"] == 2.0


def test_bad_input_is_rejected(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="NaN"):
        DEC.from_config(n_clusters=3, **DEC_FAST).fit(np.full((10, 3), np.nan))
    m = AEKMeans.from_config(n_clusters=3, random_state=0, **{**FAST, "max_epochs": 1}).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])
    with pytest.raises(NotFittedError, match="not fitted"):  # scikit-learn's error before a fit
        DEC().transform(X)


@pytest.mark.parametrize("name", ["ae_kmeans", "dec", "idec", "n2d", "dec_paper", "idec_paper", "multimodal"])
def test_model_configs_build(name, tmp_path):
    from hydra import compose, initialize_config_dir

    from seglab.train import build_model

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):  # *_paper.yaml inherit through defaults
        root = compose("config", overrides=[f"model={name}", "n_clusters=4", "seed=3", f"log_dir={tmp_path}"])
    model = build_model(root, dict(root.trainer))
    assert model.n_clusters == 4 and model.random_state == 3
    net = model.network
    assert isinstance(getattr(net, "hidden_dims", None) or net.tab_hidden_dims, list)
    assert isinstance(model.trainer_kwargs, dict) and model.trainer_kwargs["accelerator"] == "cpu"
    # every key of the file reached the model, under its settings object
    flat = {k: v for k, v in OmegaConf.to_container(root.model, resolve=True).items()
            if not k.startswith("_") and k not in ("n_clusters", "random_state", "trainer_kwargs", "augment",
                                                   "image_shape")}
    found = {**model.get_params(deep=False), **{k.split("__")[1]: v for k, v in model.get_params().items() if "__" in k}}
    found["clustering"] = found.get("method", found.get("clustering"))  # multimodal: clustering -> method
    assert {k: found[k] for k in flat} == flat
    if name.endswith("_paper"):
        assert net.dims() == ([500, 500, 2000], 10)


def test_paper_preset_builds_d_500_500_2000_10():
    from seglab.models.autoencoder import build_mlp_autoencoder

    hidden, latent = Network(preset="paper").dims()
    enc, dec = build_mlp_autoencoder(256, hidden, latent)
    widths = [m.out_features for m in enc if isinstance(m, torch.nn.Linear)]
    assert widths == [500, 500, 2000, 10]
    assert [m.out_features for m in dec if isinstance(m, torch.nn.Linear)] == [2000, 500, 500, 256]
    assert Network().dims() == ([64, 32], 10) and Network(latent_dim=3).dims() == ([64, 32], 3)
    # a preset never silently overrides widths given beside it
    with pytest.raises(ConfigError, match="preset='paper' sets hidden_dims and latent_dim itself"):
        Network(preset="paper", hidden_dims=[64, 32]).dims()
    with pytest.raises(ConfigError, match="latent_dim"):
        DEC.from_config(preset="paper", latent_dim=5).fit(np.zeros((10, 3), np.float32))


def test_n2d_fits_blobs_and_round_trips(blobs, tmp_path):
    pytest.importorskip("umap")
    from seglab.models.n2d import N2D

    X, y = blobs
    ae = AEKMeans.from_config(n_clusters=3, random_state=0, **FAST).fit(X)
    kw = {k: v for k, v in FAST.items() if k != "n_init"}
    m = N2D.from_config(n_clusters=3, random_state=0, umap_neighbors=15, **kw).fit(X, init_from=ae)
    assert adjusted_rand_score(y, m.labels_) > 0.9
    assert m.cluster_centers_.shape == (3, 3)  # umap_dim defaults to n_clusters
    proba = m.predict_proba(X[:50])
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    back = ClusterModel.load(m.save(tmp_path / "n2d.joblib"))
    np.testing.assert_array_equal(back.predict(X[:50]), m.predict(X[:50]))
