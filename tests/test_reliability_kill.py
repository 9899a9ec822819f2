"""Interrupting real runs (subprocesses of `python train.py`): the tracker status stays RUNNING
until metrics.json exists, SIGKILL and Ctrl+C leave true statuses, and `resume=RUN_DIR` ends
with exactly the segments (labels and probabilities) of an uninterrupted run with the same seed.

Slow (five runs of a small DEC, about a minute and a half on 2 cores): run with
``pytest -m reliability``; CI runs this group after the default suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from seglab import rundir

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
# Long enough phases to interrupt (no early stopping, no tolerance stop), denoising on so a resume
# that lost the RNG state would not match.
ARGS = ["data.n_customers=1000", "text=none", "explain.enabled=false", "model=dec", "model.max_epochs=40",
        "model.patience=null", "model.cluster_max_epochs=30", "model.tol=0", "model.n_init=2",
        "logger.experiment_name=kill"]


def launch(log_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "SEGLAB_PROGRESS": "off", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "train.py", f"log_dir={log_dir}", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path.name} appeared:\n{proc.stdout.read()}"
        assert time.time() < end, f"{path} did not appear in {timeout} s"
        time.sleep(0.02)


def tracker_run(log_dir: Path, run_dir: Path):
    client = MlflowClient(f"sqlite:///{log_dir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("kill")
    (run,) = client.search_runs([exp.experiment_id], f"tags.`seglab.run_dir` = '{run_dir}'")
    return run


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run, its tracker status polled all along: (log dir, segments, polls)."""
    log_dir = tmp_path_factory.mktemp("logs")
    run_dir = log_dir / "ref"
    proc = launch(log_dir, *ARGS, f"hydra.run.dir={run_dir}")
    polls = []  # (status, metrics.json existed, pretraining was over)
    client = None
    while proc.poll() is None:
        time.sleep(0.05)
        try:
            client = client or MlflowClient(f"sqlite:///{log_dir / 'mlflow.db'}")
            (run,) = client.search_runs([client.get_experiment_by_name("kill").experiment_id])
        except Exception:  # the store or the run does not exist yet
            continue
        pretrained = (run_dir / "checkpoints" / "pretrained.pt").exists()
        polls.append((run.info.status, (run_dir / "metrics.json").exists(), pretrained))
    out = proc.stdout.read()
    assert proc.returncode == 0, out
    return log_dir, pd.read_parquet(run_dir / "segments.parquet"), polls


def test_status_is_running_until_metrics_json_is_written(reference):
    log_dir, _, polls = reference
    assert all(has_metrics for status, has_metrics, _ in polls if status != "RUNNING"), polls
    assert any(status == "RUNNING" and pretrained for status, _, pretrained in polls), \
        "no poll after the pretraining fit ended (where Lightning's logger used to end the run)"
    assert tracker_run(log_dir, log_dir / "ref").info.status == "FINISHED"
    assert not (log_dir / "ref" / "checkpoints").exists()  # resume points go once the run succeeded


def test_sigkill_in_pretraining_then_resume_gives_the_same_segments(reference):
    log_dir, expected, _ = reference
    run_dir = log_dir / "killed"
    proc = launch(log_dir, *ARGS, f"hydra.run.dir={run_dir}")
    wait_for(run_dir / "checkpoints" / "pretrain.ckpt", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["pretrain.ckpt"], ckpts  # killed in pretraining
    assert tracker_run(log_dir, run_dir).info.status == "RUNNING"  # nobody could say otherwise yet
    assert rundir.read_marker(run_dir)["status"] == "running" and rundir.status_of(run_dir) == "killed"
    assert not (run_dir / "metrics.json").exists()

    resumed = subprocess.run([sys.executable, "train.py", f"resume={run_dir}"], cwd=ROOT, capture_output=True,
                             text=True, env={**os.environ, "SEGLAB_PROGRESS": "off"})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "was left RUNNING but its process (pid" in resumed.stdout + resumed.stderr  # marked KILLED first
    run = tracker_run(log_dir, run_dir)
    assert run.info.status == "FINISHED" and run.data.tags["seglab.resumed"] == "1"
    marker = rundir.read_marker(run_dir)
    assert marker["status"] == "finished" and marker["previous_status"] == "killed"
    assert (run_dir / ".hydra_resumed" / "overrides.yaml").is_file()  # the first run's .hydra is kept
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "segments.parquet"), expected)


def test_ctrl_c_in_clustering_phase_exits_130_then_resume_gives_the_same_segments(reference):
    log_dir, expected, _ = reference
    run_dir = log_dir / "ctrl_c"
    proc = launch(log_dir, *ARGS, f"hydra.run.dir={run_dir}")
    wait_for(run_dir / "checkpoints" / "dec.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, out
    assert f"seglab: interrupted (SIGINT); run dir {run_dir} kept" in out
    run = tracker_run(log_dir, run_dir)
    assert run.info.status == "KILLED" and run.data.tags["seglab.end_reason"] == "interrupted (SIGINT) (during fit)"
    assert rundir.read_marker(run_dir)["status"] == "interrupted"
    assert (run_dir / "checkpoints" / "pretrained.pt").is_file() and not (run_dir / "metrics.json").exists()

    resumed = subprocess.run([sys.executable, "train.py", f"resume={run_dir}"], cwd=ROOT, capture_output=True,
                             text=True, env={**os.environ, "SEGLAB_PROGRESS": "off"})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert tracker_run(log_dir, run_dir).info.status == "FINISHED"
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "segments.parquet"), expected)
    # a finished run cannot be resumed, and resume takes no other overrides
    again = subprocess.run([sys.executable, "train.py", f"resume={run_dir}", "seed=3"], cwd=ROOT,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "drop the other overrides: seed=3" in again.stderr
