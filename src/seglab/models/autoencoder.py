"""The MLP autoencoder every deep seglab model starts from, and its pretraining.

One place for the parts AE+k-means, DEC, IDEC (and later families) share:

- ``build_mlp_autoencoder``: encoder ``d -> hidden_dims -> latent_dim`` and a mirrored decoder,
  plain ``nn.Sequential`` so a fitted estimator pickles without Lightning state;
- ``AutoencoderModule``: the LightningModule that pretrains it end to end (Adam on a
  reconstruction ``loss``, MSE unless the model passes its own, optional input corruption
  ``noise`` for a denoising autoencoder and an ``augment`` callable), logging
  ``pretrain/train_loss`` and ``pretrain/val_loss``;
- ``pretrain_autoencoder``: seeded train/validation split, ``EarlyStopping`` on the validation
  reconstruction loss, the best weights restored at the end (not the last ones), and a small
  report (``fit/pretrain_epochs``, ``fit/pretrain_steps``, ``fit/pretrain_val_loss``).

The budget is ``max_epochs`` or ``max_steps`` optimisation steps, whichever comes first. An
epoch-only budget grows with the data (100 epochs are 1,800 steps on 5,000 customers and 35,000
on 10^5), and with it the time and how far the autoencoder drifts from a code k-means can use
(experiments/scale_tuning.md); a step budget does not. When the step budget binds, validation
(early stopping, best weights) runs every ``max_steps / 100`` steps instead of once per epoch,
so ``patience`` counts a fixed amount of training whatever the data size, and the learning-rate
schedule runs over the steps.

Trainers and batched inference live in `seglab.models.runtime`, the index-batch loaders in
`seglab.models.batches`. The LightningModules here call no ``save_hyperparameters``: several
Trainers share one MLflow logger in a run and MLflow refuses a param logged twice with another value.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import nn
from torch.utils.data import DataLoader

from seglab.models import checkpoints
from seglab.models.batches import index_loader
from seglab.models.fit_progress import FitProgress
from seglab.models.losses import reconstruction_loss
from seglab.models.runtime import make_trainer, quiet_lightning

log = logging.getLogger("seglab")

#: Validation rows kept at most: the held-out split only measures the reconstruction error, and
#: 10,000 rows do that to about 1%; beyond them held-out rows would just be withheld from training.
MAX_VALIDATION_ROWS = 10_000

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

# --------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------
def _activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name.lower()]()
    except KeyError as err:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from err


def build_mlp(dims: Sequence[int], activation: str, dropout: float, last_activation: bool) -> nn.Sequential:
    """Linear layers ``dims[0] -> dims[1] -> ...``; activation (and dropout) after each hidden layer.

    The last layer is linear unless ``last_activation`` (the paper's embedding and reconstruction
    layers are linear).
    """
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(int(dims[i]), int(dims[i + 1])))
        is_last = i == len(dims) - 2
        if not is_last or last_activation:
            layers.append(_activation(activation))
            if dropout > 0 and not is_last:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def build_mlp_autoencoder(
    input_dim: int,
    hidden_dims: Sequence[int],
    latent_dim: int,
    activation: str = "relu",
    dropout: float = 0.0,
) -> tuple[nn.Sequential, nn.Sequential]:
    """Encoder ``input_dim -> *hidden_dims -> latent_dim`` and the mirrored decoder (linear ends)."""
    enc_dims = [int(input_dim), *[int(h) for h in hidden_dims], int(latent_dim)]
    encoder = build_mlp(enc_dims, activation, dropout, last_activation=False)
    decoder = build_mlp(enc_dims[::-1], activation, dropout, last_activation=False)
    return encoder, decoder


def corrupt(x: torch.Tensor, noise: float, kind: str = "dropout") -> torch.Tensor:
    """Input corruption for denoising pretraining: zero a ``noise`` share of entries (``dropout``,
    the DEC paper's choice, without the 1/(1-p) rescaling) or add N(0, noise^2) (``gaussian``)."""
    if noise <= 0:
        return x
    if kind == "dropout":
        return x * (torch.rand_like(x) >= noise).to(x.dtype)
    if kind == "gaussian":
        return x + noise * torch.randn_like(x)
    raise ValueError(f"unknown noise kind {kind!r}; choose 'dropout' or 'gaussian'")


# --------------------------------------------------------------------------------------------
# Pretraining
# --------------------------------------------------------------------------------------------
#: A batch transform for training (`seglab.models.augment`) and a reconstruction loss ``(x_hat, x)``.
Augment = Callable[[torch.Tensor], torch.Tensor]
ReconstructionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class AutoencoderModule(L.LightningModule):
    """End-to-end autoencoder pretraining: Adam on ``loss`` (MSE by default); denoising when
    ``noise > 0``; ``augment`` jitters each training batch (validation stays clean)."""

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        noise: float = 0.0,
        noise_kind: str = "dropout",
        stage: str = "pretrain",
        lr_schedule: str = "constant",
        schedule_length: int = 100,
        schedule_interval: str = "epoch",
        augment: Augment | None = None,
        loss: ReconstructionLoss | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.lr = lr
        self.weight_decay = weight_decay
        self.noise = noise
        self.noise_kind = noise_kind
        self.stage = stage
        self.lr_schedule = check_lr_schedule(lr_schedule)
        self.schedule_length = max(int(schedule_length), 1)
        self.schedule_interval = schedule_interval
        self.augment = augment
        self.loss = loss or reconstruction_loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        # DEC-DA: the augmented image is both the (corrupted) input and the reconstruction target
        x = batch[0] if self.augment is None else self.augment(batch[0])
        loss = self.loss(self(corrupt(x, self.noise, self.noise_kind)), x)
        self.log(f"{self.stage}/train_loss", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(x))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        x = batch[0]
        loss = self.loss(self(x), x)
        self.log(f"{self.stage}/val_loss", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(x))

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = make_lr_scheduler(opt, self.lr_schedule, self.schedule_length)
        if scheduler is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": self.schedule_interval}}


#: Learning-rate schedules of the pretraining (per epoch over ``max_epochs``, or per step over
#: the step budget when that binds).
LR_SCHEDULES = ("constant", "cosine", "step")


def check_lr_schedule(name: str) -> str:
    name = str(name).lower()
    if name not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {name!r}; choose one of {list(LR_SCHEDULES)}")
    return name


def make_lr_scheduler(opt: torch.optim.Optimizer, schedule: str, length: int) -> Any:
    """``constant``: None; ``cosine``: lr -> 0 along a half cosine over ``length`` scheduler steps
    (epochs or optimisation steps); ``step``: lr x 0.1 at 2/3 of ``length`` (the DEC paper's
    "divided by 10" step, placed once)."""
    schedule = check_lr_schedule(schedule)
    length = max(int(length), 1)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=length)
    if schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, (2 * length) // 3), gamma=0.1)
    return None


