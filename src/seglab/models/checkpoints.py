"""Resume points of deep models: a killed fit continues where it stopped and ends where an
uninterrupted fit with the same seed would (same weights, same labels on CPU).

``fit(X, checkpoint_dir=...)`` (``seglab.train.run`` passes the run dir's ``checkpoints/``) keeps:

- ``<stage>.ckpt``: a Lightning checkpoint at the end of every epoch of a Lightning fit
  (``pretrain``, the clustering phase ``dec``): weights, optimiser, scheduler, loop counters and
  the callbacks' state (early stopping, the best weights so far), plus what Lightning does not
  save: the global RNG states (torch, numpy, Python: input corruption, dropout) and the state of
  the loader's shuffling generator, so the epochs after a resume draw the same batches and the
  same noise as they would have. No checkpoint is written at an epoch that ends the fit (early
  stopping, the tolerance test): resuming from it would train one epoch more;
- ``pretrained.pt``: the pretrained autoencoder and its report once pretraining is done, so a
  resumed fit skips it and goes straight to the initial clustering.

Every file is written to a temporary name and renamed over the old one: a kill during a write
leaves the previous resume point, never half a file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from seglab.guards import raise_if_interrupted

PRETRAINED = "pretrained.pt"


def rng_state() -> dict[str, Any]:
    """The global RNG states as tensors and plain numbers (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
                             "numpy": {"keys": torch.as_tensor(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                                       "has_gauss": int(has_gauss), "cached": float(cached)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(int(v) for v in state["python"]), None))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


class EpochCheckpoint(Callback):
    """Save ``path`` (a Lightning checkpoint plus RNG and loader state) at the end of every epoch."""

    def __init__(self, path: str | Path, generator: torch.Generator | None = None):
        self.path = Path(path)
        self.generator = generator

    @property
    def state_key(self) -> str:
        return f"EpochCheckpoint[{self.path.name}]"

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(), "loader": None if self.generator is None else self.generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_rng_state(state_dict["rng"])
        if self.generator is not None and state_dict.get("loader") is not None:
            self.generator.set_state(state_dict["loader"])

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.should_stop or trainer.sanity_checking:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimiser, callbacks, loops
        if trainer.is_global_zero:
            os.replace(tmp, self.path)


def epoch_checkpoint(path: Path | None, loader: Any) -> list[Callback]:
    """``[EpochCheckpoint]`` for ``path`` (none when ``path`` is None), tracking ``loader``'s generator."""
    if path is None:
        return []
    return [EpochCheckpoint(path, getattr(getattr(loader, "sampler", None), "generator", None))]


def fit(trainer: Any, module: Any, checkpoint: Path | None = None, **loaders: Any) -> None:
    """``trainer.fit``, from ``checkpoint`` when it exists; a fit that ended interrupted raises."""
    ckpt = str(checkpoint) if checkpoint is not None and Path(checkpoint).is_file() else None
    trainer.fit(module, ckpt_path=ckpt, weights_only=True, **loaders) if ckpt else trainer.fit(module, **loaders)
    raise_if_interrupted(trainer)


def stage_path(model: Any, stage: str) -> Path | None:
    """``<checkpoint_dir>/<stage>.ckpt`` of a fit that keeps resume points, else None."""
    folder = getattr(model, "_checkpoint_dir", None)
    return None if folder is None else Path(folder) / f"{stage}.ckpt"


def save_pretrained(model: Any) -> None:
    """Keep the pretrained autoencoder (and the RNG state after pretraining) for a resumed fit."""
    folder = getattr(model, "_checkpoint_dir", None)
    if folder is None:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {"encoder_": model.encoder_, "decoder_": model.decoder_, "pretrain_report_": model.pretrain_report_,
             "rng": rng_state()}
    _atomic(folder / PRETRAINED, lambda p: joblib.dump(state, p))
    stage = folder / "pretrain.ckpt"  # superseded by the pretrained autoencoder
    stage.unlink(missing_ok=True)


def load_pretrained(model: Any) -> bool:
    """Restore the pretrained autoencoder of an interrupted fit; False when there is none."""
    folder = getattr(model, "_checkpoint_dir", None)
    if folder is None or not (Path(folder) / PRETRAINED).is_file():
        return False
    state = joblib.load(Path(folder) / PRETRAINED)
    model.encoder_, model.decoder_ = state["encoder_"], state["decoder_"]
    model.pretrain_report_ = {**state["pretrain_report_"], "fit/pretrain_resumed": 1.0}
    set_rng_state(state["rng"])
    return True
