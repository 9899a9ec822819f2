"""Model settings that once passed the config check and failed after the data was read (or
never): checked now before any data, one line each naming the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from seglab.config import check_config
from seglab.errors import ConfigError
from seglab.models.autoencoder import ACTIVATIONS
from seglab.models.params import Items, at_least, widths
from seglab.models.settings import ACTIVATION_NAMES, Network

CONF = Path(__file__).resolve().parents[1] / "conf"

BAD = [
    (["model.activation=foo"], "model.activation=foo: one of elu, gelu, leaky_relu, relu, selu, sigmoid, tanh"),
    (["model.hidden_dims=[64,0]"], "model.hidden_dims=[64, 0]: a list of integers >= 1"),
    (["model.hidden_dims=[true]"], "model.hidden_dims=[true]: a list of integers >= 1"),
    (["model=multimodal", "model.tab_hidden_dims=[]"], "model.tab_hidden_dims=[]: a non-empty list of integers >= 1"),
    (["model=multimodal", "model.activation=foo"], None),  # not a key of multimodal.yaml: Hydra's own message
    (["model=consensus", "model.base_methods=[kmeans,foo]"],
     "model.base_methods=[kmeans, foo]: a non-empty list of kmeans, gmm, hierarchical, spectral"),
    (["model=consensus", "model.linkage=ward"], "model.linkage=ward: one of average, complete, single"),
    # settings that contradict each other: the built model's own check_settings, before any data
    (["model.preset=paper"], "model: preset='paper' sets hidden_dims and latent_dim itself; give either the "
                             "preset or hidden_dims and latent_dim (set the other to null)"),
    (["model.cluster_augment=true"], "model: cluster_augment=true needs the augmentation it applies: "
                                     "augment=affine with image_shape=[height, width] of the flattened images"),
]
GOOD = [["model.activation=Tanh"], ["model.hidden_dims=[]"], ["model=dec_paper"], ["model=idec_paper"],
        ["model.preset=paper", "model.hidden_dims=null", "model.latent_dim=null"],
        ["model.cluster_augment=true", "model.augment=affine", "model.image_shape=[4,4]"],
        ["model=consensus", "model.base_methods=[kmeans,spectral]"], ["model=multimodal"]]


@pytest.fixture(scope="module", autouse=True)
def hydra_conf():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_bad_model_setting_is_reported_before_any_data(overrides, message):
    if message is None:
        with pytest.raises(Exception, match="Could not override 'model.activation'"):
            compose("config", overrides=overrides)
        return
    with pytest.raises(ConfigError) as err:
        check_config(compose("config", overrides=overrides))
    assert str(err.value) == message


@pytest.mark.parametrize("overrides", GOOD, ids=" ".join)
def test_valid_model_settings_pass(overrides):
    check_config(compose("config", overrides=overrides))


def test_the_activation_names_are_the_ones_the_network_builds():
    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS)


def test_items_constraint():
    assert widths().is_satisfied_by([]) and widths().is_satisfied_by((8, 4))
    assert not widths(1).is_satisfied_by([]) and not widths().is_satisfied_by([8, 0])
    assert not widths().is_satisfied_by([True]) and not widths().is_satisfied_by("64")
    assert str(Items(at_least(1), "integers >= 1", min_len=1)) == "a non-empty list of integers >= 1"


def test_the_model_checks_the_same_settings_when_fitted_from_python():
    from seglab.models.dec import DEC

    with pytest.raises(ConfigError, match="hidden_dims"):
        DEC(network=Network(hidden_dims=[0])).fit([[0.0, 1.0]] * 10)
