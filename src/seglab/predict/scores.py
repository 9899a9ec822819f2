"""Scores of holdout forecasts with bootstrap-over-customers 95% intervals, overall and per segment.

For each model: AUC of "purchased in the holdout" (its probability of a purchase as the score)
and RMSE of the holdout purchase count (its expected count). Intervals come from resampling the
customers with replacement *within each segment* (so every segment keeps its size and every
per-segment interval is well defined) and recomputing every metric on the same resample for
every model; the difference between a model and its base (e.g. BG/NBD per segment minus pooled
BG/NBD) is computed on each resample too, which gives the paired interval that answers "does
it help?" (two separate intervals that overlap can still hide a consistent difference). The
models are not refitted per resample: the intervals cover which customers were scored, not
the fitting noise (seeds show that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

ALL = "all"


@dataclass
class Forecast:
    """One model's holdout forecast per customer: ``p_purchase`` and ``expected_purchases``;
    ``base`` names the model it is compared with (None for a base)."""

    p_purchase: np.ndarray
    expected_purchases: np.ndarray
    base: str | None = None


def auc_rows(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC of each row of ``scores`` (shape (B, n)) against the 0/1 rows of ``y`` (Mann-Whitney
    with average ranks for ties); NaN for a row with a single class."""
    y = np.asarray(y, dtype=float)
    ranks = rankdata(scores, axis=1)
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=1) - n1 * (n1 + 1) / 2.0) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def rmse_rows(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((np.asarray(predicted, float) - np.asarray(actual, float)) ** 2, axis=1))


def _resamples(segments: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Row 0 is the original order (the point estimate); rows 1.. resample within segments.
    Columns are grouped by segment; returns the index matrix and each segment's column slice."""
    order, slices, start = [], {}, 0
    for s in np.unique(segments):
        members = np.flatnonzero(segments == s)
        order.append(members)
        slices[s] = slice(start, start + len(members))
        start += len(members)
    rows = [np.concatenate(order)]
    for _ in range(n_boot):
        rows.append(np.concatenate([rng.choice(m, size=len(m), replace=True) for m in order]))
    return np.vstack(rows), slices


def _metric_rows(idx, y_bin, y_cnt, fc: Forecast, cols) -> dict[str, np.ndarray]:
    sub = idx[:, cols]
    return {"auc": auc_rows(y_bin[sub], fc.p_purchase[sub]),
            "rmse": rmse_rows(y_cnt[sub], fc.expected_purchases[sub])}


def bootstrap_scores(purchases: np.ndarray, forecasts: dict[str, Forecast], segments: np.ndarray | None = None,
                     *, n_boot: int = 200, random_state: int = 0, chunk: int = 100) -> pd.DataFrame:
    """One row per (model, segment, metric): ``value`` with ``lo``/``hi`` (2.5/97.5 percentiles
    of the resamples), and for a model with a base ``delta`` (model minus base) with
    ``delta_lo``/``delta_hi``. ``segment`` is ``"all"`` for the whole cohort."""
    purchases = np.asarray(purchases, dtype=float)
    y_bin = (purchases > 0).astype(float)
    n = len(purchases)
    segments = np.zeros(n, dtype=int) if segments is None else np.asarray(segments)
    rng = np.random.default_rng(random_state)
    idx, slices = _resamples(segments, n_boot, rng)
    groups = {ALL: slice(None), **slices}
    values: dict[tuple, list[np.ndarray]] = {}
    for lo in range(0, idx.shape[0], chunk):  # bounded memory on large cohorts
        block = idx[lo:lo + chunk]
        for name, fc in forecasts.items():
            for seg, cols in groups.items():
                for metric, v in _metric_rows(block, y_bin, purchases, fc, cols).items():
                    values.setdefault((name, seg, metric), []).append(v)
    values = {k: np.concatenate(v) for k, v in values.items()}
    rows = []
    for (name, seg, metric), v in values.items():
        row = {"model": name, "segment": str(seg), "metric": metric, "value": v[0], **_interval(v[1:], "")}
        base = forecasts[name].base
        if base is not None:
            d = v - values[(base, seg, metric)]
            row.update(delta=d[0], **_interval(d[1:], "delta_"))
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("delta", "delta_lo", "delta_hi"):
        if col not in out:
            out[col] = np.nan
    out["n_customers"] = [n if s == ALL else int(np.sum(segments.astype(str) == s)) for s in out["segment"]]
    return out


def _interval(v: np.ndarray, prefix: str) -> dict[str, float]:
    v = v[np.isfinite(v)]
    if not len(v):
        return {f"{prefix}lo": np.nan, f"{prefix}hi": np.nan}
    lo, hi = np.percentile(v, [2.5, 97.5])
    return {f"{prefix}lo": float(lo), f"{prefix}hi": float(hi)}
