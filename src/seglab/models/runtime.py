"""Lightning Trainers and batched inference for seglab's deep models.

- ``make_trainer``: a Lightning ``Trainer`` from the user's ``trainer_kwargs`` (``conf/trainer/*``
  plus the ``logger`` list and ``default_root_dir`` that ``seglab.train.run`` adds) merged over quiet
  defaults, so the models also work with ``trainer_kwargs=None`` in plain Python;
- ``encode`` / ``predict_device``: batched inference on the accelerator the user asked for;
- ``plain_dict``, ``quiet_lightning``, ``torch_threads``, ``seed_all``, ``clone_module``: small shared
  helpers.

``use_distributed_sampler`` is off by default: seglab's loaders (`seglab.models.batches`) shard
their batches across DDP ranks themselves, keeping the single-process batches.
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
from lightning.pytorch.callbacks import Callback
from torch import nn

from seglab.guards import finite_loss_callback

#: Trainer settings seglab applies unless the caller's ``trainer_kwargs`` say otherwise.
TRAINER_DEFAULTS: dict[str, Any] = {
    "accelerator": "auto",
    "devices": 1,
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "deterministic": True,
    "use_distributed_sampler": False,
}

# Keys a caller may pass that are not Trainer arguments (silently ignored would hide typos, so
# only these few are dropped).
_NOT_TRAINER_KEYS = {"_target_", "name"}


def plain_dict(trainer_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``trainer_kwargs`` (a mapping, a Hydra ``DictConfig`` or None) as a plain dict, resolved."""
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

    The caller's callbacks are kept and ours appended, with `seglab.guards`' ``FiniteLoss`` (a
    NaN or infinite loss stops the fit with ``TrainingDiverged``); ``log_every_n_steps`` defaults
    to at most the number of batches per epoch so short epochs still log.
    """
    kwargs = {**TRAINER_DEFAULTS, **{k: v for k, v in plain_dict(trainer_kwargs).items() if k not in _NOT_TRAINER_KEYS}}
    user_callbacks = list(kwargs.pop("callbacks", None) or [])
    kwargs.update(overrides)
    if "log_every_n_steps" not in kwargs and n_batches:
        kwargs["log_every_n_steps"] = max(1, min(50, int(n_batches)))
    if kwargs.get("logger") is None:
        kwargs["logger"] = False
    with quiet_lightning():
        return L.Trainer(callbacks=[*user_callbacks, *callbacks, finite_loss_callback()], **kwargs)


def predict_device(trainer_kwargs: Mapping[str, Any] | None) -> torch.device:
    """Where inference runs: the GPU when the caller asked for one (or ``auto``) and one exists."""
    accel = str(plain_dict(trainer_kwargs).get("accelerator", TRAINER_DEFAULTS["accelerator"])).lower()
    if accel in {"gpu", "cuda", "auto"} and torch.cuda.is_available():
        return torch.device("cuda")
    if accel == "mps" and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


#: Inference over at least this many rows shows progress (about a second of a small MLP per 10^6).
ENCODE_PROGRESS_ROWS = 1_000_000


@torch.no_grad()
def encode(module: nn.Module, X: np.ndarray | torch.Tensor, device: torch.device | str = "cpu",
           batch_size: int = 4096) -> np.ndarray:
    """Run ``module`` in eval mode over ``X`` in batches on ``device``; float32 numpy out.

    The module is moved back to where it was and its train/eval mode restored. The output is
    filled in place (no list of batches concatenated at the end: one output-sized array, not
    two); from ``ENCODE_PROGRESS_ROWS`` rows on it shows labelled progress.
    """
    from seglab.progress import Progress

    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32)) if not isinstance(X, torch.Tensor) else X.float()
    if len(Xt) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    params = list(module.parameters())
    home = params[0].device if params else torch.device("cpu")
    was_training = module.training
    device = torch.device(device)
    module.to(device).eval()
    out: np.ndarray | None = None
    bar = Progress("encoding", total=len(Xt), unit="row") if len(Xt) >= ENCODE_PROGRESS_ROWS else None
    try:
        for i in range(0, len(Xt), batch_size):
            batch = module(Xt[i:i + batch_size].to(device)).cpu().numpy()
            if out is None:
                out = np.empty((len(Xt), batch.shape[1]), dtype=np.float32)
            out[i:i + len(batch)] = batch
            if bar is not None:
                bar.update(len(batch))
    finally:
        module.to(home).train(was_training)
        if bar is not None:
            bar.close()
    return out


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
            # Lightning 2.6 under torch 2.13 warns about LeafSpec: harmless, filtered by message.
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
