"""Run status that tells the truth, in process: signals, divergence, collapse, the tracker's
status and heartbeat, the run-dir policy, and failed runs counted by the report.

The subprocess tests (kill, Ctrl+C, resume) are in test_reliability_kill.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

from seglab import rundir
from seglab.errors import ClusteringCollapsed, RunDirError, TrainingDiverged
from seglab.guards import Interrupted, check_not_collapsed, interruptible

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[str, Path]:
    """One MLflow store for the module (schema creation costs seconds)."""
    from seglab.tracking import default_tracking_uri, ensure_experiment

    log_dir = tmp_path_factory.mktemp("logs")
    uri = default_tracking_uri(log_dir)
    ensure_experiment(uri, "rel", log_dir / "mlartifacts")
    return uri, log_dir


def compose_cfg(log_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=[f"log_dir={log_dir}", "data.n_customers=200", "text=none",
                                            "logger.experiment_name=rel", "explain.enabled=false", *overrides])


# --- signals, divergence, collapse --------------------------------------------------------------
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_raise_interrupted_and_handlers_are_restored(sig, code):
    before = signal.getsignal(sig)
    with pytest.raises(Interrupted) as info, interruptible():
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler raises at the next bytecode; this line is never finished
    assert info.value.exit_code == code and str(info.value) == f"interrupted ({signal.Signals(sig).name})"
    assert signal.getsignal(sig) is before


def test_a_signal_during_a_tracker_write_waits_for_the_write(store):
    """A SIGTERM that lands inside an SQLite write used to leave the store locked, so the run's
    final status could not be written; the write now completes and Interrupted follows."""
    from seglab.tracking import Tracker

    uri, log_dir = store
    tracker = Tracker(uri, "rel", log_dir / "mlartifacts", heartbeat_s=3600)
    real = tracker.client.log_batch

    def signalled_mid_write(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here, inside the write
        return real(*args, **kwargs)

    tracker.client.log_batch = signalled_mid_write
    with pytest.raises(Interrupted), interruptible():
        tracker.set_tags({"written": "yes"})
    tracker.client.log_batch = real
    tracker.finish("KILLED", "interrupted (SIGTERM)")  # the store is not left locked
    run = tracker.client.get_run(tracker.run_id)
    assert run.data.tags["written"] == "yes" and run.info.status == "KILLED"


def test_interrupted_passes_through_lightning_fit(tmp_path):
    """Lightning turns a KeyboardInterrupt inside fit into sys.exit(1); Interrupted must come out as itself."""
    from seglab.models.ae_kmeans import AEKMeans
    from seglab.models.checkpoints import EpochCheckpoint

    X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    original = EpochCheckpoint.on_train_epoch_end
    before = signal.getsignal(signal.SIGINT)

    def interrupt(self, trainer, pl_module):  # a Ctrl+C that lands mid-fit
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)

    EpochCheckpoint.on_train_epoch_end = interrupt
    try:
        with pytest.raises(Interrupted), interruptible():
            AEKMeans.from_config(n_clusters=2, max_epochs=3, n_init=1).fit(X, checkpoint_dir=tmp_path)
    finally:
        EpochCheckpoint.on_train_epoch_end = original
    assert signal.getsignal(signal.SIGINT) is before  # not left ignored, as Lightning leaves it after Ctrl+C


def test_non_finite_loss_stops_the_fit_with_a_clear_error():
    from seglab.models.ae_kmeans import AEKMeans

    X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32) * 1e30  # squares overflow float32
    with pytest.raises(TrainingDiverged, match=r"pretrain: the training loss became NaN or infinite"):
        AEKMeans.from_config(n_clusters=2, max_epochs=2, n_init=1, patience=None).fit(X)


def test_collapsed_clustering_is_an_error():
    with pytest.raises(ClusteringCollapsed, match=r"DEC put every customer in one segment \(5 in segments, 0 noise\)"):
        check_not_collapsed(np.zeros(5, int), "DEC")
    with pytest.raises(ClusteringCollapsed, match="no segment"):
        check_not_collapsed(np.full(4, -1), "DBSCAN")
    check_not_collapsed(np.array([0, 1, -1]), "DBSCAN")  # two segments and noise: fine


# --- tracker -------------------------------------------------------------------------------------
def test_lightning_fit_does_not_end_the_tracker_run(store):
    """The cause of "FINISHED 10 s in": MLFlowLogger.finalize at the end of each fit. RunLogger keeps
    the run RUNNING; the plain logger (what seglab used before) ends it."""
    from lightning.pytorch.loggers import MLFlowLogger

    from seglab.models.autoencoder import build_mlp_autoencoder, pretrain_autoencoder
    from seglab.tracking import Tracker

    uri, log_dir = store
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    statuses = {}
    for name in ("run_logger", "plain"):
        tracker = Tracker(uri, "rel", log_dir / "mlartifacts", heartbeat_s=3600)
        logger = tracker.lightning_logger() if name == "run_logger" else MLFlowLogger(
            experiment_name="rel", tracking_uri=uri, run_id=tracker.run_id)
        enc, dec = build_mlp_autoencoder(4, [8], 2)
        pretrain_autoencoder(enc, dec, X, max_epochs=2, trainer_kwargs={"logger": [logger]})
        statuses[name] = tracker.client.get_run(tracker.run_id).info.status
        tracker.finish(True)
    assert statuses == {"run_logger": "RUNNING", "plain": "FINISHED"}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_runs_of_dead_processes_are_marked_killed_at_the_next_start(store, tmp_path):
    import socket

    from seglab.tracking import HEARTBEAT_TAG, HOST_TAG, PID_TAG, Tracker

    uri, log_dir = store
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("rel").experiment_id
    now = time.time()
    dead_dir = tmp_path / "dead"
    dead_dir.mkdir()
    dead_pid = _dead_pid()
    rundir.write_marker(dead_dir, {"status": "running", "host": socket.gethostname(), "pid": dead_pid})
    cases = {  # tags -> expected status after the next start
        "dead_here": ({HOST_TAG: socket.gethostname(), PID_TAG: str(dead_pid), HEARTBEAT_TAG: f"{now:.0f}",
                       "seglab.run_dir": str(dead_dir)}, "KILLED"),
        "alive_here": ({HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()), HEARTBEAT_TAG: f"{now:.0f}"},
                       "RUNNING"),
        "silent_elsewhere": ({HOST_TAG: "other-host", PID_TAG: "1", HEARTBEAT_TAG: f"{now - 3600:.0f}"}, "KILLED"),
        "beating_elsewhere": ({HOST_TAG: "other-host", PID_TAG: "1", HEARTBEAT_TAG: f"{now:.0f}"}, "RUNNING"),
    }
    ids = {name: client.create_run(exp, tags=tags).info.run_id for name, (tags, _) in cases.items()}
    tracker = Tracker(uri, "rel", log_dir / "mlartifacts", heartbeat_s=3600)
    got = {name: client.get_run(rid).info.status for name, rid in ids.items()}
    assert got == {name: want for name, (_, want) in cases.items()}
    assert {d.run_id for d in tracker.dead_runs} == {ids["dead_here"], ids["silent_elsewhere"]}
    assert "is gone" in client.get_run(ids["dead_here"]).data.tags["seglab.end_reason"]
    tracker.finish("KILLED", "test")
    for name in ("alive_here", "beating_elsewhere"):
        client.set_terminated(ids[name], "FINISHED")


def test_heartbeat_refreshes_and_stops_at_finish(store):
    from seglab.tracking import HEARTBEAT_TAG, Tracker

    uri, log_dir = store
    tracker = Tracker(uri, "rel", log_dir / "mlartifacts", heartbeat_s=0.2)
    first = float(tracker.client.get_run(tracker.run_id).data.tags[HEARTBEAT_TAG])
    time.sleep(1.5)
    assert float(tracker.client.get_run(tracker.run_id).data.tags[HEARTBEAT_TAG]) > first
    tracker.finish(True)
    assert not tracker._beat.is_alive() or (tracker._beat.join(2) or not tracker._beat.is_alive())


# --- run dirs ------------------------------------------------------------------------------------
def test_run_dir_policy(tmp_path):
    new = tmp_path / "new"
    (new / ".hydra").mkdir(parents=True)
    (new / "train.log").write_text("hydra wrote this before the job\n")
    marker = rundir.open_run_dir(new)  # only Hydra's files: new
    assert marker["status"] == "running" and rundir.read_marker(new)["pid"] == os.getpid()
    with pytest.raises(RunDirError, match="already holds a running run"):
        rundir.open_run_dir(new)
    old = tmp_path / "old"
    old.mkdir()
    (old / "segments.parquet").write_bytes(b"x")  # an earlier seglab's files, no run.json
    with pytest.raises(RunDirError, match="already holds another run's files"):
        rundir.open_run_dir(old)
    # resume: only an unfinished run whose process is gone
    with pytest.raises(RunDirError, match="still running"):
        rundir.open_run_dir(new, resume=True)
    rundir.update_marker(new, pid=_dead_pid())
    assert rundir.status_of(new) == "killed"
    with pytest.raises(RunDirError, match="stopped before it saved its config"):
        rundir.open_run_dir(new, resume=True)
    (new / rundir.CONFIG).write_text("seed: 0\n")
    assert rundir.open_run_dir(new, resume=True)["resumed"] == 1
    (new / rundir.METRICS).write_text("{}")
    with pytest.raises(RunDirError, match="that run finished"):
        rundir.open_run_dir(new, resume=True)
    with pytest.raises(RunDirError, match="no seglab run there"):
        rundir.open_run_dir(old, resume=True)


def test_second_run_into_a_run_dir_is_refused_and_the_first_left_intact(store, tmp_path):
    from seglab.train import run

    uri, log_dir = store
    cfg = compose_cfg(log_dir, "model=kmeans")
    first = run(cfg, run_dir=tmp_path / "run")
    before = {p.name: p.stat().st_mtime_ns for p in first.run_dir.iterdir()}
    with pytest.raises(RunDirError, match="already holds a finished run"):
        run(cfg, run_dir=tmp_path / "run")
    assert {p.name: p.stat().st_mtime_ns for p in first.run_dir.iterdir()} == before
    marker = rundir.read_marker(first.run_dir)
    assert marker["status"] == "finished" and marker["tracker"]["run_id"] == first.mlflow_run_id
    run_info = MlflowClient(uri).get_run(first.mlflow_run_id)
    assert run_info.info.status == "FINISHED" and run_info.data.tags["seglab.stage"] == "save"
    artifacts = {a.path for a in MlflowClient(uri).list_artifacts(first.mlflow_run_id)}
    assert "metrics.json" in artifacts and not {"segments.parquet", "run.json", "checkpoints"} & artifacts


def test_a_failing_run_is_failed_everywhere_and_uploads_nothing(store, tmp_path, monkeypatch):
    from seglab.train import run

    uri, log_dir = store
    from seglab.models.kmeans import KMeansModel

    def collapsed_fit(self, X, y=None):  # every customer in one segment, as a diverged model ends
        self.labels_ = np.zeros(len(X), dtype=int)
        return self

    monkeypatch.setattr(KMeansModel, "fit", collapsed_fit)
    cfg = compose_cfg(log_dir, "model=kmeans")
    with pytest.raises(ClusteringCollapsed):
        run(cfg, run_dir=tmp_path / "run")
    marker = rundir.read_marker(tmp_path / "run")
    assert marker["status"] == "failed" and marker["stage"] == "fit" and "ClusteringCollapsed" in marker["reason"]
    assert not (tmp_path / "run" / "metrics.json").exists()
    tracked = MlflowClient(uri).get_run(marker["tracker"]["run_id"])
    assert tracked.info.status == "FAILED"
    assert tracked.data.tags["seglab.end_reason"].startswith("ClusteringCollapsed: KMeansModel put every customer")
    assert not MlflowClient(uri).list_artifacts(tracked.info.run_id)


def test_report_counts_failed_runs_against_their_method():
    from seglab.report.table import build_methods, format_cell, ranked_metrics

    def runs(status, seeds, lr, ari):
        return pd.DataFrame({"run_id": [f"{status}{lr}{s}" for s in seeds], "status": status, "dataset": "d",
                             "model": "seglab.models.dec.DEC", "param.seed": [str(s) for s in seeds],
                             "param.model.lr": lr, "param.model.trainer_kwargs.devices": "1",
                             "metric.eval/ari": ari})

    finished = runs("FINISHED", [0, 1], "0.001", [0.9, 0.8])
    failed = pd.concat([runs("FAILED", [2], "0.001", [np.nan]), runs("KILLED", [0], "10", [np.nan])])
    specs = [s for s in ranked_metrics() if s.key == "eval/ari"]
    (method,) = build_methods(finished, specs, failed)
    assert method.label == "DEC(lr=0.001)"  # the diverging lr=10 run is another config, not this method
    assert (method.n_runs, method.n_failed) == (3, 1)
    assert format_cell(method.stats["eval/ari"], method.n_runs, 3) == "0.850 ± 0.071 (n=2)"
    (alone,) = build_methods(finished, specs)
    assert alone.n_runs == 2 and format_cell(alone.stats["eval/ari"], alone.n_runs, 3) == "0.850 ± 0.071"


def test_stale_marker_reads_killed(tmp_path):
    rundir.write_marker(tmp_path, {"status": "running", "host": __import__("socket").gethostname(),
                                   "pid": _dead_pid()})
    assert rundir.status_of(tmp_path) == "killed"
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "running"  # reading changes nothing
