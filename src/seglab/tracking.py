"""Experiment tracking: one MLflow run per training run, in an embedded SQLite store.

Why this shape:
- MLflow 3 refuses the old file store, so the default is ``sqlite:///<log_dir>/mlflow.db``.
- The store and the experiment are created once (``ensure_experiment``) with an explicit
  artifact location under the log dir; parallel multirun jobs would otherwise race on the
  schema migration and on experiment creation (measured). The database is switched to
  WAL mode so concurrent jobs can log without blocking each other.
- The run is created here and handed to Lightning's ``MLFlowLogger`` by ``run_id``, so the
  training curves, the flattened config (logged once: MLflow refuses a param logged twice with
  another value), the final metrics and the run dir's files all land in the same MLflow run.
  Lightning's own ``MLFlowLogger.finalize`` marks the run FINISHED when a ``Trainer.fit`` ends
  (the pretraining fit, seconds into a run): ``RunLogger`` is that logger without the status
  change, because only ``Tracker.finish`` may end the run it created.
- Status tells the truth: ``finish`` sets FINISHED (after ``metrics.json``), FAILED or KILLED.
  A process killed outright (SIGKILL, power loss) cannot say so, so each run carries its host,
  pid and a heartbeat tag refreshed every ``HEARTBEAT_S`` seconds by a daemon thread; the next
  ``Tracker`` to open the experiment marks RUNNING runs whose process is gone (same host) or
  whose heartbeat is older than ``STALE_AFTER_S`` (any host) as KILLED (``mark_dead_runs``).
- A new run's tags pass through MLflow's own context providers (``resolve_tags``), so the
  standard system tags (``mlflow.source.name``, ``mlflow.source.git.commit``, ``mlflow.user``)
  are set as ``mlflow.start_run`` would set them. The data is logged as a run input
  (``log_dataset``): a per-column summary and a digest of the feature table, never its rows.
- Every write to the store holds SIGINT/SIGTERM until it is done (``seglab.guards.signals_deferred``):
  an SQLite write interrupted half-way locked the store for the rest of the process.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from seglab.guards import signals_deferred

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
HEARTBEAT_S = 30.0  # how often a running run refreshes its heartbeat tag
STALE_AFTER_S = 600.0  # a RUNNING run silent this long is dead, whatever its host
HOST_TAG, PID_TAG, PID_START_TAG, HEARTBEAT_TAG = "seglab.host", "seglab.pid", "seglab.pid_start", "seglab.heartbeat"
END_REASON_TAG = "seglab.end_reason"

log = logging.getLogger("seglab")


def _whole(method):
    """Run a store write with SIGINT/SIGTERM held until it is done (see the module docstring)."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with signals_deferred():
            return method(*args, **kwargs)
    return wrapper


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


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux clock ticks since boot), to tell a reused pid from the
    original process; None where /proc is not available."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` of this host still runs (and is the one that started at ``started``)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    except (OSError, ValueError):
        return False
    if started is not None:
        now = process_start(pid)
        return now is None or now == started
    return True


def owner_tags() -> dict[str, str]:
    """Host, pid, process start and a fresh heartbeat of this process, as run tags."""
    pid = os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), HEARTBEAT_TAG: f"{time.time():.0f}"}
    started = process_start(pid)
    if started is not None:
        tags[PID_START_TAG] = started
    return tags


@dataclass(frozen=True)
class DeadRun:
    """A RUNNING run found dead by ``mark_dead_runs`` (now KILLED)."""

    run_id: str
    run_dir: str | None
    reason: str
    host: str | None = None
    pid: str | None = None


