"""Hydra multirun support: create the tracking store once, before any job starts.

Two joblib jobs opening a fresh SQLite store race on its schema migration and on experiment
creation, and both fail (measured when the tracker was built). Hydra calls ``on_multirun_start`` once, in
the launching process, before the launcher starts any job, so the store, its WAL mode and the
experiment exist by the time jobs log to them. Single runs do not need it (``Tracker`` creates
what is missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seglab.tracking import default_tracking_uri, ensure_experiment


class MlflowStoreCallback(Callback):
    """Hydra callback (see ``hydra.callbacks`` in conf/config.yaml)."""

    def __init__(self, enabled: bool, log_dir: str, tracking_uri: str | None, experiment_name: str) -> None:
        self.enabled = enabled
        self.log_dir = log_dir
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        uri = self.tracking_uri or default_tracking_uri(self.log_dir)
        ensure_experiment(uri, self.experiment_name, Path(self.log_dir) / "mlartifacts")
