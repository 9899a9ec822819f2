"""Read runs from the MLflow tracking store into one flat table, and find each run's files.

``load_runs`` returns a ``pandas.DataFrame`` with one row per MLflow run and columns

- ``run_id``, ``experiment``, ``status`` (``FINISHED``, ``FAILED``, ...), ``start_time`` (ms),
- ``param.<key>`` for every logged param (the flattened resolved config: ``param.seed``,
  ``param.model._target_``, ``param.model.latent_dim`` ...; strings, as MLflow stores them),
- ``metric.<key>`` for every logged metric (its latest value: ``metric.eval/silhouette`` ...),
- ``tag.<key>`` for every tag (``tag.seglab.run_dir``, ``tag.seglab.sweep_id`` ...),

plus ``dataset`` and ``model`` (the model's ``_target_``) taken from the tags or the params.
``load_run_dirs`` builds the same table from a folder of run dirs (a ``logger=none`` sweep),
reading each run's ``run.json``, ``config.yaml`` (else Hydra's ``.hydra/config.yaml``) and
``metrics.json``. Nothing is averaged or dropped here; ``seglab.report.table`` does the statistics.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

PARAM, METRIC, TAG = "param.", "metric.", "tag."
#: Statuses of runs that ended without a result (crashed, diverged, collapsed, interrupted, found
#: dead): each counts as a failure of its method. RUNNING runs may still finish and do not.
FAILED_STATUSES = ("FAILED", "KILLED")


def _search_all(client: MlflowClient, experiment_ids: list[str]) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _sweep_matches(value: object, wanted: Iterable[str]) -> bool:
    """A run's sweep id (an absolute sweep dir) matches a wanted id given exactly, as a path
    that resolves to it, or as its trailing part (``2025-01-01/12-00-00``)."""
    if not isinstance(value, str) or not value:
        return False
    for w in wanted:
        w = str(w).rstrip("/")
        if value == w or value.endswith("/" + w.lstrip("/")):
            return True
        try:
            if Path(w).exists() and str(Path(w).resolve()) == value:
                return True
        except OSError:
            pass
    return False


def load_runs(
    tracking_uri: str,
    experiments: Iterable[str] | None = None,
    sweep_ids: Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """All runs of the named experiments (default: every active experiment) matching the filters.

    ``sweep_ids``: keep runs whose ``seglab.sweep_id`` tag matches any of them (see
    ``_sweep_matches``). ``tags``: keep runs having every ``key=value`` tag exactly.
    Failed and unfinished runs are kept (the report lists them); filter on ``status`` to drop them.
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    if experiments:
        found = []
        for name in experiments:
            exp = client.get_experiment_by_name(name)
            if exp is None:
                known = sorted(e.name for e in client.search_experiments())
                raise ValueError(f"no experiment named {name!r} in {tracking_uri}; known: {known}")
            found.append(exp)
    else:
        found = list(client.search_experiments())
    names = {e.experiment_id: e.name for e in found}
    rows = []
    for run in _search_all(client, list(names)) if names else []:
        row: dict[str, object] = {
            "run_id": run.info.run_id,
            "experiment": names.get(run.info.experiment_id, run.info.experiment_id),
            "status": run.info.status,
            "start_time": run.info.start_time,
        }
        row.update({PARAM + k: v for k, v in run.data.params.items()})
        row.update({METRIC + k: float(v) for k, v in run.data.metrics.items()})
        row.update({TAG + k: v for k, v in run.data.tags.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["run_id", "experiment", "status", "start_time", "dataset", "model"])
    if sweep_ids:
        wanted = list(sweep_ids)
        col = frame.get(TAG + "seglab.sweep_id", pd.Series(None, index=frame.index))
        frame = frame[col.map(lambda v: _sweep_matches(v, wanted))]
    for key, value in (tags or {}).items():
        col = frame.get(TAG + key, pd.Series(None, index=frame.index))
        frame = frame[col == value]
    frame = frame.copy()
    frame["tracking_uri"] = tracking_uri
    frame["dataset"] = _first_present(frame, [TAG + "seglab.dataset", PARAM + "data.name"], default="?")
    frame["model"] = _first_present(frame, [TAG + "seglab.model", PARAM + "model._target_"], default="?")
    return frame.sort_values(["dataset", "model", "start_time"]).reset_index(drop=True)


#: run.json status -> the tracker's status names the report uses.
RUN_DIR_STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED", "killed": "KILLED",
                  "running": "RUNNING"}