def why_dead(tags: Mapping[str, str], start_time_ms: int | None, now: float | None = None,
             stale_after_s: float = STALE_AFTER_S) -> str | None:
    """Why a RUNNING run's process is gone, from its owner tags; None while it may be alive."""
    now = time.time() if now is None else now
    try:
        beat = float(tags[HEARTBEAT_TAG])
    except (KeyError, ValueError):
        beat = (start_time_ms or 0) / 1000.0
    if tags.get(HOST_TAG) == socket.gethostname() and tags.get(PID_TAG, "").isdigit():
        if not process_alive(int(tags[PID_TAG]), tags.get(PID_START_TAG)):
            return f"its process (pid {tags[PID_TAG]} on this host) is gone; last heartbeat {now - beat:.0f} s ago"
    if now - beat > stale_after_s:
        return f"no heartbeat for {now - beat:.0f} s (more than {stale_after_s:.0f} s)"
    return None


def mark_dead_runs(client: MlflowClient, experiment_id: str, stale_after_s: float = STALE_AFTER_S) -> list[DeadRun]:
    """Mark the experiment's RUNNING runs whose process is gone as KILLED; return them."""
    dead = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000):
        reason = why_dead(run.data.tags, run.info.start_time, stale_after_s=stale_after_s)
        if reason is None:
            continue
        try:
            client.set_tag(run.info.run_id, END_REASON_TAG, f"killed: {reason}; marked by a later run")
            client.set_terminated(run.info.run_id, status="KILLED")
        except Exception as err:  # another process marked it first, or the store is busy
            log.debug("could not mark run %s KILLED: %s", run.info.run_id, err)
            continue
        log.warning("tracker: run %s was left RUNNING but %s; marked KILLED", run.info.run_id, reason)
        tags = run.data.tags
        dead.append(DeadRun(run.info.run_id, tags.get("seglab.run_dir"), reason, tags.get(HOST_TAG), tags.get(PID_TAG)))
    return dead


def dataset_summary(features: Any) -> tuple[Any, str]:
    """(one row per feature column: dtype, count, missing, mean, std, min, max; a digest of the
    whole table) for ``Tracker.log_dataset``: what the run saw, without any customer's row."""
    import hashlib

    import pandas as pd

    numeric = features.select_dtypes("number")
    summary = pd.DataFrame({"column": [str(c) for c in features.columns],
                            "dtype": [str(t) for t in features.dtypes],
                            "count": features.notna().sum().to_numpy(dtype=float),
                            "missing": features.isna().sum().to_numpy(dtype=float)})
    stats = numeric.agg(["mean", "std", "min", "max"]).T
    summary = summary.merge(stats, left_on="column", right_index=True, how="left")
    digest = hashlib.sha256(pd.util.hash_pandas_object(features, index=True).to_numpy().tobytes()).hexdigest()
    return summary, digest


