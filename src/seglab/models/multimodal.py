"""A multimodal autoencoder (tabular behaviour + review-text sentiment) with DEC/IDEC on its latent.

The preprocessed matrix ``X`` holds both modalities side by side; ``feature_names`` (the
preprocessor's output names) says which column is which: names starting with ``text_prefix``
(``text_``) form the text modality, the rest the tabular one, and ``mask_feature``
(``text_has_reviews``) says which customers have reviews at all.

Architecture (all MLPs, linear latent and reconstruction layers as in DEC)::

    tabular cols ─▶ tab MLP ──┐                                  ┌─▶ tab MLP ─▶ tabular cols
                              ├─▶ fuse (linear) ─▶ z ─▶ unfuse ──┤
    text cols*mask, mask ─▶ text MLP ─┘                          └─▶ text MLP ─▶ text cols

- the text branch sees the text columns multiplied by the mask (customers without reviews carry
  only imputed values, which are zeroed) plus the mask itself;
- reconstruction loss = ``(1 - text_weight) * MSE_tab + text_weight * MSE_text`` where MSE_text
  averages only the entries that exist: sentiment columns of customers **with** reviews, and the
  mask column for everyone. Customers without reviews therefore contribute nothing to the
  text term beyond "has no reviews"; each modality weighs what ``text_weight`` says whatever its
  number of columns;
- ``clustering``: ``idec`` (default; KL + this reconstruction loss, decoder kept), ``dec``
  (KL only) or ``none`` (k-means on the fused latent, i.e. AE+k-means).

It reuses seglab's deep-model plumbing (`seglab.models.dec.IDEC`: k-means init, target
updates, tolerance stop, reports, persistence); only the modules and the loss differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from seglab.errors import ConfigError
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.autoencoder import ACTIVATIONS, AutoencoderModule, build_mlp, corrupt, pretrain_autoencoder
from seglab.models.checkpoints import stage_path
from seglab.models.clustering_phase import ClusteringModule
from seglab.models.dec import IDEC


# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------
def split_modalities(
    feature_names: Sequence[str], text_prefix: str = "text_", mask_feature: str = "text_has_reviews"
) -> tuple[list[int], list[int], int | None]:
    """(tabular column indices, text column indices without the mask, mask column index or None)."""
    names = [str(n) for n in feature_names]
    mask = names.index(mask_feature) if mask_feature in names else None
    text = [i for i, n in enumerate(names) if n.startswith(text_prefix) and i != mask]
    tab = [i for i, n in enumerate(names) if not n.startswith(text_prefix)]
    return tab, text, mask


def mask_from_column(col: torch.Tensor) -> torch.Tensor:
    """1.0 where a customer has reviews, from the (possibly standardised) mask column.

    A 0/1 flag stays 0/1 under any monotone scaling, so the upper of its two values means
    "has reviews"; a constant column (all customers have reviews, or it was never scaled) is
    read as its sign (a constant 0 after standardisation means all equal: all reviewed, since
    seglab builds no text features for data without reviews).
    """
    lo, hi = col.min(), col.max()
    if float(hi - lo) < 1e-8:
        return torch.ones_like(col) if float(hi) >= 0 else torch.zeros_like(col)
    return (col > (lo + hi) / 2).to(col.dtype)


class ModalityEncoder(nn.Module):
    """Two MLP branches (tabular, text) concatenated and fused linearly into the latent."""

    def __init__(self, n_features: int, tab_idx: Sequence[int], text_idx: Sequence[int], mask_idx: int | None,
                 tab_hidden: Sequence[int], text_hidden: Sequence[int], latent_dim: int, activation: str,
                 dropout: float):
        super().__init__()
        self.n_features = int(n_features)
        self.register_buffer("tab_idx", torch.as_tensor(list(tab_idx), dtype=torch.long))
        self.register_buffer("text_idx", torch.as_tensor(list(text_idx), dtype=torch.long))
        self.mask_idx = mask_idx
        n_text_in = len(text_idx) + (1 if mask_idx is not None else 0)
        self.tab = build_mlp([len(tab_idx), *tab_hidden], activation, dropout, last_activation=True)
        self.text = build_mlp([n_text_in, *text_hidden], activation, dropout, last_activation=True)
        self.fuse = nn.Linear(int(tab_hidden[-1]) + int(text_hidden[-1]), int(latent_dim))

    def row_mask(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask_idx is None:
            return torch.ones(len(x), dtype=x.dtype, device=x.device)
        return mask_from_column(x[:, self.mask_idx])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.row_mask(x)
        text_in = x[:, self.text_idx] * m.unsqueeze(1)
        if self.mask_idx is not None:
            text_in = torch.cat([text_in, m.unsqueeze(1)], dim=1)
        return self.fuse(torch.cat([self.tab(x[:, self.tab_idx]), self.text(text_in)], dim=1))


class ModalityDecoder(nn.Module):
    """Latent -> both branches -> the full feature vector in the original column order.

    ``loss(x_hat, x)`` is the modality-weighted, mask-aware reconstruction loss.
    """

    def __init__(self, encoder: ModalityEncoder, tab_hidden: Sequence[int], text_hidden: Sequence[int],
                 latent_dim: int, activation: str, dropout: float, text_weight: float):
        super().__init__()
        self.n_features = encoder.n_features
        self.register_buffer("tab_idx", encoder.tab_idx.clone())
        self.register_buffer("text_idx", encoder.text_idx.clone())
        self.mask_idx = encoder.mask_idx
        self.text_weight = float(text_weight)
        n_text_out = len(encoder.text_idx) + (1 if self.mask_idx is not None else 0)
        th, xh = [int(h) for h in tab_hidden], [int(h) for h in text_hidden]
        self.unfuse = nn.Sequential(nn.Linear(int(latent_dim), th[-1] + xh[-1]), ACTIVATIONS[activation.lower()]())
        self.split = th[-1]
        self.tab = build_mlp([*th[::-1], len(encoder.tab_idx)], activation, dropout, last_activation=False)
        self.text = build_mlp([*xh[::-1], n_text_out], activation, dropout, last_activation=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.unfuse(z)
        out = torch.zeros(len(z), self.n_features, dtype=z.dtype, device=z.device)
        out[:, self.tab_idx] = self.tab(h[:, : self.split])
        text_out = self.text(h[:, self.split :])
        out[:, self.text_idx] = text_out[:, : len(self.text_idx)]
        if self.mask_idx is not None:
            out[:, self.mask_idx] = text_out[:, -1]
        return out

    def loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        tab_loss = (x_hat[:, self.tab_idx] - x[:, self.tab_idx]).pow(2).mean()
        if self.mask_idx is not None:
            m = mask_from_column(x[:, self.mask_idx])
        else:
            m = torch.ones(len(x), dtype=x.dtype, device=x.device)
        err = (x_hat[:, self.text_idx] - x[:, self.text_idx]).pow(2) * m.unsqueeze(1)
        total, count = err.sum(), m.sum() * len(self.text_idx)
        if self.mask_idx is not None:
            total = total + (x_hat[:, self.mask_idx] - x[:, self.mask_idx]).pow(2).sum()
            count = count + len(x)
        text_loss = total / count.clamp(min=1.0)
        return (1.0 - self.text_weight) * tab_loss + self.text_weight * text_loss


# --------------------------------------------------------------------------------------------
# Lightning modules with the masked loss
# --------------------------------------------------------------------------------------------
class MaskedAutoencoderModule(AutoencoderModule):
    """`AutoencoderModule` whose loss is the decoder's modality-weighted masked loss."""

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x = batch[0]
        loss = self.decoder.loss(self(corrupt(x, self.noise, self.noise_kind)), x)
        self.log(f"{self.stage}/train_loss", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(x))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        x = batch[0]
        self.log(f"{self.stage}/val_loss", self.decoder.loss(self(x), x), on_step=False, on_epoch=True, sync_dist=True, batch_size=len(x))


