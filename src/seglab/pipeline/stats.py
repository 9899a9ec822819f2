"""Training statistics a bundle keeps for drift checks: per feature, not per customer.

For every feature column: the training deciles (bin edges), the share of training customers in
each bin and missing, mean and standard deviation; per segment, its share. `psi` compares a new
population with them (population stability index: sum over bins of (new - train) * ln(new /
train), shares floored at ``1e-4`` so an empty bin does not make it infinite). Rules of thumb:
below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a shift worth acting on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

N_BINS = 10
FLOOR = 1e-4


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``values`` in the bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` then missing."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[finite], side="left"), minlength=len(edges) + 1)
    out = np.append(counts, (~finite).sum()).astype(np.float64)
    return out / max(len(values), 1)


def feature_statistics(features: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per column: ``edges``, ``shares`` (training population), ``mean``, ``std``, ``missing``."""
    stats: dict[str, dict[str, Any]] = {}
    for col in features.columns:
        v = features[col].to_numpy(dtype=np.float64)
        finite = v[np.isfinite(v)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, N_BINS + 1)[1:-1])) if len(finite) else np.array([])
        stats[str(col)] = {"edges": edges.tolist(), "shares": bin_shares(v, edges).tolist(),
                           "mean": float(finite.mean()) if len(finite) else None,
                           "std": float(finite.std()) if len(finite) else None,
                           "missing": float(1 - len(finite) / max(len(v), 1))}
    return stats


def psi(train_shares: np.ndarray, new_shares: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    p = np.maximum(np.asarray(train_shares, dtype=np.float64), FLOOR)
    q = np.maximum(np.asarray(new_shares, dtype=np.float64), FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def segment_shares(labels: np.ndarray, n_segments: int) -> list[float]:
    """Share of customers per segment 0..n-1 (noise, -1, not counted in any)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0], minlength=n_segments)[:n_segments]
    return (counts / max(len(labels), 1)).tolist()
