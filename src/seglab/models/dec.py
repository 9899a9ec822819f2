"""DEC (Xie, Girshick & Farhadi, ICML 2016) and IDEC (Guo, Gao, Liu & Yin, IJCAI 2017).

Both start as ``AEKMeans`` (autoencoder pretraining, then k-means with ``n_init`` restarts in the
latent space gives the initial centres) and then run a clustering phase, a LightningModule
(``ClusteringModule``) that fine-tunes the encoder and the centres:

- every ``update_interval`` batches the soft assignment q of *all* samples is recomputed, the
  target p = q²/f (normalised) is frozen until the next update, and the share of labels that
  changed since the previous update is logged as ``dec/delta_label``; below ``tol`` (default
  0.001 = 0.1%) training stops (``fit/stopped_by_tol`` = 1), otherwise after ``cluster_max_epochs``;
- DEC minimises KL(P || Q) and drops the decoder; IDEC minimises MSE(x, x_hat) + gamma * KL(P || Q)
  (the paper's L = L_r + gamma L_c, gamma = 0.1) and keeps the decoder so the embedding keeps
  the local structure of the data.

The final labels are argmax q of the fine-tuned model on the training data. Metrics logged
through Lightning: ``dec/kl``, ``dec/recon`` (IDEC), ``dec/loss``, ``dec/delta_label``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from seglab.models.ae_kmeans import AEKMeans
from seglab.models.autoencoder import (
    augment_images,
    check_augment,
    make_loader,
    make_trainer,
    quiet_lightning,
)
from seglab.models.losses import kl_divergence, reconstruction_loss, soft_assignment, target_distribution


class ClusteringModule(L.LightningModule):
    """DEC/IDEC's clustering phase: KL(P || Q) (+ reconstruction), with periodic target updates.

    ``X`` (all training samples) is held as a non-persistent buffer so that the target update
    runs on whatever device Lightning put the module on.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module | None,
        centers: np.ndarray,
        X: torch.Tensor,
        *,
        alpha: float = 1.0,
        kl_weight: float = 1.0,
        recon_weight: float = 0.0,
        lr: float = 0.01,
        optimizer: str = "sgd",
        momentum: float = 0.9,
        update_interval: int = 30,
        tol: float = 0.001,
        stage: str = "dec",
        eval_batch_size: int = 4096,
        image_shape: Sequence[int] | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder if recon_weight > 0 else None
        self.centers = nn.Parameter(torch.as_tensor(np.asarray(centers), dtype=torch.float32).clone())
        self.register_buffer("X_all", X, persistent=False)
        self.register_buffer("p_all", torch.zeros(len(X), len(centers)), persistent=False)
        self.alpha = float(alpha)
        self.kl_weight = float(kl_weight)
        self.recon_weight = float(recon_weight)
        self.lr = float(lr)
        self.optimizer_name = str(optimizer).lower()
        self.momentum = float(momentum)
        self.update_interval = max(int(update_interval), 1)
        self.tol = float(tol)
        self.stage = stage
        self.eval_batch_size = int(eval_batch_size)
        self.image_shape = None if image_shape is None else tuple(int(v) for v in image_shape)
        self.prev_labels: torch.Tensor | None = None
        self.delta_label = float("nan")
        self.n_target_updates = 0
        self.stopped_by_tol = False

    # --- target distribution ---------------------------------------------------------------
    @torch.no_grad()
    def soft_assign_all(self) -> torch.Tensor:
        """q for every training sample with the current weights (dropout off)."""
        was_training = self.training
        self.eval()
        try:
            qs = [soft_assignment(self.encoder(self.X_all[i:i + self.eval_batch_size]), self.centers, self.alpha)
                  for i in range(0, len(self.X_all), self.eval_batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(qs)

    @torch.no_grad()
    def update_target(self) -> float:
        """Recompute p over all samples; return the share of labels changed since the last update."""
        q = self.soft_assign_all()
        self.p_all.copy_(target_distribution(q))
        labels = q.argmax(dim=1)
        delta = float("nan") if self.prev_labels is None else float((labels != self.prev_labels).float().mean())
        self.prev_labels = labels
        self.n_target_updates += 1
        return delta

    def on_train_epoch_start(self) -> None:
        # The clustering phase runs without dropout, as in the DEC paper (dropout is a pretraining device).
        self.encoder.eval()
        if self.decoder is not None:
            self.decoder.eval()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        if self.global_step % self.update_interval == 0:
            delta = self.update_target()
            if not np.isnan(delta):
                self.delta_label = delta
                self.log(f"{self.stage}/delta_label", delta, on_step=True, on_epoch=False, batch_size=1)
                if delta < self.tol:
                    self.stopped_by_tol = True
                    self.trainer.should_stop = True
                    return -1  # skip the rest of this epoch; should_stop ends the fit
        return None

    # --- optimisation ----------------------------------------------------------------------
    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, idx = batch
        if self.image_shape is not None:
            # DEC-DA: the loss sees a jittered copy, the target p was computed on the clean image
            x = augment_images(x, self.image_shape)
        z = self.encoder(x)
        q = soft_assignment(z, self.centers, self.alpha)
        kl = kl_divergence(self.p_all[idx], q)
        loss = self.kl_weight * kl
        self.log(f"{self.stage}/kl", kl, on_step=False, on_epoch=True, batch_size=len(x))
        if self.decoder is not None:
            recon = reconstruction_loss(self.decoder(z), x)
            loss = loss + self.recon_weight * recon
            self.log(f"{self.stage}/recon", recon, on_step=False, on_epoch=True, batch_size=len(x))
        self.log(f"{self.stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(x))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=self.momentum)
        if self.optimizer_name == "adam":
            return torch.optim.Adam(self.parameters(), lr=self.lr)
        raise ValueError(f"unknown cluster_optimizer {self.optimizer_name!r}; choose 'sgd' or 'adam'")


class DEC(AEKMeans):
    """Deep Embedded Clustering: AE pretraining, latent k-means init, then KL(P || Q) fine-tuning.

    Parameters beyond ``AEKMeans``'s: ``update_interval`` (batches between target updates),
    ``tol`` (stop when fewer than this share of labels changed between updates),
    ``cluster_max_epochs``, ``cluster_lr``, ``cluster_optimizer`` (``sgd`` with
    ``cluster_momentum``, the papers' choice, or ``adam``), ``cluster_batch_size`` (defaults to
    ``batch_size``), ``cluster_augment`` (with ``image_shape``: each clustering batch is a randomly
    rotated/shifted copy of the images, the target p stays computed on the clean ones: DEC-DA,
    Guo et al. 2018). Pretraining options (``lr_schedule``, ``augment``, ...) are ``AEKMeans``'s.
    """


    #: Lightning module of the clustering phase; subclasses with another loss (the multimodal
    #: model's masked reconstruction) swap it and reuse the loop in `_cluster`.
    clustering_module_class: type[ClusteringModule] = ClusteringModule

    def __init__(
        self,
        n_clusters: int = 5,
        hidden_dims: Sequence[int] = (64, 32),
        latent_dim: int = 10,
        dropout: float = 0.0,
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        pretrain: str = "end_to_end",
        noise: float = 0.0,
        noise_kind: str = "dropout",
        layerwise_epochs: int = 50,
        preset: str | None = None,
        n_init: int = 20,
        alpha: float = 1.0,
        update_interval: int = 30,
        tol: float = 0.001,
        cluster_max_epochs: int = 100,
        cluster_lr: float = 0.01,
        cluster_optimizer: str = "sgd",
        cluster_momentum: float = 0.9,
        cluster_batch_size: int | None = None,
        num_threads: int | None = None,
        random_state: int = 0,
        trainer_kwargs: Mapping[str, Any] | None = None,
        lr_schedule: str = "constant",
        augment: str = "none",
        image_shape: Sequence[int] | None = None,
        cluster_augment: bool = False,
    ):
        super().__init__(
            n_clusters=n_clusters, hidden_dims=hidden_dims, latent_dim=latent_dim, dropout=dropout,
            activation=activation, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
            max_epochs=max_epochs, patience=patience, val_fraction=val_fraction, pretrain=pretrain,
            noise=noise, noise_kind=noise_kind, layerwise_epochs=layerwise_epochs, preset=preset,
            n_init=n_init, alpha=alpha, num_threads=num_threads, random_state=random_state,
            trainer_kwargs=trainer_kwargs, lr_schedule=lr_schedule, augment=augment, image_shape=image_shape,
        )
        self.cluster_augment = cluster_augment
        self.update_interval = update_interval
        self.tol = tol
        self.cluster_max_epochs = cluster_max_epochs
        self.cluster_lr = cluster_lr
        self.cluster_optimizer = cluster_optimizer
        self.cluster_momentum = cluster_momentum
        self.cluster_batch_size = cluster_batch_size

    def _cluster_image_shape(self) -> Sequence[int] | None:
        """``image_shape`` when the clustering phase augments (``cluster_augment``), else None."""
        if not getattr(self, "cluster_augment", False):
            return None
        shape = getattr(self, "image_shape", None)
        check_augment("affine", shape)
        return shape

    def _loss_weights(self) -> tuple[float, float]:
        """(KL weight, reconstruction weight): DEC (1, 0)."""
        return 1.0, 0.0

    def _cluster(self, X: np.ndarray) -> None:
        t0 = time.perf_counter()
        kl_w, rec_w = self._loss_weights()
        Xt = torch.as_tensor(X)
        module = self.clustering_module_class(
            self.encoder_, self.decoder_, self.cluster_centers_, Xt, alpha=self.alpha, kl_weight=kl_w,
            recon_weight=rec_w, lr=self.cluster_lr, optimizer=self.cluster_optimizer,
            momentum=self.cluster_momentum, update_interval=self.update_interval, tol=self.tol,
            image_shape=self._cluster_image_shape(),
        )
        bs = int(self.cluster_batch_size or self.batch_size)
        loader = make_loader(Xt, torch.arange(len(Xt)), batch_size=bs, shuffle=True, seed=self.random_state + 1)
        trainer = make_trainer(self.trainer_kwargs, max_epochs=int(self.cluster_max_epochs), n_batches=len(loader),
                               limit_val_batches=0, num_sanity_val_steps=0)
        with quiet_lightning():
            trainer.fit(module, train_dataloaders=loader)
        module.cpu()
        self.encoder_ = module.encoder.cpu().train()
        self.cluster_centers_ = module.centers.detach().cpu().numpy().copy()
        if rec_w == 0:
            # DEC discards the decoder (it is no longer the encoder's inverse); drop it so nobody
            # mistakes it for one. IDEC keeps and trains it.
            self.decoder_ = None
        self.labels_ = self.predict_proba(X).argmax(axis=1).astype(int)
        self._report.update({
            "fit/cluster_iterations": float(trainer.global_step),
            "fit/cluster_epochs": float(trainer.current_epoch),
            "fit/cluster_target_updates": float(module.n_target_updates),
            "fit/delta_label_final": float(module.delta_label),
            "fit/stopped_by_tol": float(module.stopped_by_tol),
            "fit/cluster_seconds": time.perf_counter() - t0,
            "fit/labels_changed_from_init": float((self.labels_ != self.init_labels_).mean()),
        })

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        if getattr(self, "decoder_", None) is None:
            raise RuntimeError("DEC drops its decoder after the clustering phase; use IDEC to keep one")
        return super().reconstruct(X)


class IDEC(DEC):
    """Improved DEC: the clustering phase also minimises the reconstruction error, decoder kept.

    Loss = MSE(x, x_hat) + ``gamma`` * KL(P || Q), gamma = 0.1 in the paper (IDEC eq. 7).
    """

    def __init__(
        self,
        n_clusters: int = 5,
        hidden_dims: Sequence[int] = (64, 32),
        latent_dim: int = 10,
        dropout: float = 0.0,
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        pretrain: str = "end_to_end",
        noise: float = 0.0,
        noise_kind: str = "dropout",
        layerwise_epochs: int = 50,
        preset: str | None = None,
        n_init: int = 20,
        alpha: float = 1.0,
        update_interval: int = 30,
        tol: float = 0.001,
        cluster_max_epochs: int = 100,
        cluster_lr: float = 0.01,
        cluster_optimizer: str = "sgd",
        cluster_momentum: float = 0.9,
        cluster_batch_size: int | None = None,
        gamma: float = 0.1,
        num_threads: int | None = None,
        random_state: int = 0,
        trainer_kwargs: Mapping[str, Any] | None = None,
        lr_schedule: str = "constant",
        augment: str = "none",
        image_shape: Sequence[int] | None = None,
        cluster_augment: bool = False,
    ):
        super().__init__(
            n_clusters=n_clusters, hidden_dims=hidden_dims, latent_dim=latent_dim, dropout=dropout,
            activation=activation, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
            max_epochs=max_epochs, patience=patience, val_fraction=val_fraction, pretrain=pretrain,
            noise=noise, noise_kind=noise_kind, layerwise_epochs=layerwise_epochs, preset=preset,
            n_init=n_init, alpha=alpha, update_interval=update_interval, tol=tol,
            cluster_max_epochs=cluster_max_epochs, cluster_lr=cluster_lr, cluster_optimizer=cluster_optimizer,
            cluster_momentum=cluster_momentum, cluster_batch_size=cluster_batch_size,
            num_threads=num_threads, random_state=random_state, trainer_kwargs=trainer_kwargs,
            lr_schedule=lr_schedule, augment=augment, image_shape=image_shape, cluster_augment=cluster_augment,
        )
        self.gamma = gamma

    def _loss_weights(self) -> tuple[float, float]:
        """(KL weight, reconstruction weight): IDEC (gamma, 1)."""
        return float(self.gamma), 1.0