class Tracker:
    """One MLflow run: start (or resume), log params/metrics/artifacts, heartbeat, finish with a status.

    ``run_id``: continue that run (``resume=RUN_DIR``) instead of creating one; it is set
    RUNNING again. ``dead_runs`` lists the runs this start found dead and marked KILLED.
    """

    @_whole
    def __init__(self, tracking_uri: str, experiment_name: str, artifact_root: str | Path,
                 run_name: str | None = None, tags: Mapping[str, str] | None = None, run_id: str | None = None,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_id = ensure_experiment(tracking_uri, experiment_name, artifact_root)
        self.experiment_name = experiment_name
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.dead_runs = mark_dead_runs(self.client, self.experiment_id)
        if run_id is None:
            from mlflow.tracking.context.registry import resolve_tags

            run = self.client.create_run(self.experiment_id, run_name=run_name,
                                         tags=resolve_tags({**dict(tags or {}), **owner_tags()}))
            self.run_id = run.info.run_id
        else:
            run = self.client.get_run(run_id)
            resumed = int(run.data.tags.get("seglab.resumed", "0") or 0) + 1
            self.run_id = run_id
            self.client.update_run(run_id, status="RUNNING")
            self.set_tags({**dict(tags or {}), **owner_tags(), "seglab.resumed": str(resumed), END_REASON_TAG: ""})
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(float(heartbeat_s),), daemon=True,
                                      name=f"seglab-heartbeat-{self.run_id[:8]}")
        self._beat.start()

    def _heartbeat(self, every_s: float) -> None:
        client = MlflowClient(tracking_uri=self.tracking_uri)
        while not self._stop.wait(every_s):
            try:
                client.set_tag(self.run_id, HEARTBEAT_TAG, f"{time.time():.0f}")
            except Exception as err:  # a busy store: the next beat retries
                log.debug("heartbeat of run %s failed: %s", self.run_id, err)

    def lightning_logger(self) -> Any:
        """Lightning's MLflow logger on this run, which never ends the run (``RunLogger``)."""
        return run_logger_class()(experiment_name=self.experiment_name, tracking_uri=self.tracking_uri,
                                  run_id=self.run_id)

    @_whole
    def log_params(self, params: Mapping[str, str]) -> None:
        items = [Param(k, v) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow's batch limit on params
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    @_whole
    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()
                 if v is not None and not (isinstance(v, float) and math.isnan(v))]
        for start in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[start:start + 500])

    @_whole
    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    @_whole
    def log_dataset(self, summary: Any, name: str, source: str, digest: str, context: str = "training") -> None:
        """Log the data as an MLflow dataset input (``mlflow.data``) from ``summary``, a small frame
        describing it (one row per column: never customer rows), with ``digest`` identifying it."""
        import mlflow.data
        from mlflow.data.code_dataset_source import CodeDatasetSource
        from mlflow.entities import DatasetInput, InputTag

        # an explicit source: a plain string makes MLflow guess its kind (and warn about it)
        origin = CodeDatasetSource(tags={"seglab.data.source": source})
        with warnings.catch_warnings():  # the summary's integer columns (counts) are never missing
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
            dataset = mlflow.data.from_pandas(summary, source=origin, name=name, digest=digest[:36])
        self.client.log_inputs(self.run_id, [DatasetInput(dataset._to_mlflow_entity(),
                                                          tags=[InputTag("mlflow.data.context", context)])])

    @_whole
    def log_artifacts(self, directory: str | Path, skip: set[str] = frozenset()) -> None:
        """Upload the files of ``directory`` (a run dir) except the top-level entries named in ``skip``."""
        directory = Path(directory)
        for entry in sorted(directory.iterdir()):
            if entry.name in skip:
                continue
            if entry.is_dir():
                self.client.log_artifacts(self.run_id, str(entry), artifact_path=entry.name)
            elif entry.is_file():
                self.client.log_artifact(self.run_id, str(entry))

    @_whole
    def finish(self, status: bool | str, reason: str | None = None) -> None:
        """End the run: ``True``/FINISHED, ``False``/FAILED or KILLED; ``reason`` goes to a tag."""
        if isinstance(status, bool):
            status = "FINISHED" if status else "FAILED"
        status = RunStatus.to_string(RunStatus.from_string(str(status).upper()))
        self._stop.set()
        if reason:
            self.set_tags({END_REASON_TAG: reason[:5000]})
        self.client.set_terminated(self.run_id, status=status)


_RUN_LOGGER: type | None = None


def run_logger_class() -> type:
    """``RunLogger``: Lightning's ``MLFlowLogger`` whose ``finalize`` leaves the run's status alone
    (built on first use, so importing this module does not import Lightning)."""
    global _RUN_LOGGER
    if _RUN_LOGGER is None:
        from lightning.pytorch.loggers import MLFlowLogger

        class RunLogger(MLFlowLogger):
            """Logs a Trainer's curves into a run ``Tracker`` owns; never terminates it."""

            def finalize(self, status: str = "success") -> None:
                return None

            @_whole
            def log_metrics(self, metrics, step=None) -> None:
                super().log_metrics(metrics, step)

            @_whole
            def log_hyperparams(self, params) -> None:
                super().log_hyperparams(params)

        _RUN_LOGGER = RunLogger
    return _RUN_LOGGER
