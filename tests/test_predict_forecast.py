"""Forecasts in a run: per-segment BG/NBD, the run's files and metrics, the CDNOW sample source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from seglab.errors import ConfigError
from seglab.predict.btyd import BetaGeoModel
from seglab.predict.forecast import per_segment_bgnbd
from seglab.train import run

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_segment_bgnbd_helps_when_segments_differ_in_their_parameters():
    """Two populations with different BG/NBD parameters: one model per true segment fits
    better than one pooled model, and forecasts the holdout better."""
    T, t = 30.0, 30.0
    cal, holdout, seg = _simulate_split(T, t)
    x, t_x = cal[:, 0], cal[:, 1]
    Tv = np.full(len(x), T)
    summary = pd.DataFrame({"x": x, "t_x": t_x, "T": Tv})
    pooled = BetaGeoModel().fit(x, t_x, Tv)
    fc, params = per_segment_bgnbd(summary, seg, pooled, holdout_days=t * 7, min_segment_size=30)
    assert params["bgnbd_loglik"].sum() > pooled.log_likelihood_ + 50
    rmse = lambda e: np.sqrt(np.mean((e - holdout) ** 2))  # noqa: E731
    assert rmse(fc.expected_purchases) < rmse(pooled.expected_purchases(t, x, t_x, Tv))
    # a segment below min_segment_size falls back to the pooled fit
    _, small = per_segment_bgnbd(summary, np.where(np.arange(len(x)) < 10, 2, seg), pooled, t * 7, 30)
    assert small.loc["2", "bgnbd_fit"] == "pooled"


def _simulate_split(T: float, t: float):
    """Event times from two BG/NBD populations over T + t, summarised at T; holdout counts."""
    rng = np.random.default_rng(7)
    rows, hold, seg = [], [], []
    for s, (r, alpha, a, b) in enumerate([(2.0, 4.0, 0.5, 10.0), (0.3, 10.0, 2.0, 2.0)]):
        for _ in range(1500):
            lam, p = rng.gamma(r, 1 / alpha), rng.beta(a, b)
            times, now = [], 0.0
            while True:
                now += rng.exponential(1 / lam)
                if now > T + t:
                    break
                times.append(now)
                if rng.random() < p:
                    break
            times = np.array(times)
            before = times[times <= T]
            rows.append((len(before), before.max() if len(before) else 0.0))
            hold.append(float(((times > T) & (times <= T + t)).sum()))
            seg.append(s)
    return np.array(rows), np.array(hold), np.array(seg)


def compose_cfg(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"log_dir={tmp_path}", "data.n_customers=400", "model=kmeans",
                                            "text=none", "logger=none", "explain.enabled=false",
                                            "predict=on", "predict.n_bootstrap=30", *overrides])


def test_run_with_predict_on_fits_on_the_calibration_period_and_writes_forecasts(tmp_path):
    cfg = compose_cfg(tmp_path, "predict.holdout_days=90", "predict.inputs=[rfm,rfm_seg,features]")
    assert cfg.data.holdout_days == 90  # the synthetic source generates the holdout after end_date
    result = run(cfg, run_dir=tmp_path / "run")
    d = result.run_dir
    for name in ("forecast_customers.parquet", "forecast_segments.csv", "forecast_scores.csv",
                 "forecast_calibration.png", "forecast_gains.png", "forecast.json"):
        assert (d / name).is_file(), name
    summary = json.loads((d / "metrics.json").read_text())
    assert summary["predict"]["calibration_end"] == "2024-12-31"
    assert summary["predict"]["segments_fitted_on"].startswith("calibration period only")
    assert "calibration period only" in result.extra["predict"]
    m = summary["metrics"]
    for key in ("predict/bgnbd_auc", "predict/bgnbd_auc_lo", "predict/gbm_rfm_seg_auc_delta",
                "predict/bgnbd_seg_rmse_delta_hi", "predict/gbm_features_rmse", "predict/clv"):
        assert key in m, key
    assert 0.5 < m["predict/bgnbd_auc"] <= 1.0
    # features were built as of the cut: nobody's recency reaches into the holdout
    customers = pd.read_parquet(d / "forecast_customers.parquet")
    segments = pd.read_parquet(d / "segments.parquet")
    assert len(customers) == len(segments) == m["data/n_customers"]
    table = pd.read_csv(d / "forecast_segments.csv", index_col="segment")
    assert table.loc["all", "actual_purchases"] == customers["actual_purchases"].sum()
    assert table.drop(index="all")["n_customers"].sum() == len(customers)
    assert table.loc["all", "expected_purchases"] == pytest.approx(customers["expected_purchases"].sum())
    scores = pd.read_csv(d / "forecast_scores.csv")
    assert set(scores["model"]) == {"bgnbd", "bgnbd_seg", "gbm_rfm", "gbm_rfm_seg", "gbm_features"}


def test_run_with_a_holdout_past_the_data_is_a_config_error(tmp_path):
    cfg = compose_cfg(tmp_path, "predict.calibration_end=2024-12-01", "predict.holdout_days=90",
                      "data.holdout_days=30")
    with pytest.raises(ConfigError, match="runs past the data's last day"):
        run(cfg, run_dir=tmp_path / "bad")


@pytest.mark.shared_data
def test_cdnow_sample_source_rebuilds_the_published_sample(shared_data_dir):
    from seglab.predict.cdnow_sample import CDNOWSampleSource

    data = CDNOWSampleSource(path=str(shared_data_dir / "cdnow" / "CDNOW_master.txt")).load()
    assert data.n_customers == 2357 and len(data.transactions) == 6919


def test_report_section_summarises_forecast_metrics_over_runs():
    from seglab.report import document as doc
    from seglab.report.forecast import forecast_blocks
    from seglab.report.table import Method

    runs = pd.DataFrame({"metric.predict/bgnbd_auc": [0.70, 0.80], "metric.predict/gbm_rfm_seg_auc_delta": [0.01, 0.03]})
    plain = pd.DataFrame({"metric.eval/ari": [0.9]})
    methods = [Method("synthetic", "DEC", "seglab.models.dec.DEC", True, {}, runs),
               Method("synthetic", "k-means", "seglab.models.kmeans.KMeans", False, {}, plain)]
    blocks = forecast_blocks(methods)
    table = next(b for b in blocks if isinstance(b, doc.Table))
    assert table.rows == [["DEC", "2", "0.750 ± 0.071", "0.020 ± 0.014"]]
    assert table.header == ["Method", "n", "BG/NBD AUC ↑", "Δ AUC +segment"]
    assert forecast_blocks(methods[1:]) == []