class RestoreBestWeights(Callback):
    """Keep an in-memory copy of the weights with the best ``monitor`` value; restore it at the end.

    ``EarlyStopping`` stops ``patience`` validations after the best one; without this the model
    would keep those worse weights (checkpointing to disk is off by default).
    """

    def __init__(self, monitor: str):
        self.monitor = monitor
        self.best: float = float("inf")
        self.best_epoch: int = -1
        self.best_step: int = -1
        self._state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        value = float(value)
        if value < self.best:
            self.best, self.best_epoch, self.best_step = value, trainer.current_epoch, trainer.global_step
            self._state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._state is not None:
            pl_module.load_state_dict(self._state)

    def state_dict(self) -> dict[str, Any]:  # in resume points (seglab.models.checkpoints)
        return {"best": self.best, "best_epoch": self.best_epoch, "best_step": self.best_step, "state": self._state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.best_step = state_dict["best"], state_dict["best_epoch"], state_dict["best_step"]
        self._state = state_dict["state"]


def split_indices(n: int, val_fraction: float, rng: np.random.Generator,
                  max_val: int | None = MAX_VALIDATION_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation split (at most ``max_val`` validation rows); no validation set when
    ``val_fraction`` is 0 or ``n`` tiny."""
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if max_val is not None:
        n_val = min(n_val, int(max_val))
    if n_val < 1 or n - n_val < 2:
        return np.arange(n), np.arange(0)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def make_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool, seed: int | None = None,
                drop_last: bool = False, rows: np.ndarray | None = None, shard: bool = True) -> DataLoader:
    """In-memory index-batch loader over ``rows`` (default all) of ``tensors`` (`seglab.models.batches`);
    ``shard=False`` for validation (every DDP rank scores the same rows)."""
    return index_loader(*tensors, batch_size=batch_size, rows=rows, shuffle=shuffle, seed=seed, drop_last=drop_last,
                        shard=shard)


def step_budget(n_batches: int, max_epochs: int, max_steps: int | None) -> dict[str, Any]:
    """Trainer arguments of a budget of ``max_epochs`` epochs or ``max_steps`` steps, whichever is
    smaller, with ``bound`` = ``"steps"`` when the step budget is the smaller one.

    A step-bound fit validates every ``max_steps / 100`` steps (at most once per epoch) so early
    stopping's patience means the same amount of training at any data size.
    """
    epoch_steps = int(max_epochs) * max(int(n_batches), 1)
    if max_steps is None or int(max_steps) <= 0 or int(max_steps) >= epoch_steps:
        return {"max_epochs": int(max_epochs), "max_steps": -1, "bound": "epochs", "total_steps": epoch_steps}
    val_every = max(1, min(int(n_batches), math.ceil(int(max_steps) / 100)))
    return {"max_epochs": int(max_epochs), "max_steps": int(max_steps), "bound": "steps",
            "total_steps": int(max_steps), "val_check_interval": val_every, "check_val_every_n_epoch": None}


def pretrain_autoencoder(
    encoder: nn.Module,
    decoder: nn.Module,
    X: np.ndarray,
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    max_epochs: int = 100,
    max_steps: int | None = None,
    patience: int | None = 10,
    val_fraction: float = 0.1,
    noise: float = 0.0,
    noise_kind: str = "dropout",
    seed: int = 0,
    trainer_kwargs: Mapping[str, Any] | None = None,
    stage: str = "pretrain",
    lr_schedule: str = "constant",
    augment: Augment | None = None,
    loss: ReconstructionLoss | None = None,
    checkpoint: Path | None = None,
) -> dict[str, float]:
    """Train ``encoder``/``decoder`` in place as an autoencoder on ``X``; return a fit report.

    Budget: ``max_epochs`` epochs or ``max_steps`` optimisation steps (None: no step limit),
    whichever comes first (``step_budget``). ``lr_schedule`` (``constant``, ``cosine``, ``step``)
    decays Adam's ``lr`` over that budget (``make_lr_scheduler``); ``augment`` (a callable,
    `seglab.models.augment`) jitters each training batch (validation stays clean). ``loss``: the
    reconstruction loss ``(x_hat, x)``, MSE by default (the multimodal model's decoder has a
    masked, modality-weighted one). ``checkpoint``: a resume point written every epoch and continued from when it exists
    (`seglab.models.checkpoints`).

    Early stopping watches ``{stage}/val_loss`` on a seeded ``val_fraction`` hold-out (at most
    ``MAX_VALIDATION_ROWS``; clean inputs even when denoising); the best weights are restored at
    the end. With no validation split (``val_fraction=0``) it runs the whole budget and reports the
    final training loss. Rows are batched by index: ``X`` is not copied when it is float32.
    """
    rng = np.random.default_rng(seed)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    tr, va = split_indices(len(Xt), val_fraction, rng)
    train_loader = make_loader(Xt, rows=tr, batch_size=batch_size, shuffle=True, seed=seed)
    n_batches = -(-len(tr) // int(batch_size))  # per epoch, as one process sees them
    budget = step_budget(n_batches, max_epochs, max_steps)
    bound = budget.pop("bound")
    total_steps = budget.pop("total_steps")
    if bound == "steps":
        log.info("%s: %d optimisation steps (pretrain_steps), fewer than max_epochs=%d epochs of %d steps on "
                 "%d rows; raise pretrain_steps (or set it to null) to train longer", stage, total_steps,
                 int(max_epochs), n_batches, len(tr))
    module = AutoencoderModule(
        encoder, decoder, lr=lr, weight_decay=weight_decay, noise=noise, noise_kind=noise_kind, stage=stage,
        lr_schedule=lr_schedule, schedule_length=total_steps if bound == "steps" else max_epochs,
        schedule_interval="step" if bound == "steps" else "epoch", augment=augment, loss=loss)
    callbacks: list[Callback] = [FitProgress(f"{stage}: autoencoder"), *checkpoints.epoch_checkpoint(checkpoint, train_loader)]
    val_loader = None
    monitor = f"{stage}/val_loss"
    best: RestoreBestWeights | None = None
    if len(va):
        val_loader = make_loader(Xt, rows=va, batch_size=max(int(batch_size), 1024), shuffle=False, shard=False)
        best = RestoreBestWeights(monitor)
        callbacks.append(best)
        if patience is not None and patience > 0:
            callbacks.append(EarlyStopping(monitor=monitor, patience=int(patience), mode="min"))
    else:
        budget.pop("val_check_interval", None)
        budget.pop("check_val_every_n_epoch", None)
    trainer = make_trainer(
        trainer_kwargs, callbacks=callbacks, n_batches=n_batches, num_sanity_val_steps=0, **budget,
        **({} if val_loader is not None else {"limit_val_batches": 0}),
    )
    with quiet_lightning():
        checkpoints.fit(trainer, module, checkpoint, train_dataloaders=train_loader, val_dataloaders=val_loader)
    report = {f"fit/{stage}_epochs": float(trainer.current_epoch), f"fit/{stage}_steps": float(trainer.global_step)}
    if best is not None and best.best_epoch >= 0:
        report[f"fit/{stage}_val_loss"] = best.best
        report[f"fit/{stage}_best_epoch"] = float(best.best_epoch + 1)
        report[f"fit/{stage}_best_step"] = float(best.best_step)
    else:
        report[f"fit/{stage}_train_loss"] = float(trainer.callback_metrics.get(f"{stage}/train_loss", float("nan")))
    encoder.cpu()
    decoder.cpu()
    return report
