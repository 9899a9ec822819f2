"""Labelled progress of a Lightning fit through `seglab.progress` (Lightning's own bar is off).

One update per optimisation step, out of the fit's step budget (``max_steps``, or ``max_epochs``
times the batches per epoch), so pretraining and the clustering phase show what is left of the
budget rather than of an epoch whose length depends on the data size. Early stopping ends the
bar early.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from seglab.progress import Progress


class FitProgress(Callback):
    """Feed a `seglab.progress.Progress` labelled ``desc`` with one update per training step."""

    def __init__(self, desc: str):
        self.desc = desc
        self.bar: Progress | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = trainer.estimated_stepping_batches
        self.bar = Progress(self.desc, total=int(total) if total != float("inf") else None, unit="step")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._close()
