"""Real Hydra multiruns: parallel joblib jobs share one MLflow store; a failing job does not
stop the others; launcher configs (local joblib, SLURM submitit) compose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parents[1]


def _transaction_logs(folder: Path) -> tuple[Path, Path]:
    """A valid log of 200 customers, and the same log with one return line (a runtime error under
    the default ``returns=error`` policy: its config is valid, so the tracker run is already open)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1200
    log = pd.DataFrame({"customer_id": [f"c{i % 200}" for i in range(n)],
                        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
                        "amount": rng.gamma(2.0, 20.0, n).round(2) + 1})
    good, bad = folder / "good.csv", folder / "bad.csv"
    log.to_csv(good, index=False)
    log.assign(amount=lambda d: d.amount.where(d.index != 7, -5.0)).to_csv(bad, index=False)
    return good, bad


def test_parallel_sweep_tracks_every_job_and_survives_a_failure(tmp_path):
    # The bad log's job must fail alone and be recorded as failed. (An invalid config, such as
    # model.n_init=0, is refused before any run dir or tracker run: tests/test_config_check.py.)
    good, bad = _transaction_logs(tmp_path)
    cmd = [sys.executable, "train.py", "-m", "hydra/launcher=local", "num_threads=1", "model=kmeans",
           "data=transactions", f"data.path={good},{bad}", "seed=0,1", f"log_dir={tmp_path}",
           "logger.experiment_name=sweep-test"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweep-test")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    sweep_ids = {r.data.tags.get("seglab.sweep_id") for r in runs}
    assert len(sweep_ids) == 1 and None not in sweep_ids
    status = {Path(r.data.params["data.path"]).stem + "/" + r.data.params["seed"]: r.info.status for r in runs}
    assert status == {"good/0": "FINISHED", "good/1": "FINISHED", "bad/0": "FAILED", "bad/1": "FAILED"}
    assert all("seglab.overrides" in r.data.tags for r in runs)
    failed_dirs = list(Path(tmp_path).glob("multiruns/*/*/*/FAILED"))
    assert len(failed_dirs) == 2
    assert len(list(Path(tmp_path).glob("multiruns/*/*/*/metrics.json"))) == 2


@pytest.mark.parametrize("launcher", ["local", "slurm"])
def test_launcher_configs_compose(launcher, tmp_path):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}", f"log_dir={tmp_path}"],
                      return_hydra_config=True)
    target = cfg.hydra.launcher._target_
    assert ("Joblib" in target) if launcher == "local" else ("Slurm" in target)
