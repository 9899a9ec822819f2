"""Pretraining options added for the USPS recipe: lr schedules and DEC-DA image augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from seglab.errors import ConfigError
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.augment import AffineJitter, augment_images, check_augment
from seglab.models.autoencoder import make_lr_scheduler
from seglab.models.dec import DEC, IDEC

TINY = dict(hidden_dims=[8], latent_dim=2, batch_size=32, max_epochs=3, patience=None, n_init=2,
            num_threads=1, trainer_kwargs={"accelerator": "cpu"})


def _lrs(schedule: str, epochs: int) -> list[float]:
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make_lr_scheduler(opt, schedule, epochs)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    return lrs


def test_lr_schedules():
    assert _lrs("constant", 4) == [1.0] * 4
    cos = _lrs("cosine", 4)  # 0.5 * (1 + cos(pi * t / 4))
    np.testing.assert_allclose(cos, [1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4))])
    np.testing.assert_allclose(_lrs("step", 6), [1.0] * 4 + [0.1] * 2)  # / 10 at 2/3 of the epochs
    with pytest.raises(ValueError, match="lr_schedule"):
        make_lr_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), "linear", 3)


def test_augment_identity_and_shift():
    x = torch.zeros(1, 16)
    x[0, 5] = 1.0  # pixel (1, 1) of a 4x4 image
    same = augment_images(x, (4, 4), max_shift=0.0, max_rotate=0.0)
    torch.testing.assert_close(same, x)
    torch.manual_seed(0)
    moved = augment_images(x.repeat(50, 1), (4, 4))
    assert moved.shape == (50, 16)
    assert not torch.allclose(moved, x.repeat(50, 1))  # jittered
    with pytest.raises(ValueError, match="image_shape"):
        augment_images(x, (3, 3))
    with pytest.raises(ValueError, match="image_shape"):
        check_augment("affine", None)
    with pytest.raises(ValueError, match="augment"):
        check_augment("mixup", (4, 4))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.random((64, 16)).astype(np.float32)
    X[:32, :8] += 1.0  # two groups: top half bright or not
    return X


@pytest.mark.parametrize("cls", [AEKMeans, DEC, IDEC])
def test_models_fit_with_schedule_and_augmentation(cls, images):
    kw = dict(TINY, lr_schedule="cosine", augment="affine", image_shape=(4, 4))
    if cls is not AEKMeans:
        kw.update(cluster_augment=True, update_interval=2, cluster_max_epochs=1)
    m = cls.from_config(n_clusters=2, random_state=0, **kw).fit(images)
    assert m.labels_.shape == (64,)
    params = clone(m).get_params()
    assert params["pretraining__lr_schedule"] == "cosine" and params["augment"] == AffineJitter(image_shape=(4, 4))
    again = cls.from_config(n_clusters=2, random_state=0, **kw).fit(images)
    np.testing.assert_array_equal(m.labels_, again.labels_)  # augmentation is seeded


def test_cluster_augment_needs_image_shape(images):
    with pytest.raises(ConfigError, match="image_shape"):  # a config error (the config check finds it first)
        DEC.from_config(n_clusters=2, cluster_augment=True, update_interval=2, cluster_max_epochs=1, **TINY).fit(images)