class MaskedClusteringModule(ClusteringModule):
    """`ClusteringModule` (DEC/IDEC phase) with the masked, modality-weighted reconstruction term."""

    def reconstruction(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.decoder.loss(self.decoder(z), x)


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------
class MultimodalDEC(IDEC):
    """Two-branch autoencoder (tabular + text) with IDEC/DEC/k-means on the fused latent.

    Args (beyond `seglab.models.dec.IDEC`'s, which keep their meaning):
        feature_names: names of ``X``'s columns (the preprocessor's ``feature_names_out_``);
            may also be given to ``fit``.
        text_prefix / mask_feature: how text columns and the has-reviews mask are recognised.
        tab_hidden_dims / text_hidden_dims: hidden widths of each branch (mirrored in the decoder).
        text_weight: weight of the text term in the reconstruction loss (tabular gets 1 - it).
        clustering: ``idec`` | ``dec`` | ``none`` (AE + k-means on the fused latent).
    """

    clustering_module_class = MaskedClusteringModule  # DEC's clustering loop, masked loss

    def __init__(
        self,
        n_clusters: int = 5,
        feature_names: Sequence[str] | None = None,
        text_prefix: str = "text_",
        mask_feature: str = "text_has_reviews",
        tab_hidden_dims: Sequence[int] = (64, 32),
        text_hidden_dims: Sequence[int] = (16, 8),
        latent_dim: int = 10,
        text_weight: float = 0.5,
        clustering: str = "idec",
        dropout: float = 0.0,
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        pretrain_steps: int | None = None,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        noise: float = 0.0,
        noise_kind: str = "dropout",
        n_init: int = 20,
        kmeans_sample_size: int | None = 100_000,
        alpha: float = 1.0,
        init: str = "latent",
        update_interval: int = 30,
        tol: float = 0.001,
        cluster_max_epochs: int = 100,
        cluster_lr: float = 0.01,
        cluster_optimizer: str = "sgd",
        cluster_momentum: float = 0.9,
        cluster_batch_size: int | None = None,
        cluster_sample_size: int | None = None,
        gamma: float = 0.1,
        num_threads: int | None = None,
        random_state: int = 0,
        trainer_kwargs: Mapping[str, Any] | None = None,
    ):
        super().__init__(
            n_clusters=n_clusters, hidden_dims=tab_hidden_dims, latent_dim=latent_dim, dropout=dropout,
            activation=activation, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
            max_epochs=max_epochs, pretrain_steps=pretrain_steps, patience=patience, val_fraction=val_fraction,
            noise=noise, noise_kind=noise_kind, n_init=n_init, kmeans_sample_size=kmeans_sample_size, alpha=alpha,
            init=init, update_interval=update_interval, tol=tol,
            cluster_max_epochs=cluster_max_epochs, cluster_lr=cluster_lr, cluster_optimizer=cluster_optimizer,
            cluster_momentum=cluster_momentum, cluster_batch_size=cluster_batch_size,
            cluster_sample_size=cluster_sample_size, gamma=gamma,
            num_threads=num_threads, random_state=random_state, trainer_kwargs=trainer_kwargs,
        )
        self.feature_names = feature_names
        self.text_prefix = text_prefix
        self.mask_feature = mask_feature
        self.tab_hidden_dims = tab_hidden_dims
        self.text_hidden_dims = text_hidden_dims
        self.text_weight = text_weight
        self.clustering = clustering

    def fit(self, X: np.ndarray, y: Any = None, feature_names: Sequence[str] | None = None, **kwargs: Any):
        if feature_names is not None:
            self.feature_names = list(feature_names)
        if self.clustering not in ("idec", "dec", "none"):
            raise ConfigError(f"clustering must be idec, dec or none, got {self.clustering!r}")
        if not 0.0 <= float(self.text_weight) <= 1.0:
            raise ConfigError(f"text_weight must be in [0, 1], got {self.text_weight}")
        n = np.asarray(X).shape[1] if np.asarray(X).ndim == 2 else -1
        if self.feature_names is None or len(self.feature_names) != n:
            raise ConfigError(
                f"MultimodalDEC needs feature_names for X's {n} columns (got "
                f"{None if self.feature_names is None else len(self.feature_names)}); pass the preprocessor's "
                "feature_names_out_"
            )
        tab, text, mask = split_modalities(self.feature_names, self.text_prefix, self.mask_feature)
        if not text:
            raise ConfigError(
                f"MultimodalDEC found no '{self.text_prefix}*' columns after preprocessing: run it with text "
                "features (text=minilm) and without preprocess PCA"
            )
        if not tab:
            raise ConfigError("MultimodalDEC found no tabular columns; use dec/idec for text-only features")
        self.tab_idx_, self.text_idx_, self.mask_idx_ = tab, text, mask
        return super().fit(X, y, **kwargs)

    def _loss_weights(self) -> tuple[float, float]:
        if self.clustering == "dec":
            return 1.0, 0.0
        return float(self.gamma), 1.0

    # --- pretraining -------------------------------------------------------------------------
    def _pretrain(self, X: np.ndarray, init_from: AEKMeans | None) -> None:
        if init_from is not None:
            if not isinstance(init_from, MultimodalDEC):
                raise ValueError("init_from must be a fitted MultimodalDEC")
            super()._pretrain(X, init_from)
            return
        th = [int(h) for h in self.tab_hidden_dims]
        xh = [int(h) for h in self.text_hidden_dims]
        if not th or not xh:
            raise ConfigError("tab_hidden_dims and text_hidden_dims need at least one layer each")
        self.encoder_ = ModalityEncoder(X.shape[1], self.tab_idx_, self.text_idx_, self.mask_idx_, th, xh,
                                        int(self.latent_dim), self.activation, float(self.dropout))
        self.decoder_ = ModalityDecoder(self.encoder_, th, xh, int(self.latent_dim), self.activation,
                                        float(self.dropout), float(self.text_weight))
        self.pretrain_report_ = self._fit_autoencoder(X)

    def _fit_autoencoder(self, X: np.ndarray, stage: str = "pretrain") -> dict[str, float]:
        """`pretrain_autoencoder` with the masked loss: seeded split, early stopping, best weights."""
        return pretrain_autoencoder(
            self.encoder_, self.decoder_, X, lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size,
            max_epochs=self.max_epochs, max_steps=self.pretrain_steps, patience=self.patience,
            val_fraction=float(self.val_fraction), noise=self.noise, noise_kind=self.noise_kind,
            seed=self.random_state, trainer_kwargs=self.trainer_kwargs, stage=stage,
            module_class=MaskedAutoencoderModule, checkpoint=stage_path(self, stage))

    # --- clustering phase --------------------------------------------------------------------
    def _cluster(self, X: np.ndarray) -> None:
        if self.clustering == "none":
            self.labels_ = self.init_labels_
            return
        super()._cluster(X)

    def fit_report(self) -> dict[str, float]:
        report = super().fit_report()
        if hasattr(self, "text_idx_"):
            report["fit/n_text_features"] = float(len(self.text_idx_))
            report["fit/n_tab_features"] = float(len(self.tab_idx_))
        return report

    def reconstruction_by_modality(self, X: np.ndarray) -> dict[str, float]:
        """Mean squared reconstruction error per modality (text: reviewed customers only)."""
        Xh = self.reconstruct(X)
        X = np.asarray(X, dtype=np.float32)
        m = mask_from_column(torch.as_tensor(X[:, self.mask_idx_])).numpy().astype(bool) if self.mask_idx_ is not None else np.ones(len(X), bool)
        tab = float(((Xh[:, self.tab_idx_] - X[:, self.tab_idx_]) ** 2).mean())
        text = float(((Xh[m][:, self.text_idx_] - X[m][:, self.text_idx_]) ** 2).mean()) if m.any() else float("nan")
        return {"recon/tabular_mse": tab, "recon/text_mse": text}
