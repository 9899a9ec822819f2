"""The multimodal (tabular + text) autoencoder with DEC/IDEC on the fused latent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seglab.errors import ConfigError
from seglab.models.base import ClusterModel
from seglab.models.multimodal import ModalityDecoder, ModalityEncoder, MultimodalDEC, split_modalities

NAMES = ["recency", "frequency", "monetary", "tenure", "text_has_reviews", "text_n_reviews", "text_sent_mean",
         "text_sent_min"]


def _data(n=240, seed=0, missing=0.4):
    """Three tabular segments; a ``missing`` share of customers without reviews (text = imputed constant)."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    tab = rng.normal(size=(n, 4)) * 0.3 + np.eye(3, 4)[seg] * 3
    has = (rng.random(n) >= missing).astype(float)
    sent = np.where(seg == 0, -0.7, 0.6) + rng.normal(size=n) * 0.1
    text = np.column_stack([has, has * rng.integers(1, 4, n), sent, sent - 0.1])
    text[has == 0, 1:] = np.median(text[has == 1, 1:], axis=0)  # what median imputation leaves
    X = np.column_stack([tab, text])
    X = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)  # standard scaling, as seglab's preprocess does
    return X.astype(np.float32), seg, has.astype(bool)


def _model(**kw):
    args = dict(n_clusters=3, feature_names=NAMES, tab_hidden_dims=(16, 8), text_hidden_dims=(8, 4), latent_dim=3,
                max_epochs=15, cluster_max_epochs=3, batch_size=64, n_init=5, num_threads=1, random_state=0)
    args.update(kw)
    return MultimodalDEC.from_config(**args)


def test_split_by_prefix():
    tab, text, mask = split_modalities(NAMES)
    assert tab == [0, 1, 2, 3] and text == [5, 6, 7] and mask == 4
    assert split_modalities(["a", "text_x"]) == ([0], [1], None)


def _modules(text_weight=0.5):
    enc = ModalityEncoder(8, [0, 1, 2, 3], [5, 6, 7], 4, (8,), (4,), 3, "relu", 0.0)
    return enc, ModalityDecoder(enc, (8,), (4,), 3, "relu", 0.0, text_weight)


def test_loss_ignores_text_of_customers_without_reviews():
    X, _, has = _data()
    x = torch.as_tensor(X)
    enc, dec = _modules()
    with torch.no_grad():
        x_hat = dec(enc(x))
        x2 = x.clone()
        x2[~torch.as_tensor(has)][:, 5:] += 5.0  # no-op view; do it explicitly:
        rows = torch.as_tensor(np.flatnonzero(~has))
        x2[rows.unsqueeze(1), torch.tensor([5, 6, 7])] += 5.0
        assert dec.loss(x_hat, x2) == pytest.approx(float(dec.loss(x_hat, x)), rel=1e-6)
        # ... and the encoder does not see them either
        np.testing.assert_allclose(enc(x2).numpy(), enc(x).numpy(), atol=1e-6)
        # the same change on reviewed customers does change the loss
        rows = torch.as_tensor(np.flatnonzero(has))
        x3 = x.clone()
        x3[rows.unsqueeze(1), torch.tensor([5, 6, 7])] += 5.0
        assert float(dec.loss(x_hat, x3)) > float(dec.loss(x_hat, x)) + 1.0


def test_modality_weights():
    X, _, _ = _data()
    x = torch.as_tensor(X)
    for w, cols in ((0.0, [4, 5, 6, 7]), (1.0, [0, 1, 2, 3])):
        enc, dec = _modules(text_weight=w)
        with torch.no_grad():
            x_hat = dec(enc(x))
            x2 = x.clone()
            x2[:, cols] += 3.0  # the modality with weight 0 does not count
            assert float(dec.loss(x_hat, x2)) == pytest.approx(float(dec.loss(x_hat, x)), rel=1e-6)


@pytest.mark.parametrize("clustering", ["idec", "dec", "none"])
def test_fit_predict_protocol(clustering, tmp_path):
    X, seg, _ = _data()
    model = _model(clustering=clustering).fit(X)
    assert isinstance(model, ClusterModel) and model.has_embedding and model.uses_lightning
    assert model.labels_.shape == (len(X),) and set(model.labels_) <= {0, 1, 2}
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert model.transform(X).shape == (len(X), 3)
    rep = model.fit_report()
    assert rep["fit/n_text_features"] == 3.0 and rep["fit/n_tab_features"] == 4.0
    if clustering != "dec":
        r = model.reconstruction_by_modality(X)
        assert np.isfinite(r["recon/tabular_mse"]) and np.isfinite(r["recon/text_mse"])
    loaded = ClusterModel.load(model.save(tmp_path / "m.ckpt"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_fit_recovers_planted_segments():
    from sklearn.metrics import adjusted_rand_score

    X, seg, _ = _data(n=300, missing=0.0)  # the mask is constant: everyone has reviews
    model = _model(max_epochs=40).fit(X)
    assert adjusted_rand_score(seg, model.labels_) > 0.8


def test_feature_names_are_checked():
    X, _, _ = _data(n=60)
    with pytest.raises(ConfigError, match="feature_names"):
        _model(feature_names=None).fit(X)
    with pytest.raises(ConfigError, match="no 'text_"):
        _model(feature_names=[f"f{i}" for i in range(8)]).fit(X)
    # feature_names may come with fit instead
    _model(feature_names=None, max_epochs=1, cluster_max_epochs=1).fit(X, feature_names=NAMES)


def test_constant_mask_column_means_everyone_has_reviews():
    from seglab.models.multimodal import mask_from_column

    assert mask_from_column(torch.zeros(4)).tolist() == [1, 1, 1, 1]
    assert mask_from_column(torch.tensor([-1.2, 0.8, 0.8])).tolist() == [0, 1, 1]
