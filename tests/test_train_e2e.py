"""End-to-end: `seglab.train.run` on tiny synthetic data for each spine model, and the CLI.

One MLflow store is shared by the whole module (schema creation costs seconds per database).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient

from seglab import load_run
from seglab.train import run

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
TINY = ["data.n_customers=300", "logger.experiment_name=e2e"]
FAST_DEEP = ["model.max_epochs=5", "model.cluster_max_epochs=3", "model.n_init=2"]


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs")


def compose_cfg(log_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"log_dir={log_dir}", *TINY, *overrides])


@pytest.mark.parametrize("model,extra", [("kmeans", []), ("ae_kmeans", ["model.max_epochs=5", "model.n_init=2"]),
                                         ("dec", FAST_DEEP)])
def test_run_writes_every_artifact_and_tracks_it(log_dir, tmp_path, model, extra):
    cfg = compose_cfg(log_dir, f"model={model}", *extra)
    result = run(cfg, run_dir=tmp_path / model)

    for name in ("metrics.json", "segments.parquet", "profiles.csv", "config.yaml", "embedding.parquet",
                 "bundle/manifest.json", "preprocess_report.json"):
        assert (result.run_dir / name).is_file(), name
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["n_customers"] == 300 and summary["n_clusters"] == cfg.n_clusters == 5
    for key, value in result.metrics.items():  # the file holds the run's numbers, NaN as null
        assert summary["metrics"][key] == (None if value != value else pytest.approx(value)), key
    assert ("eval/latent_silhouette" in summary["metrics"]) == (model != "kmeans")
    assert -1.0 <= summary["metrics"]["eval/silhouette"] <= 1.0

    segments = pd.read_parquet(result.run_dir / "segments.parquet")
    assert len(segments) == 300 and segments["customer_id"].is_unique
    np.testing.assert_array_equal(segments["segment"].to_numpy(), result.labels)
    assert segments["segment"].between(0, cfg.n_clusters - 1).all()
    probs = segments.filter(like="prob_")
    assert probs.shape[1] == cfg.n_clusters
    assert (probs.sum(axis=1) - 1).abs().max() < 1e-4
    agree = (probs.to_numpy().argmax(axis=1) == result.labels).mean()
    assert agree == 1.0 if model != "ae_kmeans" else agree >= 0.99  # AE+k-means: float32 vs float64 ties
    # the ground truth's metrics, recomputed from the written segments
    from sklearn.metrics import adjusted_rand_score

    truth = instantiate(cfg.data, _convert_="all").load().truth
    assert summary["metrics"]["eval/ari"] == pytest.approx(adjusted_rand_score(truth, segments["segment"]))

    profiles = pd.read_csv(result.run_dir / "profiles.csv")
    assert profiles["size"].iloc[: cfg.n_clusters].sum() == 300
    assert profiles["size"].iloc[: cfg.n_clusters].tolist() == np.bincount(result.labels, minlength=5).tolist()

    client = MlflowClient(tracking_uri=result.tracking_uri)
    tracked = client.get_run(result.mlflow_run_id)
    assert tracked.info.status == "FINISHED"
    assert tracked.data.params["model._target_"] == cfg.model._target_
    assert tracked.data.metrics["eval/ari"] == pytest.approx(summary["metrics"]["eval/ari"])
    artifacts = {a.path for a in client.list_artifacts(result.mlflow_run_id)}
    assert "metrics.json" in artifacts and "segments.parquet" not in artifacts  # customer ids stay local
    assert (result.run_dir / "csv_logs").exists() == (model != "kmeans")


def test_same_seed_same_labels_on_cpu(log_dir, tmp_path):
    cfg = compose_cfg(log_dir, "model=dec", "logger.mlflow=false", *FAST_DEEP)
    first = run(cfg, run_dir=tmp_path / "a").labels
    second = run(cfg, run_dir=tmp_path / "b").labels
    assert (first == second).all()


def test_cli_prints_summary_and_bad_input_exits_nonzero(tmp_path):
    ok = subprocess.run(
        [sys.executable, "train.py", "model=kmeans", f"log_dir={tmp_path}", *TINY],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "seglab | data=synthetic customers=300" in ok.stdout
    assert "mlflow ui --backend-store-uri sqlite:///" in ok.stdout
    assert list(tmp_path.glob("runs/*/*/metrics.json"))

    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("cid,when,amount\n1,2024-01-01,10\n2,not-a-date,5\n")
    bad = subprocess.run(
        [sys.executable, "train.py", "model=kmeans", "data=transactions", f"data.path={bad_file}",
         "data.customer_id=cid", "data.timestamp=when", "data.amount=amount", f"log_dir={tmp_path / 'bad'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "seglab error" in bad.stderr and "bad.csv" in bad.stderr and "when" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not list((tmp_path / "bad").glob("runs/*/*/metrics.json"))


def test_auto_k_stability_profiles_and_explanations_land_in_run_dir(log_dir, tmp_path):
    cfg = compose_cfg(log_dir, "model=kmeans", "model.n_clusters=auto", "choose_k.k_max=6",
                      "stability.seeds=[1,2]", "stability.period_days=120", "logger.mlflow=false")
    result = run(cfg, run_dir=tmp_path)
    chosen = json.loads((result.run_dir / "k_selection.json").read_text())
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["n_clusters"] == chosen["k"] == len(set(result.labels))
    for name in ("k_selection.png", "profiles.png", "segment_names.json", "surrogate_rules.csv",
                 "feature_importance.csv", "stability.json", "transitions.csv"):
        assert (result.run_dir / name).is_file(), name
    assert 0.0 <= summary["metrics"]["explain/surrogate_fidelity"] <= 1.0
    assert summary["metrics"]["choose_k/k"] == chosen["k"]
    stability = json.loads((result.run_dir / "stability.json").read_text())
    assert stability["metrics"]["stability/seed_ari_mean"] == pytest.approx(summary["metrics"]["stability/seed_ari_mean"])


def test_text_features_join_keeps_attributes_profile_only(log_dir, tmp_path):
    cfg = compose_cfg(log_dir, "model=kmeans", "text=minilm", "logger.mlflow=false")
    result = run(cfg, run_dir=tmp_path / "run")
    report = json.loads((result.run_dir / "preprocess_report.json").read_text())
    assert report["profile_only"], "customer attributes must stay profile-only when the data has transactions"
    names = load_run(result.run_dir).preprocessor_.feature_names_out_
    assert any(n.startswith("text_") for n in names)
    assert not any(n in report["profile_only"] for n in names)


def test_multimodal_model_runs_with_text_features(log_dir, tmp_path):
    cfg = compose_cfg(log_dir, "model=multimodal", "text=minilm", "logger.mlflow=false", *FAST_DEEP)
    result = run(cfg, run_dir=tmp_path / "run")
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["model"].endswith("MultimodalDEC")
    assert "eval/latent_silhouette" in summary["metrics"]
    assert len(set(result.labels)) > 1
