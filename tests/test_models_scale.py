"""The budgets and passes that keep DEC/IDEC's quality and cost independent of the data size.

Small data, real fits: step budgets of the pretraining, the sampled k-means start above a size
threshold, the streaming target update, the stopping test over a full pass, the clustering
phase on a sample, the input-space start, index batches (single process and DDP slices) and the
progress fed once per step.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from torch.utils.data import DataLoader, TensorDataset

from seglab.errors import ConfigError
from seglab.models import batches
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.autoencoder import build_mlp_autoencoder, pretrain_autoencoder, step_budget
from seglab.models.batches import index_loader
from seglab.models.centres import cluster_means, kmeans_centres
from seglab.models.clustering_phase import ClusteringModule
from seglab.models.dec import DEC, IDEC
from seglab.models.fit_progress import FitProgress
from seglab.models.losses import soft_assignment, target_distribution

TRAINER = {"accelerator": "cpu", "devices": 1, "deterministic": True}
FAST = dict(hidden_dims=[16, 8], latent_dim=2, batch_size=32, max_epochs=20, patience=5, n_init=5,
            num_threads=1, trainer_kwargs=TRAINER)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=400, n_features=6, centers=3, cluster_std=0.8, random_state=3)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


# --- pretraining budget --------------------------------------------------------------------------
def test_step_budget_binds_only_when_smaller_than_the_epochs():
    assert step_budget(18, 100, 1800)["bound"] == "epochs"  # 5,000 customers: unchanged
    assert step_budget(18, 100, None)["bound"] == "epochs"
    big = step_budget(352, 100, 1800)  # 10^5 customers: 35,200 steps by epochs
    assert big["bound"] == "steps" and big["max_steps"] == 1800
    assert big["val_check_interval"] == 18 and big["check_val_every_n_epoch"] is None  # 100 validations
    assert step_budget(5, 100, 300)["val_check_interval"] == 3  # budget / 100, rounded up
    assert step_budget(2, 100, 150)["val_check_interval"] == 2  # but at least once per epoch


def test_pretraining_stops_at_the_step_budget(blobs):
    X, _ = blobs
    enc, dec = build_mlp_autoencoder(6, [16], 2)
    # 360 training rows / batch 32 = 12 steps per epoch: 20 epochs would be 240 steps
    report = pretrain_autoencoder(enc, dec, X, batch_size=32, max_epochs=20, max_steps=50, patience=None,
                                  trainer_kwargs=TRAINER)
    assert report["fit/pretrain_steps"] == 50
    assert 0 < report["fit/pretrain_best_step"] <= 50
    unbound = pretrain_autoencoder(*build_mlp_autoencoder(6, [16], 2), X, batch_size=32, max_epochs=3,
                                   max_steps=1000, patience=None, trainer_kwargs=TRAINER)
    assert unbound["fit/pretrain_steps"] == 36 and unbound["fit/pretrain_epochs"] == 3


def test_a_step_budget_that_does_not_bind_changes_nothing(blobs):
    X, _ = blobs
    a = AEKMeans.from_config(n_clusters=3, random_state=0, **FAST).fit(X)
    b = AEKMeans.from_config(n_clusters=3, random_state=0, pretrain_steps=10_000, **FAST).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_validation_is_capped_and_not_a_copy():
    from seglab.models.autoencoder import MAX_VALIDATION_ROWS, split_indices

    tr, va = split_indices(10 * MAX_VALIDATION_ROWS + 50, 0.5, np.random.default_rng(0))
    assert len(va) == MAX_VALIDATION_ROWS and len(tr) == 9 * MAX_VALIDATION_ROWS + 50
    assert not set(tr) & set(va)


# --- k-means start -------------------------------------------------------------------------------
def test_kmeans_is_exact_up_to_the_threshold_and_sampled_above(blobs):
    X, _ = blobs
    labels, centres, inertia = kmeans_centres(X, 3, n_init=4, random_state=1, sample_size=len(X))
    exact = KMeans(3, n_init=4, random_state=1).fit(X)
    np.testing.assert_array_equal(labels, exact.labels_)
    assert inertia == pytest.approx(exact.inertia_)
    labels_s, centres_s, inertia_s = kmeans_centres(X, 3, n_init=4, random_state=1, sample_size=100)
    rows = np.sort(np.random.default_rng(1).choice(len(X), 100, replace=False))
    on_sample = KMeans(3, n_init=4, random_state=1).fit(X[rows])
    np.testing.assert_allclose(centres_s, on_sample.cluster_centers_, rtol=1e-5)
    # every row (not only the sample's) is assigned to its nearest sampled centre
    d2 = ((X[:, None, :] - centres_s[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels_s, d2.argmin(1))
    assert inertia_s == pytest.approx(d2.min(1).sum(), rel=1e-4)
    assert adjusted_rand_score(labels, labels_s) > 0.95


def test_cluster_means_handles_an_empty_label():
    Z = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 0.0]], dtype=np.float32)
    means = cluster_means(Z, np.array([0, 0, 2]), 3)
    np.testing.assert_allclose(means, [[1.0, 1.0], [2.0, 2 / 3], [4.0, 0.0]], rtol=1e-6)


def test_input_start_is_kmeans_on_the_features_with_latent_centres(blobs):
    X, y = blobs
    m = DEC.from_config(n_clusters=3, random_state=0, init="input", update_interval=5, cluster_max_epochs=3, **FAST).fit(X)
    exact = KMeans(3, n_init=5, random_state=0).fit(X)
    np.testing.assert_array_equal(m.init_labels_, exact.labels_)
    assert adjusted_rand_score(y, m.labels_) > 0.9
    with pytest.raises(ConfigError, match="'init' parameter of SelfTraining must be a str among"):
        DEC.from_config(n_clusters=3, init="pixels", **FAST).fit(X)


# --- clustering phase ------------------------------------------------------------------------------
def test_streaming_target_equals_the_full_computation():
    torch.manual_seed(0)
    X = torch.randn(103, 4)
    enc = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    centres = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    module = ClusteringModule(enc, None, centres, X, eval_batch_size=10)  # 11 chunks, the last short
    labels = module.compute_target()
    with torch.no_grad():
        q = soft_assignment(enc(X), module.centers, 1.0)
    torch.testing.assert_close(module.p_all, target_distribution(q), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(labels, q.argmax(1))


def test_stopping_test_spans_a_full_pass(blobs):
    X, _ = blobs  # 400 rows / batch 32 = 13 steps per pass; updates every 4 steps
    m = DEC.from_config(n_clusters=3, random_state=0, update_interval=4, tol=0.0, cluster_max_epochs=4, **FAST).fit(X)
    tests = [h["step"] for h in m.cluster_history_ if not np.isnan(h["delta_label"])]
    updates = [h["step"] for h in m.cluster_history_]
    assert updates[:5] == [0, 4, 8, 12, 16]
    assert tests[0] == 16  # the first update 13 or more steps after the first one
    assert all(b - a >= 13 for a, b in zip(tests, tests[1:], strict=False))
    # with an interval longer than a pass every update is a test (the paper's rule)
    m2 = DEC.from_config(n_clusters=3, random_state=0, update_interval=20, tol=0.0, cluster_max_epochs=3, **FAST).fit(X)
    assert all(not np.isnan(h["delta_label"]) for h in m2.cluster_history_[1:])


@pytest.mark.parametrize("cls", [DEC, IDEC])
def test_clustering_phase_on_a_sample_labels_every_row(cls, blobs):
    X, y = blobs
    m = cls.from_config(n_clusters=3, random_state=0, init="input", cluster_sample_size=150, update_interval=3,
            cluster_max_epochs=3, **FAST).fit(X)
    report = m.fit_report()
    assert report["fit/cluster_rows"] == 150
    assert len(m.labels_) == len(X)
    np.testing.assert_array_equal(m.labels_, m.predict(X))
    assert adjusted_rand_score(y, m.labels_) > 0.9


@pytest.mark.parametrize("bad", [{"update_interval": 0}, {"update_interval": "30 batches"},
                                 {"cluster_max_epochs": 0}, {"cluster_sample_size": 0}])
def test_bad_clustering_budgets_give_a_clear_error(bad, blobs):
    X, _ = blobs
    with pytest.raises(ConfigError, match=next(iter(bad))):
        DEC.from_config(n_clusters=3, random_state=0, **{**FAST, "max_epochs": 1}, **bad).fit(X)


# --- batches -----------------------------------------------------------------------------------
def test_index_batches_are_the_seeded_dataloaders_batches():
    X = torch.arange(50, dtype=torch.float32).reshape(25, 2)
    ours = index_loader(X, batch_size=4, shuffle=True, seed=7)
    ref = DataLoader(TensorDataset(X), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(7))
    for _ in range(3):  # several epochs: the generator advances the same way
        for (a,), (b,) in zip(ours, ref, strict=True):
            torch.testing.assert_close(a, b)


def test_ddp_ranks_split_each_global_batch(monkeypatch):
    X = torch.arange(22, dtype=torch.float32).reshape(11, 2)
    rows = np.array([0, 2, 3, 5, 6, 7, 8, 9, 10])
    single = [b[0] for b in index_loader(X, batch_size=4, rows=rows, shuffle=True, seed=3)]
    parts = []
    for rank in (0, 1):
        monkeypatch.setattr(batches, "rank_and_world", lambda r=rank: (r, 2))
        parts.append([b[0] for b in index_loader(X, batch_size=4, rows=rows, shuffle=True, seed=3)])
        unsharded = [b[0] for b in index_loader(X, batch_size=4, rows=rows, shard=False)]
        assert sum(len(b) for b in unsharded) == len(rows)  # validation: every rank scores all rows
    # the last global batch has 1 row < 2 ranks: dropped; the others are split in halves
    assert len(parts[0]) == len(parts[1]) == 2
    for whole, a, b in zip(single, *parts, strict=False):
        torch.testing.assert_close(torch.cat([a, b]), whole)


# --- progress ----------------------------------------------------------------------------------
def test_progress_is_fed_once_per_step_out_of_the_budget(blobs, monkeypatch):
    X, _ = blobs
    seen = []

    class Spy(FitProgress):
        def on_train_end(self, trainer, pl_module):
            seen.append((self.desc, self.bar.n, self.bar.total, trainer.global_step))
            super().on_train_end(trainer, pl_module)

    import seglab.models.autoencoder as ae

    monkeypatch.setattr(ae, "FitProgress", Spy)
    pretrain_autoencoder(*build_mlp_autoencoder(6, [8], 2), X, batch_size=32, max_epochs=50, max_steps=30,
                         patience=None, trainer_kwargs=TRAINER)
    assert seen == [("pretrain: autoencoder", 30, 30, 30)]
