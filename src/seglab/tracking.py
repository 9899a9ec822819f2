"""Experiment tracking: one MLflow run per training run, in an embedded SQLite store.

Why this shape:
- MLflow 3 refuses the old file store, so the default is ``sqlite:///<log_dir>/mlflow.db``.
- The store and the experiment are created once (``ensure_experiment``) with an explicit
  artifact location under the log dir; parallel multirun jobs would otherwise race on the
  schema migration and on experiment creation (see DESIGN.md). The database is switched to
  WAL mode so concurrent jobs can log without blocking each other.
- The run is created here and handed to Lightning's ``MLFlowLogger`` by ``run_id``, so the
  training curves, the flattened config (logged once: MLflow refuses a param logged twice with
  another value), the final metrics and the run dir's files all land in the same MLflow run.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value


def default_tracking_uri(log_dir: str | Path) -> str:
    """The embedded default: an SQLite file directly under the log dir (absolute path)."""
    return f"sqlite:///{Path(log_dir).resolve() / 'mlflow.db'}"


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file behind an ``sqlite:///`` URI, else None."""
    prefix = "sqlite:///"
    return Path(tracking_uri[len(prefix):]) if tracking_uri.startswith(prefix) else None


def ensure_experiment(tracking_uri: str, experiment_name: str, artifact_root: str | Path, retries: int = 5) -> str:
    """Create the store (schema), switch SQLite to WAL and create or fetch the experiment.

    Safe to call from several processes: a losing racer retries and finds the experiment.
    Returns the experiment id.
    """
    db = sqlite_path(tracking_uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for attempt in range(retries):
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            found = client.get_experiment_by_name(experiment_name)
            if found is not None:
                exp_id = found.experiment_id
            else:
                location = Path(artifact_root).resolve() / experiment_name
                exp_id = client.create_experiment(experiment_name, artifact_location=location.as_uri())
            if db is not None:
                with sqlite3.connect(db) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
            return exp_id
        except Exception as err:  # racing creators: the schema or the name already exists
            last_error = err
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"could not create or open MLflow experiment {experiment_name!r} at {tracking_uri}") from last_error


def flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a nested mapping to ``a.b.c -> str(value)`` for MLflow params."""
    flat: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)[:MAX_PARAM_LENGTH]
    return flat


class Tracker:
    """One MLflow run: start, log params/metrics/artifacts, finish with a status."""

    def __init__(self, tracking_uri: str, experiment_name: str, artifact_root: str | Path,
                 run_name: str | None = None, tags: Mapping[str, str] | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_id = ensure_experiment(tracking_uri, experiment_name, artifact_root)
        self.experiment_name = experiment_name
        self.client = MlflowClient(tracking_uri=tracking_uri)
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=dict(tags or {}))
        self.run_id = run.info.run_id

    def log_params(self, params: Mapping[str, str]) -> None:
        items = [Param(k, v) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow's batch limit on params
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()
                 if v is not None and not (isinstance(v, float) and math.isnan(v))]
        for start in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[start:start + 500])

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifacts(self, directory: str | Path) -> None:
        self.client.log_artifacts(self.run_id, str(directory))

    def finish(self, ok: bool) -> None:
        status = RunStatus.to_string(RunStatus.FINISHED if ok else RunStatus.FAILED)
        self.client.set_terminated(self.run_id, status=status)
