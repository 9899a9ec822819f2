"""The shipped DEC/IDEC configs start the clustering phase from k-means on the input features.

Why it matters: with the papers' start (k-means on the pretrained autoencoder's code,
``init=latent``) the default run ``python train.py`` ended in a wrong partition on 3 of 20 tuning
seeds at 5,000 customers: the code gives the customers with negative reviews a region of their
own, k-means there spends a cluster on them and merges two planted segments, and the
self-training only sharpens that start (ARI about 0.62 instead of 0.96; experiments/default_seeds.md).
k-means on the features, where the review block weighs as one feature, does not make that choice. These tests fail if a config goes back to the
latent start; the slow one shows it on a tuning seed where the latent start merged two segments.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

CONF = Path(__file__).resolve().parents[1] / "conf"


def _cfg(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides)


def _model(cfg):
    from seglab.train import build_model

    trainer = dict(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer.update(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    return build_model(cfg, trainer, None)


@pytest.mark.parametrize("name", ["dec", "idec"])
def test_shipped_config_starts_from_kmeans_on_the_features(name):
    cfg = _cfg([f"model={name}", "n_clusters=3", "seed=0", "model.pretrain_steps=40", "model.cluster_max_epochs=1"])
    model = _model(cfg)
    assert model._settings("clustering").init == "input"
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.5, size=(60, 4)) for c in (-3.0, 0.0, 3.0)]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    exact = KMeans(3, n_init=int(cfg.model.n_init), random_state=0).fit(X)
    np.testing.assert_array_equal(model.init_labels_, exact.labels_)


#: A tuning seed (never reported) on which the latent start spent a cluster on the customers with
#: negative reviews and merged lapsing with loyal high spenders: start ARI 0.620, final 0.618 with
#: ``model.init=latent`` (experiments/default_seeds.md, tuning section).
TRAP_SEED = 100


@pytest.mark.slow
def test_default_run_does_not_merge_segments_on_a_seed_where_the_latent_start_did():
    from hydra.utils import instantiate

    from seglab.train import customer_features, make_preprocessor

    cfg = _cfg([f"seed={TRAP_SEED}"])  # the default run: DEC, 5,000 customers, review text on
    data = instantiate(cfg.data, _convert_="all").load()
    X = np.asarray(make_preprocessor(cfg).fit_transform(customer_features(cfg, data)), dtype=np.float32)
    y = np.asarray(data.truth)
    model = _model(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    start, final = adjusted_rand_score(y, model.init_labels_), adjusted_rand_score(y, model.labels_)
    assert start >= 0.85, (start, final)  # the start keeps the planted segments apart
    assert final >= 0.93, (start, final)
