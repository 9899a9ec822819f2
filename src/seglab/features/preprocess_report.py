"""The two ends of `seglab.features.Preprocessor`: the check of what goes in (a numeric table)
and ``report_``, what each fitted step did, in plain JSON types (``preprocess_report.json``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from seglab.errors import ConfigError
from seglab.features.transformers import CorrelationFilter, IQRClipper, IsolationForestFlagger
from seglab.plain import plain


def as_numeric_frame(df: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """``df`` as a float64 frame with string column names (``inf`` -> NaN), or a `ConfigError`
    naming the non-numeric or duplicated columns."""
    if isinstance(df, np.ndarray):
        if df.ndim != 2:
            raise ConfigError(f"Preprocessor expects a 2-D table, got an array of shape {df.shape}")
        return pd.DataFrame(df, columns=[f"x{i}" for i in range(df.shape[1])])
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"Preprocessor expects a pandas DataFrame, got {type(df).__name__}")
    bad = [str(c) for c in df.columns if not (ptypes.is_numeric_dtype(df[c]) or ptypes.is_bool_dtype(df[c]))]
    if bad:
        raise ConfigError(
            f"Preprocessor needs numeric columns only; non-numeric: {', '.join(bad)} "
            "(encode them in seglab.features.build_features, or drop them)"
        )
    if df.columns.duplicated().any():
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ConfigError(f"Preprocessor got duplicated column names: {', '.join(dup)}")
    out = df.astype("float64").replace([np.inf, -np.inf], np.nan)
    out.columns = [str(c) for c in out.columns]
    return out


def preprocess_report(pre: Any, log_cols: list[str], n_missing: pd.Series, index: pd.Index) -> dict:
    """``report_`` of the fitted Preprocessor ``pre`` (its ``pipeline_`` and fitted attributes)."""
    pipe = pre.pipeline_
    filt: CorrelationFilter = pipe.named_steps["filter"]
    rep: dict[str, Any] = {
        "n_features_in": len(pre.feature_names_in_),
        "profile_only": list(pre.profile_only_),
        "n_features_out": len(pre.feature_names_out_),
        "feature_names_out": list(pre.feature_names_out_),
        "imputed": {c: int(v) for c, v in n_missing.items() if v > 0},
        "log1p_columns": list(log_cols),
        "outliers": pre.outliers,
        "clipped": {},
        "flagged_outliers": [],
        "scaler": pre.scaler,
        "dropped_constant": list(filt.dropped_constant_),
        "dropped_correlated": [[d, k, r] for d, k, r in filt.dropped_correlated_],
        "block_weights": {
            p: {"weight": pre.block_weights[p], "columns": cols}
            for p, cols in pipe.named_steps["blocks"].blocks_.items()
        },
        "pca_explained_variance_ratio": None,
    }
    step = pipe.named_steps.get("outliers")
    if isinstance(step, IQRClipper):
        rep["clipped"] = {c: int(n) for c, n in zip(pre.feature_names_in_, step.n_clipped_, strict=True) if n > 0}
    elif isinstance(step, IsolationForestFlagger):
        rep["flagged_outliers"] = [plain(v) for v in index[pre.outlier_mask_]]
    if "pca" in pipe.named_steps:
        ratio = pipe.named_steps["pca"].explained_variance_ratio_
        rep["pca_explained_variance_ratio"] = [round(float(v), 6) for v in ratio]
        rep["pca_explained_variance_total"] = round(float(ratio.sum()), 6)
    return rep
