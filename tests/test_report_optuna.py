"""scripts/optuna_search.py: Optuna driven directly, one tagged MLflow run per trial, failed
trials recorded without stopping the search, and a report of the study by tag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[1]
BASE = ["model=kmeans", "data.n_customers=200", "num_threads=1", "logger.experiment_name=opt"]


def search(log_dir: Path, study: str, trials: int, space: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/optuna_search.py", "--study", study, "--trials", str(trials),
                           "--space", space, "--", *BASE, f"log_dir={log_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_optuna_search_tracks_trials_and_survives_failures(tmp_path):
    ok = search(tmp_path, "good", 2, "model.n_init=int:1:2")
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "study good: 2 trials, 2 complete" in ok.stdout
    assert "reproduce: python train.py model=kmeans" in ok.stdout
    bad = search(tmp_path, "bad", 1, "model.n_init=cat:0")  # k-means refuses n_init=0
    assert bad.returncode == 1 and "study bad: 1 trials, 0 complete" in bad.stdout

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("opt").experiment_id])
    by_study = {}
    for r in runs:
        by_study.setdefault(r.data.tags.get("seglab.optuna_study"), []).append(r.info.status)
    assert by_study == {"good": ["FINISHED", "FINISHED"], "bad": ["FAILED"]}

    out = tmp_path / "report"
    rep = subprocess.run([sys.executable, "scripts/compare.py", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                          "--tag", "seglab.optuna_study=good", "--no-embedding", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr[-3000:]
    md = (out / "report.md").read_text()
    assert "python train.py model=kmeans data.n_customers=200" in md and "model.n_init=" in md
