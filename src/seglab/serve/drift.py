"""``seglab drift``: how far new customers are from the population a run was fitted on.

Per feature (model inputs), the population stability index of the new customers' values over the
training deciles saved in the bundle (`seglab.pipeline.stats`: training bins and shares, never
training rows), with the training and new means and missing shares; per segment, the training
and new shares and their change, and the PSI over segments. A feature (or the segment mix) whose
PSI exceeds ``threshold`` (default 0.25, the usual "act on it" level; 0.1 to 0.25 is a moderate
shift) is flagged. Writes ``drift.csv``, ``drift_segments.csv``, ``drift.json`` and ``drift.png``
(`seglab.plots.drift`) into the output folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.pipeline.stats import bin_shares, psi, segment_shares
from seglab.rundir import DRIFT_PLOT, DRIFT_SEGMENTS, DRIFT_SUMMARY, DRIFT_TABLE


def feature_drift(statistics: dict[str, dict[str, Any]], features: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per feature: ``psi``, training and new mean and missing share, ``warning``."""
    rows = []
    for col, st in statistics.items():
        values = features[col].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        value = psi(st["shares"], bin_shares(values, np.asarray(st["edges"], dtype=np.float64)))
        rows.append({"feature": col, "psi": value, "train_mean": st["mean"],
                     "new_mean": float(finite.mean()) if len(finite) else np.nan,
                     "train_missing": st["missing"], "new_missing": float(1 - len(finite) / max(len(values), 1)),
                     "warning": bool(value > threshold)})
    return pd.DataFrame(rows).sort_values("psi", ascending=False, ignore_index=True)


def segment_drift(train_shares: list[float], labels: np.ndarray) -> pd.DataFrame:
    new = segment_shares(labels, len(train_shares))
    return pd.DataFrame({"segment": range(len(train_shares)), "train_share": train_shares, "new_share": new,
                         "change": np.asarray(new) - np.asarray(train_shares)})


def drift_of(pipe: Any, features: pd.DataFrame, threshold: float = 0.25) -> dict[str, Any]:
    """Drift tables of new customers' ``features`` (the run's feature columns) against the run."""
    table = feature_drift(pipe.statistics_["features"], features, threshold)
    labels = pipe.assign(features[pipe.feature_columns])["segment"].to_numpy()
    train = list(pipe.statistics_["segment_shares"])
    segments = segment_drift(train, labels)
    seg_psi = psi(train, segments["new_share"].to_numpy())
    flagged = table.loc[table["warning"], "feature"].tolist()
    summary = {"n_customers": int(len(features)), "threshold": threshold, "segment_psi": seg_psi,
               "segment_warning": bool(seg_psi > threshold), "features_flagged": flagged,
               "max_feature_psi": float(table["psi"].max()) if len(table) else 0.0}
    return {"features": table, "segments": segments, "summary": summary}


def drift_report(pipe: Any, input_path: str | Path, out_dir: str | Path, reviews_path: str | Path | None = None,
                 threshold: float = 0.25, reference_date: str | None = None) -> dict[str, Any]:
    """Read new customers (a feature table or raw events), write the drift files; returns the
    summary with a ``text`` for the terminal."""
    from seglab import plots
    from seglab.serve.inputs import events_to_data, is_feature_table, read_table, split_feature_rows

    frame = read_table(input_path)
    if is_feature_table(frame, pipe.feature_columns):
        features, _ = split_feature_rows(frame, pipe.feature_columns, str(input_path))
    else:
        reviews = read_table(reviews_path) if reviews_path else None
        features = pipe.features(events_to_data(frame, reviews, str(input_path)), reference_date=reference_date)
    result = drift_of(pipe, features, threshold)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result["features"].to_csv(out / DRIFT_TABLE, index=False)
    result["segments"].to_csv(out / DRIFT_SEGMENTS, index=False)
    summary = {**result["summary"], "input": str(input_path)}
    (out / DRIFT_SUMMARY).write_text(json.dumps(summary, indent=2))
    plots.save(plots.drift(result["features"], result["segments"], threshold,
                           f"drift of {Path(input_path).name} ({len(features):,} customers) vs the training population"),
               out / DRIFT_PLOT)
    flagged = summary["features_flagged"]
    text = (f"seglab drift: {len(features):,} customers; segment mix PSI {summary['segment_psi']:.3f}"
            f"{' (WARNING)' if summary['segment_warning'] else ''}; max feature PSI {summary['max_feature_psi']:.3f}; "
            + (f"WARNING: PSI > {threshold:g} for {', '.join(flagged)}" if flagged else f"no feature above PSI {threshold:g}")
            + f"; tables and plot in {out}")
    return {**summary, "text": text}
