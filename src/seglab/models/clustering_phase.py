"""DEC/IDEC's clustering phase as a LightningModule: KL(P || Q) (+ reconstruction), periodic targets.

What the phase does, and why each budget is counted the way it is:

- every ``update_interval`` optimisation steps the soft assignment q of every row of the
  clustering set ``X`` is recomputed and the target p = q²/f (normalised) frozen until the next
  update (the DEC paper's T, counted in iterations there too). The update is a streaming pass:
  q is written chunk by chunk into the (n, k) target buffer, the cluster frequencies f are
  summed on the way, and p is then formed in place, so nothing of size n x d is allocated;
- the stopping test compares labels across at least one full pass over ``X``: at the first target
  update that comes ``ceil(n / batch_size)`` steps or more after the previous test, the share of
  labels changed since that test is ``delta_label``, and below ``tol`` training stops. When an
  update interval already spans a pass (a few thousand rows) every update is a test, as in the
  paper; with many more rows, comparing updates a fixed 30 steps apart would measure how little
  30 steps change, not whether the clustering has settled, and stop it after a fraction of a pass;
- under DDP every rank computes the same targets over the whole set (the weights are in sync), so
  indexing p by the row ids that travel with each batch is right whatever rows a rank is given.

``history`` keeps one record per target update: step, share of labels changed since the previous
update, and (at a test) since the previous test.

The loss is a hook (`seglab.models.losses`): ``DECLoss`` (KL) or ``IDECLoss`` (gamma x KL plus a
reconstruction loss); the decoder joins the optimised modules only when the loss uses it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from seglab.models.losses import DECLoss, soft_assignment, target_distribution


class ClusteringModule(L.LightningModule):
    """DEC's clustering phase on the rows ``X`` (all training rows, or a seeded sample of them).

    ``X_all`` (the rows) and ``p_all`` (their (n, k) target) are plain tensors moved to the
    module's device when the fit starts, not buffers: DDP would broadcast every buffer from rank 0
    at every step. ``batch_size`` is the global batch (all ranks together); it sets how many steps
    make one pass for the stopping test.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module | None,
        centers: np.ndarray,
        X: torch.Tensor,
        *,
        loss: Callable[..., dict[str, torch.Tensor]] | None = None,
        alpha: float = 1.0,
        lr: float = 0.01,
        optimizer: str = "sgd",
        momentum: float = 0.9,
        update_interval: int = 30,
        tol: float = 0.001,
        batch_size: int = 256,
        stage: str = "dec",
        eval_batch_size: int = 4096,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        super().__init__()
        self.loss = loss or DECLoss()
        self.encoder = encoder
        self.decoder = decoder if self.loss.uses_decoder else None
        self.centers = nn.Parameter(torch.as_tensor(np.asarray(centers), dtype=torch.float32).clone())
        self.X_all = X
        self.p_all = torch.zeros(len(X), len(centers))
        self.alpha = float(alpha)
        self.lr = float(lr)
        self.optimizer_name = str(optimizer).lower()
        self.momentum = float(momentum)
        self.update_interval = max(int(update_interval), 1)
        self.tol = float(tol)
        self.steps_per_pass = max(1, math.ceil(len(X) / max(int(batch_size), 1)))
        self.stage = stage
        self.eval_batch_size = int(eval_batch_size)
        self.augment = augment
        self.prev_labels: torch.Tensor | None = None
        self.check_labels: torch.Tensor | None = None
        self.check_step = 0
        self.delta_label = float("nan")
        self.n_target_updates = 0
        self.stopped_by_tol = False
        self.history: list[dict[str, float]] = []

    # --- target distribution ---------------------------------------------------------------
    @torch.no_grad()
    def compute_target(self) -> torch.Tensor:
        """Fill ``p_all`` with the target of the current weights (dropout off); return the labels."""
        was_training = self.training
        self.eval()
        labels = torch.empty(len(self.X_all), dtype=torch.long, device=self.p_all.device)
        frequency = torch.zeros(self.p_all.shape[1], dtype=self.p_all.dtype, device=self.p_all.device)
        step = self.eval_batch_size
        try:
            for i in range(0, len(self.X_all), step):
                q = soft_assignment(self.encoder(self.X_all[i:i + step]), self.centers, self.alpha)
                self.p_all[i:i + step] = q
                frequency += q.sum(dim=0)
                labels[i:i + step] = q.argmax(dim=1)
        finally:
            self.train(was_training)
        for i in range(0, len(self.p_all), step):
            self.p_all[i:i + step] = target_distribution(self.p_all[i:i + step], frequency)
        return labels

    @torch.no_grad()
    def update_target(self) -> float:
        """Recompute the target; return the share of labels changed since the last stopping test
        when this update is one (NaN otherwise). Records the update in ``history``."""
        labels = self.compute_target()
        step = int(self.global_step)
        record = {"step": float(step), "changed_since_update": float("nan"), "delta_label": float("nan")}
        if self.prev_labels is not None:
            record["changed_since_update"] = float((labels != self.prev_labels).float().mean())
        delta = float("nan")
        if self.check_labels is None:
            self.check_labels, self.check_step = labels, step
        elif step - self.check_step >= self.steps_per_pass:
            delta = float((labels != self.check_labels).float().mean())
            self.check_labels, self.check_step = labels, step
            record["delta_label"] = delta
        self.prev_labels = labels
        self.n_target_updates += 1
        self.history.append(record)
        return delta

    def on_fit_start(self) -> None:
        self.X_all = self.X_all.to(self.device)
        self.p_all = self.p_all.to(self.device)

    #: What a resume point needs beyond the weights: the frozen target and the stopping test's state.
    _RESUME_STATE = ("p_all", "prev_labels", "check_labels", "check_step", "delta_label", "n_target_updates",
                     "stopped_by_tol", "history")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seglab_clustering_phase"] = {k: getattr(self, k) for k in self._RESUME_STATE}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        for key, value in checkpoint["seglab_clustering_phase"].items():
            setattr(self, key, value)

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
        if self.augment is not None:
            # DEC-DA: the loss sees a jittered copy, the target p was computed on the clean rows
            x = self.augment(x)
        z = self.encoder(x)
        terms = self.loss(self.p_all[idx], soft_assignment(z, self.centers, self.alpha), x, z, self.decoder)
        for name, value in terms.items():  # dec/kl, dec/recon (IDEC), dec/loss
            self.log(f"{self.stage}/{name}", value, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(x))
        return terms["loss"]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=self.momentum)
        if self.optimizer_name == "adam":
            return torch.optim.Adam(self.parameters(), lr=self.lr)
        raise ValueError(f"unknown cluster_optimizer {self.optimizer_name!r}; choose 'sgd' or 'adam'")
