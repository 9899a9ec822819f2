"""The forecast section of a comparison report, for methods whose runs carry ``predict/*`` metrics.

One table per dataset: per method, mean ± std over its runs of the holdout AUC (buys again) and
RMSE (holdout purchases) of BG/NBD, BG/NBD per segment and the gradient-boosting input sets
present, and the paired "+ segment" differences; per-run bootstrap intervals stay in each run's
``forecast_scores.csv``. Read from the tracker's metrics only (no run is re-computed).
"""

from __future__ import annotations

import numpy as np

from seglab.report import document as doc
from seglab.report.runs import METRIC

#: (metric key after ``predict/``, column label)
COLUMNS = (
    ("bgnbd_auc", "BG/NBD AUC ↑"), ("bgnbd_seg_auc_delta", "Δ AUC per-segment BG/NBD"),
    ("gbm_rfm_auc", "GBM(RFM) AUC ↑"), ("gbm_rfm_seg_auc_delta", "Δ AUC +segment"),
    ("bgnbd_rmse", "BG/NBD RMSE ↓"), ("bgnbd_seg_rmse_delta", "Δ RMSE per-segment BG/NBD"),
    ("gbm_rfm_rmse", "GBM(RFM) RMSE ↓"), ("gbm_rfm_seg_rmse_delta", "Δ RMSE +segment"),
)


def _cell(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    if not len(values):
        return "–"
    return f"{values.mean():.3f}" if len(values) == 1 else f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def forecast_blocks(methods) -> list:
    """Heading, table and note for the methods that ran with ``predict=on`` (empty if none)."""
    with_fc = [m for m in methods if METRIC + "predict/bgnbd_auc" in m.runs
               and m.runs[METRIC + "predict/bgnbd_auc"].notna().any()]
    if not with_fc:
        return []
    cols = [(k, label) for k, label in COLUMNS if any(METRIC + "predict/" + k in m.runs for m in with_fc)]
    rows = []
    for m in with_fc:
        runs = m.runs[m.runs[METRIC + "predict/bgnbd_auc"].notna()]
        row = [m.label, str(len(runs))]
        for key, _ in cols:
            col = METRIC + "predict/" + key
            row.append(_cell(runs[col].to_numpy(dtype=float)) if col in runs else "–")
        rows.append(row)
    return [doc.Heading(3, "Holdout forecasts (predict=on)"),
            doc.Table(["Method", "n"] + [label for _, label in cols], rows),
            doc.Para("Mean ± std over the method's runs with forecasts. AUC: buys again in the holdout; RMSE: "
                     "holdout purchase count. Δ = model with the segment minus the same model without it "
                     "(per-segment BG/NBD vs one BG/NBD; gradient boosting on RFM + one-hot segment vs RFM); "
                     "each run's bootstrap 95% intervals and per-segment scores are in its `forecast_scores.csv`, "
                     "forecasts vs actuals per segment in `forecast_segments.csv`.")]
