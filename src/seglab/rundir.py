"""The run-dir contract: the name of every file a run writes, and who may write into a dir.

A run dir belongs to one run. ``open_run_dir`` decides, before anything is computed:

- **new**: the dir does not exist, or holds only what Hydra writes before a job starts
  (``.hydra/`` and the job's ``*.log``). The run claims it by writing ``run.json``;
- **refused** (``RunDirError``): it holds another run (``run.json`` or any run file). Re-running
  into it would mix two runs' files (a new ``metrics.json`` beside the old ``segments.parquet``);
- **resumed**, only with ``resume=RUN_DIR``: it holds an unfinished run whose process is gone.
  The run continues with the config saved in the dir (``config.yaml``), in the same tracker run,
  from its last checkpoint (``checkpoints/``).

``run.json`` (``MARKER``) says what became of the run, whatever the tracker says: ``status``
(``running``, ``finished``, ``failed``, ``interrupted``; ``killed`` when a later start found its
process gone), the ``stage`` it was in, its process (host, pid), the tracker run, times, and the
reason it stopped. It is rewritten atomically (a temporary file renamed over it).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from seglab.errors import RunDirError

# --- what a run writes (the names every other module uses) ----------------------------------
MARKER = "run.json"  # the run's status, stage, process and tracker run (this module)
CONFIG = "config.yaml"  # resolved config: written when the run starts, rewritten at the end
METRICS = "metrics.json"  # written last: a run dir without it did not succeed
SEGMENTS = "segments.parquet"  # customer_id, segment, prob_*: the user's ids, to join back to a CRM
PROFILES = "profiles.csv"
PROFILE_DEVIATIONS = "profile_deviations.csv"
PROFILES_PLOT = "profiles.png"
SEGMENT_NAMES = "segment_names.json"
SURROGATE_RULES = "surrogate_rules.csv"
FEATURE_IMPORTANCE = "feature_importance.csv"
EXPLANATIONS = "explanations.json"
K_SELECTION = ("k_selection.json", "k_selection.csv", "k_selection.png")
STABILITY = "stability.json"
STABILITY_SEGMENTS = "stability_segments.csv"
TRANSITIONS = ("transitions.csv", "transition_rates.csv", "transitions.png")
FORECAST_SEGMENTS = "forecast_segments.csv"
FORECAST_SCORES = "forecast_scores.csv"
FORECAST_CUSTOMERS = "forecast_customers.parquet"  # per customer, keyed by the user's ids
FORECAST_PLOTS = ("forecast_calibration.png", "forecast_gains.png")
PREPROCESS_REPORT = "preprocess_report.json"
BUNDLE = "bundle"  # the fitted SegmentationPipeline (seglab.bundle): loads without unpickling, no per-customer rows
EMBEDDING = "embedding.parquet"  # customer_id, segment, z_0..: the space the model clustered in (report views)
#: Files of older run dirs: joblib pickles, which seglab no longer writes nor loads.
LEGACY_PICKLES = ("model.ckpt", "preprocessor.joblib")
CSV_LOGS = "csv_logs"
CHECKPOINTS = "checkpoints"  # deep models' resume points (seglab.models.checkpoints)
HYDRA_DIRS = (".hydra", ".hydra_resumed")  # Hydra's copy of the config and overrides (.hydra_resumed: resume=)

#: Files keyed by the user's customer ids: kept in the run dir, uploaded to the tracker only
#: with ``privacy.upload_segments=true``.
PER_CUSTOMER_FILES = (SEGMENTS, FORECAST_CUSTOMERS, EMBEDDING)
#: Never uploaded: resume points (large, and only useful on this machine) and the marker.
NOT_UPLOADED = (CHECKPOINTS, MARKER)

STATUSES = ("running", "finished", "failed", "interrupted", "killed")

# --- inside the bundle (``seglab.bundle``; every file is listed with its sha256 in the manifest) ---
BUNDLE_MANIFEST = "manifest.json"  # format and seglab version, sha256 of every other file
BUNDLE_PIPELINE = "pipeline.json"  # feature spec, text featurizer reference, schema and training statistics, config
BUNDLE_PREPROCESSOR = "preprocessor.skops"  # the fitted Preprocessor (skops, explicit trusted types)
BUNDLE_MODEL = "model.json"  # the model's class, parameters and which state files follow
BUNDLE_MODEL_ARRAYS = "model_arrays.npz"  # named numpy arrays (loaded with allow_pickle=False)
BUNDLE_MODEL_SKOPS = "model.skops"  # scikit-learn models (skops, explicit trusted types)
BUNDLE_WEIGHTS = "weights_{name}.pt"  # torch state_dicts (loaded with weights_only=True)

# --- written by the `seglab` commands outside a run dir ---
DRIFT_TABLE = "drift.csv"
DRIFT_SEGMENTS = "drift_segments.csv"
DRIFT_PLOT = "drift.png"
DRIFT_SUMMARY = "drift.json"


def read_marker(run_dir: str | Path) -> dict[str, Any] | None:
    """The run dir's ``run.json`` (None when absent or unreadable)."""
    try:
        return json.loads((Path(run_dir) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def write_marker(run_dir: str | Path, marker: dict[str, Any]) -> None:
    """Write ``run.json`` atomically: a kill mid-write leaves the previous version, never half a file."""
    from seglab.guards import signals_deferred

    path = Path(run_dir) / MARKER
    tmp = path.with_name(f".{MARKER}.{os.getpid()}.tmp")
    with signals_deferred():  # no stray temporary file
        tmp.write_text(json.dumps(marker, indent=2, default=str))
        os.replace(tmp, path)


def process_gone(marker: dict[str, Any]) -> bool:
    """Whether the process that owns a ``running`` marker is gone (only decidable on its host)."""
    from seglab.tracking import process_alive

    if marker.get("host") != socket.gethostname() or not str(marker.get("pid", "")).isdigit():
        return False
    return not process_alive(int(marker["pid"]), marker.get("pid_start"))


def status_of(run_dir: str | Path) -> str | None:
    """The run's status as it really is: a ``running`` marker whose process is gone is ``killed``."""
    marker = read_marker(run_dir)
    if marker is None:
        return None
    status = marker.get("status")
    if status == "running" and process_gone(marker):
        return "killed"
    return status


def _is_hydra_entry(path: Path) -> bool:
    return (path.name in HYDRA_DIRS and path.is_dir()) or (path.is_file() and path.suffix == ".log")


def holds_a_run(run_dir: Path) -> bool:
    """True when the dir holds anything beyond what Hydra writes before a job starts."""
    return run_dir.is_dir() and any(not _is_hydra_entry(p) for p in run_dir.iterdir())


def _process_fields() -> dict[str, Any]:
    from seglab.tracking import process_start

    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "pid_start": process_start(pid)}


def open_run_dir(run_dir: str | Path, resume: bool = False) -> dict[str, Any]:
    """Claim ``run_dir`` for a new run, or for continuing its run when ``resume``; return the marker.

    Raises ``RunDirError`` when the dir holds another run (new) or no resumable run (resume).
    """
    path = Path(run_dir).resolve()
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    if not resume:
        if holds_a_run(path):
            marker = read_marker(path) or {}
            what = f"a {status_of(path)} run started {marker.get('started', '?')}" if marker else "another run's files"
            raise RunDirError(f"run dir {path} already holds {what}; a run dir takes one run. Choose another "
                              f"dir, or continue an interrupted run with resume={path}")
        path.mkdir(parents=True, exist_ok=True)
        marker = {"status": "running", "stage": "start", "started": now, "resumed": 0, **_process_fields()}
        write_marker(path, marker)
        return marker
    marker = read_marker(path)
    if marker is None:
        raise RunDirError(f"resume={path}: no seglab run there (no {MARKER}); start a new run instead")
    status = status_of(path)
    if status == "finished" or (path / METRICS).is_file():
        raise RunDirError(f"resume={path}: that run finished (it has {METRICS}); nothing to resume")
    if status == "running":
        raise RunDirError(f"resume={path}: that run is still running (pid {marker.get('pid')} on "
                          f"{marker.get('host')}); stop it first")
    if not (path / CONFIG).is_file():
        raise RunDirError(f"resume={path}: the run stopped before it saved its config ({CONFIG}); start it anew")
    marker.update(status="running", stage="start", resumed=int(marker.get("resumed", 0)) + 1, resumed_at=now,
                  previous_status=status, reason=None, ended=None, **_process_fields())
    write_marker(path, marker)
    return marker


def update_marker(run_dir: str | Path, **fields: Any) -> None:
    """Change fields of ``run.json`` (a no-op when the dir has none)."""
    marker = read_marker(run_dir)
    if marker is None:
        return
    marker.update(fields)
    if fields.get("status") in ("finished", "failed", "interrupted", "killed"):
        marker["ended"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_marker(run_dir, marker)


def mark_killed(run_dir: str | Path | None, reason: str, host: str | None, pid: str | None) -> None:
    """Record in a dead run's ``run.json`` that it was killed (its process could not), when the
    marker still names that process (a resumed run owns the dir by now)."""
    if not run_dir or not Path(run_dir).is_dir():
        return
    marker = read_marker(run_dir)
    if (marker is not None and marker.get("status") == "running" and marker.get("host") == host
            and str(marker.get("pid")) == str(pid)):
        update_marker(run_dir, status="killed", reason=reason)


def resolve_run_dir(cfg: Any, run_dir: str | Path | None) -> Path:
    """``resume=RUN_DIR``'s dir, else the Hydra output dir when running under Hydra, else an
    explicit or fresh dir."""
    if cfg.get("resume"):
        resume = Path(cfg.resume).resolve()
        if run_dir is not None and Path(run_dir).resolve() != resume:
            raise RunDirError(f"resume={resume} continues the run in that dir; do not also pass run_dir={run_dir}")
        return resume
    if run_dir is None:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            run_dir = HydraConfig.get().runtime.output_dir
        else:
            stamp = time.strftime("%Y-%m-%d/%H-%M-%S")
            run_dir = Path(cfg.log_dir) / "runs" / f"{stamp}_{os.getpid()}"
    path = Path(run_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def register_resolvers() -> None:
    """``${seglab.if_set:x,a,b}`` (a when x is not null, else b): the config sends Hydra's output
    to the resumed run's dir when ``resume`` is set (conf/config.yaml, ``hydra.run``)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("seglab.if_set"):
        OmegaConf.register_new_resolver("seglab.if_set", lambda x, a, b: a if x is not None else b)
