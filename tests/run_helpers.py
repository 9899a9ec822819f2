"""Finished training runs (``seglab.train.run``) and their customers, for the CLI and serve tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # name -> overrides: tabular k-means, DEC with review text
    "kmeans": ["model=kmeans", "text=none"],
    "dec_text": ["model=dec", "text=minilm", "model.max_epochs=5", "model.cluster_max_epochs=3", "model.n_init=2"],
}


def train_run(name: str, root: Path, tracked: bool = False):
    """``(run_dir, data)``: a finished run and the customers it was trained on (regenerated);
    ``tracked``: ``(run_dir, data, result)`` of a run tracked in an MLflow store under ``root``."""
    from seglab.train import run

    tracking = [f"logger.experiment_name={name}"] if tracked else ["logger.mlflow=false"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={root}", *tracking, "data.n_customers=200",
                                           "explain.enabled=false", "num_threads=1", *RUNS[name]])
    result = run(cfg, run_dir=root / name)
    data = instantiate(cfg.data, _convert_="all").load()
    return (result.run_dir, data, result) if tracked else (result.run_dir, data)


def write_events(data, folder: Path) -> tuple[Path, Path | None]:
    """The run's customers as raw files: transactions.parquet (+ reviews.parquet)."""
    tx = folder / "transactions.parquet"
    data.transactions[["customer_id", "timestamp", "amount", "quantity", "category"]].to_parquet(tx, index=False)
    rv = None
    if data.reviews is not None and len(data.reviews):
        rv = folder / "reviews.parquet"
        data.reviews[["customer_id", "text", "timestamp", "rating"]].to_parquet(rv, index=False)
    return tx, rv


def segments_of(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "segments.parquet").set_index("customer_id")


def seglab(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``seglab ARGS`` in a subprocess (``python -m seglab.cli``: the console script's code)."""
    return subprocess.run([sys.executable, "-m", "seglab.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def instantiate_data(run_dir: Path):
    """The customers a run was trained on, regenerated from its saved config."""
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(Path(run_dir) / "config.yaml").data, _convert_="all").load()
