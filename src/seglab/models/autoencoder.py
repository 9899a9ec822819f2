"""The MLP autoencoder every deep seglab model starts from, and the Lightning plumbing around it.

One place for the parts AE+k-means, DEC, IDEC (and later families) share:

- ``build_mlp_autoencoder``: encoder ``d -> hidden_dims -> latent_dim`` and a mirrored decoder,
  plain ``nn.Sequential`` so a fitted estimator pickles without Lightning state;
- ``AutoencoderModule``: the LightningModule that pretrains it end to end (MSE, Adam, optional
  input corruption ``noise`` for a denoising autoencoder), logging ``pretrain/train_loss`` and
  ``pretrain/val_loss``;
- ``pretrain_autoencoder``: seeded train/validation split, ``EarlyStopping`` on the validation
  reconstruction loss, the best weights restored at the end (not the last ones), and a small
  report (``fit/pretrain_epochs``, ``fit/pretrain_val_loss``);
- ``make_trainer``: a Lightning ``Trainer`` from the user's ``trainer_kwargs`` (``conf/trainer/*``
  plus the ``logger`` list and ``default_root_dir`` that ``seglab.train.run`` adds) merged over quiet
  defaults, so the models also work with ``trainer_kwargs=None`` in plain Python;
- ``encode`` / ``predict_device``: batched inference on the accelerator the user asked for.

The LightningModules here call no ``save_hyperparameters``: several Trainers share one MLflow
logger in a run and MLflow refuses a param logged twice with another value (see DESIGN.md).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

#: Trainer settings seglab applies unless the caller's ``trainer_kwargs`` say otherwise.
TRAINER_DEFAULTS: dict[str, Any] = {
    "accelerator": "auto",
    "devices": 1,
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "deterministic": True,
}

# Keys a caller may pass that are not Trainer arguments (silently ignored would hide typos, so
# only these few are dropped).
_NOT_TRAINER_KEYS = {"_target_", "name"}


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


#: Data augmentations for image inputs (flattened rows of an ``image_shape`` image).
AUGMENTS = ("none", "affine")


def check_augment(augment: str | None, image_shape: Sequence[int] | None) -> str:
    name = "none" if augment is None else str(augment).lower()
    if name not in AUGMENTS:
        raise ValueError(f"unknown augment {augment!r}; choose one of {list(AUGMENTS)}")
    if name != "none" and (image_shape is None or len(tuple(image_shape)) != 2):
        raise ValueError(f"augment={name!r} needs image_shape=(height, width) of the flattened images")
    return name


def augment_images(x: torch.Tensor, image_shape: Sequence[int], max_shift: float = 0.1,
                   max_rotate: float = 10.0) -> torch.Tensor:
    """Random affine jitter of flattened images, as DEC-DA (Guo et al. 2018) does with Keras's
    ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, rotation_range=10)``:
    each row is rotated by U(-max_rotate, max_rotate) degrees and shifted by U(-max_shift,
    max_shift) of its width/height (bilinear, zeros outside). Uses torch's global RNG."""
    h, w = (int(v) for v in image_shape)
    n = x.shape[0]
    if x.shape[1] != h * w:
        raise ValueError(f"augment: rows have {x.shape[1]} features, image_shape {h}x{w} needs {h * w}")
    theta = (torch.rand(n, device=x.device) * 2 - 1) * (max_rotate * torch.pi / 180.0)
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * (2 * max_shift)  # grid coords span [-1, 1]
    cos, sin = torch.cos(theta), torch.sin(theta)
    mat = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = nn.functional.affine_grid(mat.to(x.dtype), [n, 1, h, w], align_corners=False)
    out = nn.functional.grid_sample(x.view(n, 1, h, w), grid, mode="bilinear", padding_mode="zeros",
                                    align_corners=False)
    return out.reshape(n, h * w)


def maybe_augment(x: torch.Tensor, augment: str, image_shape: Sequence[int] | None) -> torch.Tensor:
    if augment == "none" or image_shape is None:
        return x
    return augment_images(x, image_shape)


