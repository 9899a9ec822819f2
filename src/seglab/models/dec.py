"""DEC (Xie, Girshick & Farhadi, ICML 2016) and IDEC (Guo, Gao, Liu & Yin, IJCAI 2017).

Both start as ``AEKMeans`` (autoencoder pretraining, then k-means with ``n_init`` restarts gives
the initial centres) and then run a clustering phase (`seglab.models.clustering_phase`) that
fine-tunes the encoder and the centres: every ``update_interval`` steps the target p = q²/f is
recomputed, and training stops when less than ``tol`` of the labels changed over a full pass
(``fit/stopped_by_tol`` = 1), otherwise after ``cluster_max_epochs`` passes;

- DEC minimises KL(P || Q) and drops the decoder; IDEC minimises MSE(x, x_hat) + gamma * KL(P || Q)
  (the paper's L = L_r + gamma L_c, gamma = 0.1) and keeps the decoder so the embedding keeps
  the local structure of the data. The loss is a hook, ``_clustering_loss``
  (`seglab.models.losses`: ``DECLoss``, ``IDECLoss`` with the model's reconstruction loss), so
  the multimodal model reuses the phase with its masked loss;
- ``init``: where the initial partition comes from. ``latent`` (the papers'): k-means on the
  pretrained code. ``input``: k-means on the model's input features; the initial centres are the
  latent means of those clusters. On features where k-means itself is good (seglab's customer
  features) the latent start is a lottery: in 2 of 9 pretrainings, at 5,000 as at 10^5
  customers, k-means on the code preferred a solution with two segments merged, which
  self-training did not undo (experiments/scale_tuning.md); the input start does not depend on
  the autoencoder's geometry. What the code does with review text is why: the customers with
  negative reviews (a mode cutting across every segment, weighted as one feature in the inputs)
  become a well-separated region of the code, k-means there spends a cluster on them and merges
  two behaviour segments, and that partition has a lower k-means inertia in the code than the
  planted one, so more restarts do not help (experiments/default_seeds.md: with ``text=none`` no
  latent start fell below ARI 0.8). On raw pixels k-means on the inputs is poor and ``latent``
  is the right start;
- ``cluster_sample_size``: the clustering phase runs on a seeded sample of at most this many
  rows (None: all). Every target update is a pass over that set, so its cost and the number of
  steps to settle no longer grow with the data; the final labels are then predicted for every row.

Settings: `seglab.models.settings.SelfTraining` (IDEC: ``IDECSelfTraining``, with ``gamma``),
beside the network and pretraining settings every deep model has (`seglab.models.deep`).

The final labels are argmax q of the fine-tuned model on all the training data. Metrics logged
through Lightning: ``dec/kl``, ``dec/recon`` (IDEC), ``dec/loss``, ``dec/delta_label``;
``cluster_history_`` keeps the target updates (step, labels changed).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from seglab.errors import ConfigError
from seglab.models import checkpoints
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.autoencoder import make_loader
from seglab.models.centres import cluster_means, kmeans_centres
from seglab.models.clustering_phase import ClusteringModule
from seglab.models.fit_progress import FitProgress
from seglab.models.losses import DECLoss, IDECLoss
from seglab.models.runtime import make_trainer, quiet_lightning
from seglab.models.settings import IDECSelfTraining, SelfTraining


class DEC(AEKMeans):
    """Deep Embedded Clustering: AE pretraining, k-means init, then KL(P || Q) fine-tuning."""

    settings_classes = {**AEKMeans.settings_classes, "clustering": SelfTraining}

    def _clustering_loss(self) -> DECLoss | IDECLoss:
        """The clustering phase's loss hook: KL(P || Q)."""
        return DECLoss()

    def check_settings(self) -> None:
        super().check_settings()
        if self._settings("clustering").cluster_augment and self.augment is None:
            raise ConfigError("cluster_augment=true needs the augmentation it applies: augment=affine with "
                              "image_shape=[height, width] of the flattened images")

    def _initial_partition(self, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        c = self._settings("clustering")
        if str(c.init).lower() == "latent":
            return super()._initial_partition(X, Z)
        labels, _, _ = kmeans_centres(X, int(self.n_clusters), n_init=int(c.n_init),
                                      random_state=self.random_state, sample_size=c.kmeans_sample_size,
                                      label="k-means on the inputs")
        centres = cluster_means(Z, labels, int(self.n_clusters))
        inertia = sum(float(((Z[i:i + 65536] - centres[labels[i:i + 65536]]) ** 2).sum())
                      for i in range(0, len(Z), 65536))
        return labels, centres, inertia

    def _cluster_latent(self, X: np.ndarray) -> None:
        super()._cluster_latent(X)  # the k-means start
        self._self_train(X)

    def _self_train(self, X: np.ndarray) -> None:
        """The clustering phase (`seglab.models.clustering_phase`) from the k-means start."""
        t0 = time.perf_counter()
        c = self._settings("clustering")
        loss = self._clustering_loss()
        size = c.cluster_sample_size
        if size is not None and len(X) > int(size):
            rows = np.sort(np.random.default_rng(self.random_state + 2).choice(len(X), int(size), replace=False))
            Xt = torch.as_tensor(X[rows])
        else:
            rows, Xt = None, torch.as_tensor(X)  # shares X's memory (float32)
        bs = int(c.cluster_batch_size or self._settings("pretraining").batch_size)
        module = ClusteringModule(
            self.encoder_, self.decoder_, self.cluster_centers_, Xt, loss=loss, alpha=c.alpha, lr=c.cluster_lr,
            optimizer=c.cluster_optimizer, momentum=c.cluster_momentum, update_interval=int(c.update_interval),
            tol=c.tol, batch_size=bs, augment=self.augment if c.cluster_augment else None,
        )
        loader = make_loader(Xt, torch.arange(len(Xt)), batch_size=bs, shuffle=True, seed=self.random_state + 1)
        n_batches = -(-len(Xt) // bs)
        resume_point = checkpoints.stage_path(self, module.stage)
        trainer = make_trainer(self.trainer_kwargs, max_epochs=int(c.cluster_max_epochs), n_batches=n_batches,
                               callbacks=[FitProgress(f"{module.stage}: clustering phase"),
                                          *checkpoints.epoch_checkpoint(resume_point, loader)],
                               limit_val_batches=0, num_sanity_val_steps=0)
        with quiet_lightning():
            checkpoints.fit(trainer, module, resume_point, train_dataloaders=loader)
        module.cpu()
        self.encoder_ = module.encoder.cpu().train()
        self.cluster_centers_ = module.centers.detach().cpu().numpy().copy()
        if not loss.uses_decoder:
            # DEC discards the decoder (it is no longer the encoder's inverse); drop it so nobody
            # mistakes it for one. IDEC keeps and trains it.
            self.decoder_ = None
        self.labels_ = self._soft_assignment(self._latent(X)).argmax(axis=1)
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


class IDEC(DEC):
    """Improved DEC: the clustering phase also minimises the reconstruction error, decoder kept.

    Loss = reconstruction + ``gamma`` * KL(P || Q), gamma = 0.1 in the paper (IDEC eq. 7).
    """

    settings_classes = {**DEC.settings_classes, "clustering": IDECSelfTraining}

    def _clustering_loss(self) -> DECLoss | IDECLoss:
        return IDECLoss(gamma=float(self._settings("clustering").gamma), reconstruction=self._reconstruction_loss())
