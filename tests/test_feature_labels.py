"""A table's own business words (``data.feature_labels``) name its segments; the config's
``profiles.feature_labels`` overrides them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir

from seglab.data.table import TableSource
from seglab.train import run

ROOT = Path(__file__).resolve().parents[1]


def _table(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 150
    group = np.repeat([0, 1, 2], n // 3)
    frame = pd.DataFrame({
        "ID": np.arange(n),
        "MntWines": np.array([20.0, 400.0, 60.0])[group] + rng.normal(0, 5, n),
        "NumWebVisitsMonth": np.array([2.0, 3.0, 12.0])[group] + rng.normal(0, 0.5, n),
        "Dt_Customer": pd.Timestamp("2024-01-01") - pd.to_timedelta(np.array([30, 600, 300])[group], unit="D"),
    })
    frame["Dt_Customer"] = frame["Dt_Customer"].dt.strftime("%d-%m-%Y")
    frame.to_csv(path, index=False)
    return path


def test_table_source_labels_its_date_columns_by_their_name(tmp_path):
    data = TableSource(path=str(_table(tmp_path / "t.csv")), id_column="ID", date_columns=["Dt_Customer"],
                       date_format="%d-%m-%Y", feature_labels={"Dt_Customer": "days as a customer"}).load()
    assert data.feature_labels == {"Dt_Customer": "days as a customer", "Dt_Customer_days": "days as a customer"}


def test_segment_names_use_the_data_config_labels_and_the_profiles_override(tmp_path):
    csv = _table(tmp_path / "t.csv")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[
            "data=table", f"data.path={csv}", "data.id_column=ID", "data.date_columns=[Dt_Customer]",
            "data.date_format=%d-%m-%Y", "+data.feature_labels.MntWines=wine spend",
            "+data.feature_labels.NumWebVisitsMonth=web visits",
            "+profiles.feature_labels.NumWebVisitsMonth=monthly site visits", "model=kmeans", "n_clusters=3",
            f"log_dir={tmp_path}", "logger.mlflow=false", "explain.enabled=false", "figures.enabled=false"])
    result = run(cfg, run_dir=tmp_path / "run")
    names = " | ".join(json.loads((result.run_dir / "segment_names.json").read_text()).values())
    assert "wine spend" in names and "monthly site visits" in names
    assert "MntWines" not in names and "NumWebVisitsMonth" not in names and "web visits" not in names.replace(
        "monthly site visits", "")


def test_reports_name_a_runs_segments_with_the_labels_the_run_used(tmp_path, monkeypatch):
    """The comparison report re-derives names from a saved run in that run's words (its data
    config's labels, overridden by profiles.feature_labels), in the names and the heatmap."""
    from types import SimpleNamespace

    import yaml

    from seglab import plots
    from seglab.report.figures import DatasetFigures

    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        "data": {"feature_labels": {"MntWines": "wine spend", "Income": "income"}},
        "profiles": {"feature_labels": {"Income": "household income"}}}))
    pd.DataFrame({"segment": ["0", "1", "all"], "name": ["old", "old", ""], "size": [5, 5, 10],
                  "share": [0.5, 0.5, 1.0], "MntWines": [10.0, 300.0, 155.0], "Income": [9e4, 2e4, 5.5e4]}
                 ).to_csv(tmp_path / "profiles.csv", index=False)
    pd.DataFrame({"MntWines": [-1.5, 1.5], "Income": [1.2, -1.2]}, index=["0", "1"]).to_csv(
        tmp_path / "profile_deviations.csv")
    files = SimpleNamespace(path=lambda run, name: tmp_path / name if (tmp_path / name).is_file() else None)
    seen = {}

    def heatmap(profiles, title, deviations=None, **kw):
        seen.update(names=list(profiles["name"]), labels=kw.get("labels"))

    monkeypatch.setattr(plots, "profile_heatmap", heatmap)
    figures = DatasetFigures(files, embedding=False)
    assert figures.feature_labels(pd.Series({"run_id": "r"})) == {"MntWines": "wine spend", "Income": "household income"}
    figures.profiles("d", SimpleNamespace(label="k-means"), pd.Series({"run_id": "r"}))
    assert seen["labels"]["Income"] == "household income"
    assert "low wine spend" in seen["names"][0] and "high household income" in seen["names"][0]
