"""DEC (Xie, Girshick & Farhadi, ICML 2016) and IDEC (Guo, Gao, Liu & Yin, IJCAI 2017).

Both start as ``AEKMeans`` (autoencoder pretraining, then k-means with ``n_init`` restarts gives
the initial centres) and then run a clustering phase (`seglab.models.clustering_phase`) that
fine-tunes the encoder and the centres: every ``update_interval`` steps the target p = q²/f is
recomputed, and training stops when less than ``tol`` of the labels changed over a full pass
(``fit/stopped_by_tol`` = 1), otherwise after ``cluster_max_epochs`` passes;

- DEC minimises KL(P || Q) and drops the decoder; IDEC minimises MSE(x, x_hat) + gamma * KL(P || Q)
  (the paper's L = L_r + gamma L_c, gamma = 0.1) and keeps the decoder so the embedding keeps
  the local structure of the data;
- ``init``: where the initial partition comes from. ``latent`` (the papers'): k-means on the
  pretrained code. ``input``: k-means on the model's input features; the initial centres are the
  latent means of those clusters. On features where k-means itself is good (seglab's customer
  features) the latent start is a lottery: in 2 of 9 pretrainings, at 5,000 as at 10^5
  customers, k-means on the code preferred a solution with two segments merged, which
  self-training did not undo (experiments/scale_tuning.md); the input start does not depend on
  the autoencoder's geometry. On raw pixels k-means on the inputs is poor and ``latent`` is the
  right start;
- ``cluster_sample_size``: the clustering phase runs on a seeded sample of at most this many
  rows (None: all). Every target update is a pass over that set, so its cost and the number of
  steps to settle no longer grow with the data; the final labels are then predicted for every row.

The final labels are argmax q of the fine-tuned model on all the training data. Metrics logged
through Lightning: ``dec/kl``, ``dec/recon`` (IDEC), ``dec/loss``, ``dec/delta_label``;
``cluster_history_`` keeps the target updates (step, labels changed).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from seglab.errors import ConfigError
from seglab.models import checkpoints
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.augment import check_augment
from seglab.models.autoencoder import make_loader
from seglab.models.centres import cluster_means, kmeans_centres
from seglab.models.clustering_phase import ClusteringModule
from seglab.models.fit_progress import FitProgress
from seglab.models.runtime import make_trainer, quiet_lightning

#: Where DEC's initial partition comes from (see the module docstring).
INITS = ("latent", "input")


class DEC(AEKMeans):
    """Deep Embedded Clustering: AE pretraining, k-means init, then KL(P || Q) fine-tuning.

    Parameters beyond ``AEKMeans``'s: ``init`` (``latent`` | ``input``, see the module docstring),
    ``update_interval`` (optimisation steps between target updates), ``tol`` (stop when fewer
    than this share of labels changed over a full pass), ``cluster_sample_size`` (rows the
    clustering phase runs on; None = all), ``cluster_max_epochs`` (passes over those rows),
    ``cluster_lr``, ``cluster_optimizer`` (``sgd`` with
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
        pretrain_steps: int | None = None,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        pretrain: str = "end_to_end",
        noise: float = 0.0,
        noise_kind: str = "dropout",
        layerwise_epochs: int = 50,
        preset: str | None = None,
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
            max_epochs=max_epochs, pretrain_steps=pretrain_steps, patience=patience, val_fraction=val_fraction, pretrain=pretrain,
            noise=noise, noise_kind=noise_kind, layerwise_epochs=layerwise_epochs, preset=preset,
            n_init=n_init, kmeans_sample_size=kmeans_sample_size, alpha=alpha, num_threads=num_threads, random_state=random_state,
            trainer_kwargs=trainer_kwargs, lr_schedule=lr_schedule, augment=augment, image_shape=image_shape,
        )
        self.cluster_augment = cluster_augment
        self.init = init
        self.cluster_sample_size = cluster_sample_size
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

    def _initial_partition(self, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        init = str(self.init).lower()
        if init not in INITS:
            raise ConfigError(f"init must be one of {list(INITS)}, got {self.init!r}")
        if init == "latent":
            return super()._initial_partition(X, Z)
        labels, _, _ = kmeans_centres(X, int(self.n_clusters), n_init=int(self.n_init),
                                      random_state=self.random_state, sample_size=self.kmeans_sample_size,
                                      label="k-means on the inputs")
        centres = cluster_means(Z, labels, int(self.n_clusters))
        inertia = sum(float(((Z[i:i + 65536] - centres[labels[i:i + 65536]]) ** 2).sum())
                      for i in range(0, len(Z), 65536))
        return labels, centres, inertia

    def _check_cluster_params(self) -> None:
        """Clear messages for values the clustering phase cannot use (they come from the command line)."""
        for name in ("update_interval", "cluster_max_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1 (optimisation steps for update_interval, "
                                  f"passes for cluster_max_epochs), got {value!r}")
        size = self.cluster_sample_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
            raise ConfigError(f"cluster_sample_size must be a whole number >= 1 or null (all rows), got {size!r}")

    def _cluster(self, X: np.ndarray) -> None:
        t0 = time.perf_counter()
        self._check_cluster_params()
        kl_w, rec_w = self._loss_weights()
        size = self.cluster_sample_size
        if size is not None and len(X) > int(size):
            rows = np.sort(np.random.default_rng(self.random_state + 2).choice(len(X), int(size), replace=False))
            Xt = torch.as_tensor(X[rows])
        else:
            rows, Xt = None, torch.as_tensor(X)  # shares X's memory (float32)
        bs = int(self.cluster_batch_size or self.batch_size)
        module = self.clustering_module_class(
            self.encoder_, self.decoder_, self.cluster_centers_, Xt, alpha=self.alpha, kl_weight=kl_w,
            recon_weight=rec_w, lr=self.cluster_lr, optimizer=self.cluster_optimizer,
            momentum=self.cluster_momentum, update_interval=int(self.update_interval), tol=self.tol,
            batch_size=bs, image_shape=self._cluster_image_shape(),
        )
        loader = make_loader(Xt, torch.arange(len(Xt)), batch_size=bs, shuffle=True, seed=self.random_state + 1)
        n_batches = -(-len(Xt) // bs)
        resume_point = checkpoints.stage_path(self, module.stage)
        trainer = make_trainer(self.trainer_kwargs, max_epochs=int(self.cluster_max_epochs), n_batches=n_batches,
                               callbacks=[FitProgress(f"{module.stage}: clustering phase"),
                                          *checkpoints.epoch_checkpoint(resume_point, loader)],
                               limit_val_batches=0, num_sanity_val_steps=0)
        with quiet_lightning():
            checkpoints.fit(trainer, module, resume_point, train_dataloaders=loader)
        module.cpu()
        self.encoder_ = module.encoder.cpu().train()
        self.cluster_centers_ = module.centers.detach().cpu().numpy().copy()
        if rec_w == 0:
            # DEC discards the decoder (it is no longer the encoder's inverse); drop it so nobody
            # mistakes it for one. IDEC keeps and trains it.
            self.decoder_ = None
        self.labels_ = self.predict(X)
        self.cluster_history_ = list(module.history)
        self._report.update({
            "fit/cluster_iterations": float(trainer.global_step),
            "fit/cluster_epochs": float(trainer.current_epoch),
            "fit/cluster_rows": float(len(Xt)),
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
        pretrain_steps: int | None = None,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        pretrain: str = "end_to_end",
        noise: float = 0.0,
        noise_kind: str = "dropout",
        layerwise_epochs: int = 50,
        preset: str | None = None,
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
        lr_schedule: str = "constant",
        augment: str = "none",
        image_shape: Sequence[int] | None = None,
        cluster_augment: bool = False,
    ):
        super().__init__(
            n_clusters=n_clusters, hidden_dims=hidden_dims, latent_dim=latent_dim, dropout=dropout,
            activation=activation, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
            max_epochs=max_epochs, pretrain_steps=pretrain_steps, patience=patience, val_fraction=val_fraction, pretrain=pretrain,
            noise=noise, noise_kind=noise_kind, layerwise_epochs=layerwise_epochs, preset=preset,
            n_init=n_init, kmeans_sample_size=kmeans_sample_size, alpha=alpha, init=init, update_interval=update_interval, tol=tol,
            cluster_max_epochs=cluster_max_epochs, cluster_lr=cluster_lr, cluster_optimizer=cluster_optimizer,
            cluster_momentum=cluster_momentum, cluster_batch_size=cluster_batch_size,
            cluster_sample_size=cluster_sample_size, num_threads=num_threads, random_state=random_state, trainer_kwargs=trainer_kwargs,
            lr_schedule=lr_schedule, augment=augment, image_shape=image_shape, cluster_augment=cluster_augment,
        )
        self.gamma = gamma

    def _loss_weights(self) -> tuple[float, float]:
        """(KL weight, reconstruction weight): IDEC (gamma, 1)."""
        return float(self.gamma), 1.0