# --------------------------------------------------------------------------------------------
# Pretraining
# --------------------------------------------------------------------------------------------
class AutoencoderModule(L.LightningModule):
    """End-to-end autoencoder pretraining: MSE reconstruction, Adam; denoising when ``noise > 0``."""

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
        schedule_epochs: int = 100,
        augment: str = "none",
        image_shape: Sequence[int] | None = None,
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
        self.schedule_epochs = max(int(schedule_epochs), 1)
        self.augment = check_augment(augment, image_shape)
        self.image_shape = None if image_shape is None else tuple(int(v) for v in image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        # DEC-DA: the augmented image is both the (corrupted) input and the reconstruction target
        x = maybe_augment(batch[0], self.augment, self.image_shape)
        loss = nn.functional.mse_loss(self(corrupt(x, self.noise, self.noise_kind)), x)
        self.log(f"{self.stage}/train_loss", loss, on_step=False, on_epoch=True, batch_size=len(x))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        x = batch[0]
        loss = nn.functional.mse_loss(self(x), x)
        self.log(f"{self.stage}/val_loss", loss, on_step=False, on_epoch=True, batch_size=len(x))

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = make_lr_scheduler(opt, self.lr_schedule, self.schedule_epochs)
        if scheduler is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


#: Learning-rate schedules of the pretraining (per epoch, over ``max_epochs``).
LR_SCHEDULES = ("constant", "cosine", "step")


def check_lr_schedule(name: str) -> str:
    name = str(name).lower()
    if name not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {name!r}; choose one of {list(LR_SCHEDULES)}")
    return name


def make_lr_scheduler(opt: torch.optim.Optimizer, schedule: str, epochs: int) -> Any:
    """``constant``: None; ``cosine``: lr -> 0 along a half cosine over ``epochs``; ``step``: lr x 0.1
    at 2/3 of ``epochs`` (the DEC paper's "divided by 10" step, placed once)."""
    schedule = check_lr_schedule(schedule)
    epochs = max(int(epochs), 1)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, (2 * epochs) // 3), gamma=0.1)
    return None


class RestoreBestWeights(Callback):
    """Keep an in-memory copy of the weights with the best ``monitor`` value; restore it at the end.

    ``EarlyStopping`` stops ``patience`` epochs after the best epoch; without this the model
    would keep those worse weights (checkpointing to disk is off by default).
    """

    def __init__(self, monitor: str):
        self.monitor = monitor
        self.best: float = float("inf")
        self.best_epoch: int = -1
        self._state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        value = float(value)
        if value < self.best:
            self.best, self.best_epoch = value, trainer.current_epoch
            self._state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._state is not None:
            pl_module.load_state_dict(self._state)


def split_indices(n: int, val_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation split; no validation set when ``val_fraction`` is 0 or ``n`` tiny."""
    n_val = int(round(n * val_fraction)) if val_fraction > 0 else 0
    if n_val < 1 or n - n_val < 2:
        return np.arange(n), np.arange(0)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def make_loader(
    *tensors: torch.Tensor, batch_size: int, shuffle: bool, seed: int | None = None, drop_last: bool = False
) -> DataLoader:
    """In-memory loader (no worker processes: the data already sits in RAM as tensors)."""
    generator = torch.Generator().manual_seed(int(seed)) if shuffle and seed is not None else None
    return DataLoader(
        TensorDataset(*tensors),
        batch_size=int(batch_size),
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
        num_workers=0,
    )


def pretrain_autoencoder(
    encoder: nn.Module,
    decoder: nn.Module,
    X: np.ndarray,
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    max_epochs: int = 100,
    patience: int | None = 10,
    val_fraction: float = 0.1,
    noise: float = 0.0,
    noise_kind: str = "dropout",
    seed: int = 0,
    trainer_kwargs: Mapping[str, Any] | None = None,
    stage: str = "pretrain",
    lr_schedule: str = "constant",
    augment: str = "none",
    image_shape: Sequence[int] | None = None,
) -> dict[str, float]:
    """Train ``encoder``/``decoder`` in place as an autoencoder on ``X``; return a fit report.

    ``lr_schedule`` (``constant``, ``cosine``, ``step``) decays Adam's ``lr`` per epoch over
    ``max_epochs`` (see ``make_lr_scheduler``); ``augment="affine"`` jitters each training batch
    of flattened ``image_shape`` images (``augment_images``; validation stays clean).

    Early stopping watches ``{stage}/val_loss`` on a seeded ``val_fraction`` hold-out (clean
    inputs even when denoising); the best weights are restored at the end. With no validation
    split (``val_fraction=0``) it runs ``max_epochs`` and reports the final training loss.
    """
    rng = np.random.default_rng(seed)
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    tr, va = split_indices(len(Xt), val_fraction, rng)
    module = AutoencoderModule(encoder, decoder, lr=lr, weight_decay=weight_decay, noise=noise,
                               noise_kind=noise_kind, stage=stage, lr_schedule=lr_schedule,
                               schedule_epochs=max_epochs, augment=augment, image_shape=image_shape)
    train_loader = make_loader(Xt[tr], batch_size=batch_size, shuffle=True, seed=seed)
    callbacks: list[Callback] = []
    val_loader = None
    monitor = f"{stage}/val_loss"
    best: RestoreBestWeights | None = None
    if len(va):
        val_loader = make_loader(Xt[va], batch_size=max(int(batch_size), 1024), shuffle=False)
        best = RestoreBestWeights(monitor)
        callbacks.append(best)
        if patience is not None and patience > 0:
            callbacks.append(EarlyStopping(monitor=monitor, patience=int(patience), mode="min"))
    trainer = make_trainer(
        trainer_kwargs, max_epochs=int(max_epochs), callbacks=callbacks, n_batches=len(train_loader),
        num_sanity_val_steps=0, **({} if val_loader is not None else {"limit_val_batches": 0}),
    )
    with quiet_lightning():
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
    report = {f"fit/{stage}_epochs": float(trainer.current_epoch)}
    if best is not None and best.best_epoch >= 0:
        report[f"fit/{stage}_val_loss"] = best.best
        report[f"fit/{stage}_best_epoch"] = float(best.best_epoch + 1)
    else:
        report[f"fit/{stage}_train_loss"] = float(trainer.callback_metrics.get(f"{stage}/train_loss", float("nan")))
    encoder.cpu()
    decoder.cpu()
    return report


# --------------------------------------------------------------------------------------------
# Trainer and inference helpers
# --------------------------------------------------------------------------------------------
def _plain(trainer_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    if trainer_kwargs is None:
        return {}
    try:  # a Hydra DictConfig: resolve it to plain Python, keeping logger objects as they are
        from omegaconf import DictConfig, OmegaConf

        if isinstance(trainer_kwargs, DictConfig):
            return dict(OmegaConf.to_container(trainer_kwargs, resolve=True))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return {k: v for k, v in dict(trainer_kwargs).items()}


def make_trainer(
    trainer_kwargs: Mapping[str, Any] | None,
    *,
    callbacks: Sequence[Callback] = (),
    n_batches: int | None = None,
    **overrides: Any,
) -> L.Trainer:
    """A Trainer from ``TRAINER_DEFAULTS`` < caller's ``trainer_kwargs`` < this call's ``overrides``.

    The caller's callbacks are kept and ours appended; ``log_every_n_steps`` defaults to at most
    the number of batches per epoch so short epochs still log.
    """
    kwargs = {**TRAINER_DEFAULTS, **{k: v for k, v in _plain(trainer_kwargs).items() if k not in _NOT_TRAINER_KEYS}}
    user_callbacks = list(kwargs.pop("callbacks", None) or [])
    kwargs.update(overrides)
    if "log_every_n_steps" not in kwargs and n_batches:
        kwargs["log_every_n_steps"] = max(1, min(50, int(n_batches)))
    if kwargs.get("logger") is None:
        kwargs["logger"] = False
    with quiet_lightning():
        return L.Trainer(callbacks=[*user_callbacks, *callbacks], **kwargs)


def predict_device(trainer_kwargs: Mapping[str, Any] | None) -> torch.device:
    """Where inference runs: the GPU when the caller asked for one (or ``auto``) and one exists."""
    accel = str(_plain(trainer_kwargs).get("accelerator", TRAINER_DEFAULTS["accelerator"])).lower()
    if accel in {"gpu", "cuda", "auto"} and torch.cuda.is_available():
        return torch.device("cuda")
    if accel == "mps" and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@torch.no_grad()
def encode(module: nn.Module, X: np.ndarray | torch.Tensor, device: torch.device | str = "cpu",
           batch_size: int = 4096) -> np.ndarray:
    """Run ``module`` in eval mode over ``X`` in batches on ``device``; float32 numpy out.

    The module is moved back to where it was and its train/eval mode restored.
    """
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32)) if not isinstance(X, torch.Tensor) else X.float()
    params = list(module.parameters())
    home = params[0].device if params else torch.device("cpu")
    was_training = module.training
    device = torch.device(device)
    module.to(device).eval()
    try:
        out = [module(Xt[i:i + batch_size].to(device)).cpu() for i in range(0, len(Xt), batch_size)]
    finally:
        module.to(home).train(was_training)
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(out).numpy()


_NOISY_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.pytorch.accelerators.cuda",
    "lightning.fabric.utilities.seed",
    "lightning.pytorch.utilities.seed",
)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's per-Trainer banners ("GPU available ...") and the num_workers hint.

    seglab's loaders are in-memory tensors, so worker processes would only add overhead.
    """
    saved = {}
    for name in _NOISY_LOGGERS:
        lg = logging.getLogger(name)
        saved[name] = lg.level
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*is smaller than the logging interval.*")
            # Lightning 2.6 under torch 2.13 (see DESIGN.md pitfalls): harmless, filtered by message.
            warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave the process setting alone).

    Small MLPs gain little from several threads and lose a lot when the cores are shared: on the
    2-core development machine under load, one pretraining epoch of d-500-500-2000-10 on USPS took
    5.7 s with 1 thread and 34 s with 2.
    """
    if n is None or int(n) <= 0 or int(n) == torch.get_num_threads():
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def seed_all(seed: int) -> None:
    """Seed Python, numpy and torch (what ``lightning.seed_everything`` does), without the banner."""
    with quiet_lightning():
        L.seed_everything(int(seed), workers=True, verbose=False)


def clone_module(module: nn.Module) -> nn.Module:
    """A CPU deep copy (used to share one pretrained autoencoder between several models)."""
    return copy.deepcopy(module).cpu()
