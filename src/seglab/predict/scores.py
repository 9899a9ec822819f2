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

ALL = "all"


@dataclass
class Forecast:
    """One model's holdout forecast per customer: ``p_purchase`` and ``expected_purchases``;
    ``base`` names the model it is compared with (None for a base)."""

    p_purchase: np.ndarray
    expected_purchases: np.ndarray
    base: str | None = None


def weighted_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC of ``scores`` against 0/1 ``y`` for each row of ``weights`` (shape (B, n): how many
    times a bootstrap resample drew each customer), ties counted one half. Equals the AUC of the
    resampled customers, from one sort instead of one per resample."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(scores, kind="stable")
    s = np.asarray(scores)[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # groups of tied scores
    w = np.asarray(weights, dtype=float)[:, order]
    pos = np.add.reduceat(w * y[order], starts, axis=1)
    neg = np.add.reduceat(w * (1.0 - y[order]), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    n1, n0 = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def weighted_rmse(actual: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    sq = (np.asarray(predicted, float) - np.asarray(actual, float)) ** 2
    return np.sqrt(weights @ sq / weights.sum(axis=1))


def _resample_weights(members: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Row 0: every customer once (the point estimate); rows 1..: multinomial counts of a
    resample with replacement within each segment (columns: the members, segment after segment)."""
    blocks = []
    for m in members:
        k = len(m)
        blocks.append(np.vstack([np.ones((1, k)), rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)]))
    return np.hstack(blocks)


def bootstrap_scores(purchases: np.ndarray, forecasts: dict[str, Forecast], segments: np.ndarray | None = None,
                     *, n_boot: int = 200, random_state: int = 0, chunk: int = 100) -> pd.DataFrame:
    """One row per (model, segment, metric): ``value`` with ``lo``/``hi`` (2.5/97.5 percentiles
    of the resamples), and for a model with a base ``delta`` (model minus base) with
    ``delta_lo``/``delta_hi``. ``segment`` is ``"all"`` for the whole cohort."""
    purchases = np.asarray(purchases, dtype=float)
    n = len(purchases)
    segments = np.zeros(n, dtype=int) if segments is None else np.asarray(segments)
    rng = np.random.default_rng(random_state)
    labels = np.unique(segments)
    members = [np.flatnonzero(segments == s) for s in labels]
    order = np.concatenate(members)
    bounds = np.cumsum([0] + [len(m) for m in members])
    groups = {ALL: slice(None), **{s: slice(bounds[i], bounds[i + 1]) for i, s in enumerate(labels)}}
    y_cnt = purchases[order]
    y_bin = (y_cnt > 0).astype(float)
    weights = _resample_weights(members, n_boot, rng)
    values: dict[tuple, list[np.ndarray]] = {}
    for lo in range(0, weights.shape[0], chunk):  # bounded memory on large cohorts
        w = weights[lo:lo + chunk]
        for name, fc in forecasts.items():
            p, e = fc.p_purchase[order], fc.expected_purchases[order]
            for seg, cols in groups.items():
                for metric, v in (("auc", weighted_auc(y_bin[cols], p[cols], w[:, cols])),
                                  ("rmse", weighted_rmse(y_cnt[cols], e[cols], w[:, cols]))):
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