def _run_dir_config(run_dir: Path) -> dict:
    """The run's resolved config: ``config.yaml`` (written when it succeeded), else Hydra's copy
    (resolved where it can be; a failed run never wrote its own)."""
    from omegaconf import OmegaConf

    for name in ("config.yaml", ".hydra/config.yaml"):
        path = run_dir / name
        if path.is_file():
            cfg = OmegaConf.load(path)
            try:
                return OmegaConf.to_container(cfg, resolve=True)
            except Exception:  # ${now:...}, ${hydra:...}: only Hydra can resolve those
                return OmegaConf.to_container(cfg, resolve=False)
    return {}


def load_run_dirs(roots: Iterable[str | Path]) -> pd.DataFrame:
    """The runs under ``roots`` (each a run dir or a folder holding run dirs at any depth, found by
    their ``run.json``) as ``load_runs``' table; ``experiment`` is the root's name."""
    import json

    from seglab.rundir import MARKER, status_of
    from seglab.tracking import flatten

    rows = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise ValueError(f"no run dirs at {root}: the folder does not exist")
        for marker in sorted(root.rglob(MARKER)):
            run_dir = marker.parent
            info = json.loads(marker.read_text())
            cfg = _run_dir_config(run_dir)
            metrics_path = run_dir / "metrics.json"
            metrics = json.loads(metrics_path.read_text()).get("metrics", {}) if metrics_path.is_file() else {}
            row: dict[str, object] = {
                "run_id": (info.get("tracker") or {}).get("run_id") or run_dir.name,
                "experiment": root.name,
                "status": RUN_DIR_STATUS.get(str(status_of(run_dir)), "RUNNING"),
                "start_time": pd.Timestamp(info["started"]).value // 10**6 if info.get("started") else 0,
            }
            row.update({PARAM + k: v for k, v in flatten(cfg).items()})
            row.update({METRIC + k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})
            row[TAG + "seglab.run_dir"] = str(run_dir.resolve())
            data, model = cfg.get("data") or {}, cfg.get("model") or {}
            if data.get("name"):
                row[TAG + "seglab.dataset"] = str(data["name"])
            if model.get("_target_"):
                row[TAG + "seglab.model"] = str(model["_target_"])
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["run_id", "experiment", "status", "start_time", "dataset", "model"])
    frame["dataset"] = _first_present(frame, [TAG + "seglab.dataset", PARAM + "data.name"], default="?")
    frame["model"] = _first_present(frame, [TAG + "seglab.model", PARAM + "model._target_"], default="?")
    return frame.sort_values(["dataset", "model", "start_time"]).reset_index(drop=True)


def _first_present(frame: pd.DataFrame, columns: list[str], default: str) -> pd.Series:
    out = pd.Series(default, index=frame.index, dtype=object)
    for col in reversed(columns):
        if col in frame:
            out = frame[col].where(frame[col].notna(), out)
    return out


class RunFiles:
    """A run's files: from its run dir (tag ``seglab.run_dir``) when that still exists on this
    machine, else downloaded from the run's MLflow artifacts (the run dir is logged there)."""

    def __init__(self, tracking_uri: str | list[str] | None, cache_dir: str | Path | None = None) -> None:
        # None: runs read from run dirs, nothing to download from; several stores: each run's own
        uris = [tracking_uri] if isinstance(tracking_uri, str) else list(tracking_uri or [])
        self.clients = {uri: MlflowClient(tracking_uri=uri) for uri in uris}
        self.client = next(iter(self.clients.values()), None)
        # a TemporaryDirectory removes itself when this object goes away (downloads are a cache)
        self._tmp = None if cache_dir else tempfile.TemporaryDirectory(prefix="seglab-report-")
        self._cache = Path(cache_dir) if cache_dir else Path(self._tmp.name)

    def path(self, run: Mapping[str, object], name: str) -> Path | None:
        run_dir = run.get(TAG + "seglab.run_dir")
        if isinstance(run_dir, str) and run_dir and Path(run_dir).is_dir():  # the run dir is authoritative
            return Path(run_dir) / name if (Path(run_dir) / name).is_file() else None
        client = self.clients.get(run.get("tracking_uri"), self.client)
        if client is None:
            return None
        dst = self._cache / str(run["run_id"])
        if (dst / name).is_file():
            return dst / name
        try:
            dst.mkdir(parents=True, exist_ok=True)
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            return Path(client.download_artifacts(str(run["run_id"]), name, str(dst)))
        except Exception:  # no such artifact, or an artifact store this machine cannot reach
            return None
