"""Segment profiles: what each segment looks like in the units a marketer reads.

``segment_profiles`` takes the *un-preprocessed* feature frame (``build_features``' output:
euros, days, counts) and the labels, and returns one row per segment plus a population row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from seglab.evaluate.metrics import NOISE, _as_labels

#: Segment id of the population row in a profiles frame.
POPULATION = "all"
#: Segment id of the noise row (label -1) in a profiles frame.
NOISE_SEGMENT = "noise"


def segment_name(label: int) -> str:
    """The string a profiles frame uses for a label: ``"0"``, ``"1"``, ..., ``"noise"``."""
    return NOISE_SEGMENT if int(label) == NOISE else str(int(label))


def numeric_feature_columns(features: pd.DataFrame) -> list[str]:
    """Columns a profile averages: numeric and boolean ones, never the customer id."""
    cols = features.select_dtypes(include=["number", "bool"]).columns
    return [c for c in cols if c != "customer_id"]


def segment_profiles(
    features: pd.DataFrame,
    labels: Sequence[int] | np.ndarray,
    *,
    proba: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per segment: size, share and the mean of every numeric feature in original units.

    Args:
        features: one row per customer, aligned by position with ``labels``; un-preprocessed
            (original units). Non-numeric columns and ``customer_id`` are skipped.
        labels: segment per customer; ``-1`` (noise) gets its own row ``"noise"``.
        proba: optional (n, k) soft assignments; adds ``soft_size`` (sum of the segment's
            probability column: the expected size) and ``mean_confidence`` (mean of the
            members' highest probability).

    Returns:
        A frame with columns ``segment`` (str: ``"0"``, ``"1"``, ..., ``"noise"``, and
        ``"all"`` for the population row, which comes last), ``size``, ``share`` (of all
        customers), then optional ``soft_size``/``mean_confidence``, then one column per
        feature holding the segment mean (NaNs ignored). Segments are sorted by label, noise
        first.
    """
    labels = _as_labels(labels)
    if len(features) != labels.shape[0]:
        raise ValueError(f"features has {len(features)} rows but labels has {labels.shape[0]}")
    n = labels.shape[0]
    cols = numeric_feature_columns(features)
    values = features[cols].astype(float).reset_index(drop=True)
    if proba is not None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape[0] != n:
            raise ValueError(f"proba has {proba.shape[0]} rows but labels has {n}")

    rows = []
    groups = [(int(c), labels == c) for c in np.unique(labels)]
    groups.append((None, np.ones(n, dtype=bool)))
    for label, mask in groups:
        row: dict[str, object] = {
            "segment": POPULATION if label is None else segment_name(label),
            "size": int(mask.sum()),
            "share": float(mask.mean()) if n else float("nan"),
        }
        if proba is not None:
            if label is None:
                row["soft_size"] = float(proba.sum()) if proba.size else 0.0
            elif 0 <= label < proba.shape[1]:
                row["soft_size"] = float(proba[:, label].sum())
            else:
                row["soft_size"] = float("nan")
            row["mean_confidence"] = (
                float(proba[mask].max(axis=1).mean()) if mask.any() and proba.size else float("nan")
            )
        means = values[mask].mean(axis=0) if mask.any() else pd.Series(np.nan, index=cols)
        row.update({c: float(means[c]) for c in cols})
        rows.append(row)
    return pd.DataFrame(rows)
