"""What DEC's and IDEC's clustering phases themselves contribute, measured on data where it shows.

On 1,000 synthetic customers (behaviour features, default preprocessing) k-means on the pretrained
autoencoder's code is a poor start (ARI 0.70-0.84 on seeds 0-1) that DEC's self-training repairs
(0.88-0.94) and IDEC improves while keeping the autoencoder's neighbourhoods (kNN overlap with the
input space about 0.5, like the autoencoder's; DEC's drops to about 0.2 because it drops the
decoder). Both models start from the *same* pretrained autoencoder and the same k-means, so the
difference is the clustering phase alone. A target distribution normalised over the wrong axis
leaves DEC on its start (experiments/mutation.md), which the first test catches.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

from seglab.models.ae_kmeans import AEKMeans
from seglab.models.dec import DEC, IDEC
from seglab.models.losses import soft_assignment, target_distribution

TRAINER = {"accelerator": "cpu", "devices": 1, "deterministic": True, "enable_progress_bar": False,
           "enable_model_summary": False, "logger": False}


def knn_overlap(X: np.ndarray, Z: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k nearest neighbours in ``X`` that are also among them in ``Z``."""
    a = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    return float(np.mean([len(set(u) & set(v)) / k for u, v in zip(a, b, strict=True)]))


@pytest.fixture(scope="module", params=[0, 1], ids=["seed0", "seed1"])
def fitted(request):
    from seglab.data.synthetic import SyntheticSource
    from seglab.features import Preprocessor, build_features

    seed = request.param
    data = SyntheticSource(n_customers=1000, seed=seed).load()
    X = Preprocessor(random_state=seed).fit_transform(build_features(data))
    y = np.asarray(data.truth)
    kw = dict(n_clusters=5, noise=0.2, num_threads=1, random_state=seed, trainer_kwargs=TRAINER)
    ae = AEKMeans.from_config(**kw).fit(X)
    dec = DEC.from_config(**kw).fit(X, init_from=ae)
    idec = IDEC.from_config(**kw, cluster_optimizer="adam", cluster_lr=1e-3).fit(X, init_from=ae)
    return X, y, ae, dec, idec


def test_dec_beats_its_own_kmeans_start(fitted):
    X, y, ae, dec, _ = fitted
    np.testing.assert_array_equal(dec.init_labels_, ae.labels_)  # same start as AE+k-means
    start, end = adjusted_rand_score(y, dec.init_labels_), adjusted_rand_score(y, dec.labels_)
    assert end >= start + 0.05, (start, end)
    assert end >= 0.85, end


def test_idec_beats_its_start_and_keeps_local_structure(fitted):
    X, y, ae, dec, idec = fitted
    start, end = adjusted_rand_score(y, idec.init_labels_), adjusted_rand_score(y, idec.labels_)
    assert end >= start + 0.03, (start, end)
    kept_ae, kept_dec, kept_idec = (knn_overlap(X, m.transform(X)) for m in (ae, dec, idec))
    assert kept_idec >= 0.9 * kept_ae, (kept_idec, kept_ae)
    assert kept_idec >= kept_dec + 0.15, (kept_idec, kept_dec)


def test_self_training_makes_assignments_more_confident(fitted):
    """DEC's objective pulls q towards the sharper p: the mean top soft assignment rises."""
    X, _, ae, dec, _ = fitted
    before = ae.predict_proba(X).max(axis=1).mean()
    after = dec.predict_proba(X).max(axis=1).mean()
    assert after >= before + 0.1, (before, after)


# --- the target distribution's behaviour on any q (not one hand-computed case) -------------------
@pytest.mark.parametrize("seed", range(5))
def test_target_distribution_discounts_frequent_clusters(seed):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(200, 3, generator=gen, dtype=torch.float64)
    centres = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    q = soft_assignment(z, centres)
    p = target_distribution(q)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(200, dtype=torch.float64))
    assert (p > 0).all()
    # p_ij / p_ik = (q_ij / q_ik)^2 * f_k / f_j: a frequent cluster is discounted against a rare one
    f = q.sum(dim=0)
    for j, k in ((0, 1), (2, 3), (3, 0)):
        ratio = (p[:, j] / p[:, k]) / ((q[:, j] / q[:, k]) ** 2)
        torch.testing.assert_close(ratio, (f[k] / f[j]).expand(200))


@pytest.mark.parametrize("seed", range(3))
def test_target_distribution_sharpens_when_clusters_are_equally_frequent(seed):
    gen = torch.Generator().manual_seed(seed)
    rows = torch.softmax(torch.randn(50, 4, generator=gen, dtype=torch.float64) * 2, dim=1)
    q = torch.cat([rows.roll(s, dims=1) for s in range(4)])  # every column sums to the same
    p = target_distribution(q)
    assert torch.equal(p.argmax(dim=1), q.argmax(dim=1))
    assert (p.max(dim=1).values >= q.max(dim=1).values - 1e-12).all()
    torch.testing.assert_close(p, q**2 / (q**2).sum(dim=1, keepdim=True))
