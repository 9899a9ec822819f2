"""Why a run stops before it succeeds: signals, non-finite losses, collapsed clusterings.

Each stop becomes one exception that ``seglab.train.run`` turns into a truthful status
(tracker KILLED or FAILED, the run dir's ``run.json`` saying why) and ``main_entry`` into one
line on stderr:

- SIGINT (Ctrl+C) and SIGTERM raise ``Interrupted``, a ``BaseException`` that is not a
  ``KeyboardInterrupt``. Lightning catches ``KeyboardInterrupt`` inside ``Trainer.fit``, ignores
  further Ctrl+C and calls ``sys.exit(1)``: the run would exit 1 with no message, or, when the
  interrupt landed where a library swallows it, carry on. ``Interrupted`` passes through
  Lightning's generic handler (loggers and callbacks are told, then it is re-raised), and
  ``raise_if_interrupted`` re-raises after a fit that still ended ``interrupted``. Inside
  ``signals_deferred()`` (every write to the tracker store) the signal is held until the write
  is done: a write to SQLite interrupted half-way kept the database locked for the rest of the
  process, so the run's final status could not be written (measured: a SIGTERM during the
  pretraining logger's write left the run RUNNING);
- ``FiniteLoss`` (a Lightning callback every seglab Trainer carries) raises ``TrainingDiverged``
  when a training loss is NaN or infinite. It accumulates the check on the loss's device and
  reads it every ``check_every`` steps and at each epoch end, so a GPU fit is not synchronised
  at every step;
- ``check_not_collapsed`` raises ``ClusteringCollapsed`` when every customer is in one segment.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from seglab.errors import ClusteringCollapsed, TrainingDiverged


class Interrupted(BaseException):  # noqa: N818 - what the user sees: "interrupted (SIGINT)"
    """The process received SIGINT or SIGTERM; ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.signal_name = signal.Signals(self.signum).name
        super().__init__(f"interrupted ({self.signal_name})")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_deferred_depth = 0  # main thread only: signal handlers run there
_pending: int | None = None


def _raise_interrupted(signum: int, frame: Any) -> None:
    global _pending
    if _deferred_depth > 0:
        _pending = signum  # raised when the write in progress is done
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM (as ``interruptible`` handles them) until the block ends, then raise.

    For short writes that must not stop half-way (the tracker store). No effect outside the
    main thread (the heartbeat thread's writes cannot be interrupted by a signal anyway)."""
    global _deferred_depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferred_depth += 1
    try:
        yield
    finally:
        _deferred_depth -= 1
        if _deferred_depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``Interrupted`` (main thread only; elsewhere,
    e.g. a joblib worker thread, the process's handlers are left alone). Handlers are restored
    on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, _raise_interrupted)
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def raise_if_interrupted(trainer: Any) -> None:
    """After ``Trainer.fit``: a fit that ended interrupted must not look like a finished one."""
    if getattr(trainer, "interrupted", False):
        raise Interrupted(signal.SIGINT)


def _finite_loss_callback_class() -> type:
    from lightning.pytorch.callbacks import Callback

    class FiniteLoss(Callback):
        """Raise ``TrainingDiverged`` when a training loss is NaN or infinite (see the module docstring)."""

        def __init__(self, check_every: int = 50):
            self.check_every = max(int(check_every), 1)
            self._bad = None
            self._first_bad_step: int | None = None

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            if loss is None:
                return
            import torch

            bad = ~torch.isfinite(loss.detach()).all()
            self._bad = bad if self._bad is None else (self._bad | bad)
            if trainer.global_step % self.check_every == 0:
                self._check(trainer, pl_module)

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self._check(trainer, pl_module)

        def _check(self, trainer, pl_module) -> None:
            if self._bad is None or not bool(self._bad):
                return
            stage = getattr(pl_module, "stage", type(pl_module).__name__)
            raise TrainingDiverged(
                f"{stage}: the training loss became NaN or infinite (by step {trainer.global_step}, epoch "
                f"{trainer.current_epoch}); the run stops. Lower the learning rate, or look for extreme values "
                "in the inputs (features.preprocess clips outliers with outliers=iqr)")

    return FiniteLoss


_FINITE_LOSS: type | None = None


def finite_loss_callback(check_every: int = 50) -> Any:
    """A new ``FiniteLoss`` Lightning callback (the class is built on first use: importing this
    module does not import Lightning)."""
    global _FINITE_LOSS
    if _FINITE_LOSS is None:
        _FINITE_LOSS = _finite_loss_callback_class()
    return _FINITE_LOSS(check_every)


def check_not_collapsed(labels: np.ndarray, model_name: str) -> None:
    """Raise ``ClusteringCollapsed`` when fewer than two segments hold customers (noise, -1, is
    not a segment). A one-segment answer is a failed run of that method, not a result."""
    labels = np.asarray(labels)
    segments = labels[labels >= 0]
    n_segments = len(np.unique(segments))
    if n_segments >= 2 or len(labels) < 2:
        return
    n_noise = int((labels < 0).sum())
    what = "no segment" if n_segments == 0 else "one segment"
    raise ClusteringCollapsed(
        f"{model_name} put every customer in {what} ({len(segments)} in segments, {n_noise} noise); "
        "the clustering collapsed and the run stops. Try another seed, learning rate or n_clusters")
