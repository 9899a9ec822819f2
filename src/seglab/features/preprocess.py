"""The fitted, saveable preprocessing: features DataFrame -> float32 model matrix.

``Preprocessor(**cfg.features.preprocess)`` builds one scikit-learn ``Pipeline`` (pandas
output, so column names survive every step) in this order:

0. profile-only columns are set aside: those listed in the frame's
   ``df.attrs["features"]["profile_only"]`` (``build_features`` puts the customer attributes
   there when they only describe segments, see ``features.build.attributes``) and those named
   in ``exclude``. They are not model inputs (``feature_names_in_`` does not hold them,
   ``transform`` ignores them), but stay in the features frame for the segment profiles;
   ``report_["profile_only"]`` lists them.

1. ``impute``: ``SimpleImputer`` (``median`` or ``mean``); ``inf`` counts as missing.
2. ``log1p``: ``FunctionTransformer`` applying ``np.log1p`` to the chosen columns. ``auto``
   picks, on the training data, the columns that are non-negative, not confined to [0, 1]
   (shares and one-hot flags are left alone) and skewed (pandas' sample skewness above
   ``skew_threshold``, default 1): money, counts and durations in practice. A list names the
   columns; ``none`` disables it.
3. ``outliers``: ``iqr`` clips each column to Tukey's fences ``[Q1 - k IQR, Q3 + k IQR]``
   (``iqr_k``; columns with IQR 0 untouched); ``isolation_forest`` flags a ``contamination``
   share of customers without changing or removing them (their ids are reported);
   ``none``.
4. ``scaler``: ``StandardScaler``, ``MinMaxScaler`` or ``none``.
5. ``corr_threshold``: drops constant columns and one column of each pair with
   |r| > threshold, keeping the earlier column of the frame (``null`` disables the pair test).
6. ``pca``: ``null`` (off), an int (number of components) or a float in (0, 1) (share of
   variance to keep).

``report_`` (plain JSON types) says what each step did; ``save``/``load`` use joblib.
Profiles in original units come from the features frame itself, not from an inverse of this
(clipping, the filter and PCA are lossy by design).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

from seglab.errors import ConfigError
from seglab.features.transformers import (
    BlockWeighter,
    CorrelationFilter,
    IQRClipper,
    IsolationForestFlagger,
    log1p_columns,
)

_CHOICES = {
    "impute": ("median", "mean"),
    "outliers": ("iqr", "isolation_forest", "none"),
    "scaler": ("standard", "minmax", "none"),
}


def _none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.lower() in ("none", "null", "off", "false"))


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so ``report_`` serialises with the json module."""
    return value.item() if isinstance(value, np.generic) else value


class Preprocessor:
    """Fitted preprocessing of a numeric features DataFrame (see the module docstring).

    Args:
        impute: ``median`` | ``mean``.
        log1p: ``auto`` | list of column names | ``none``.
        skew_threshold: skewness above which ``log1p: auto`` transforms a column.
        outliers: ``iqr`` | ``isolation_forest`` | ``none``.
        iqr_k: fence multiplier for ``iqr``.
        contamination: expected outlier share for ``isolation_forest`` (float in (0, 0.5] or "auto").
        scaler: ``standard`` | ``minmax`` | ``none``.
        corr_threshold: |r| above which one of a pair is dropped; ``None`` disables.
        drop_constant: drop zero-variance columns (they carry nothing and break correlations).
        pca: ``None`` | int components | float share of variance in (0, 1).
        random_state: seed of the isolation forest and PCA (``${seed}`` in the config).
        exclude: further columns to keep out of the model matrix (profile-only), besides the
            frame's ``attrs["features"]["profile_only"]``; each must exist in the frame.
        block_weights: ``{prefix: weight}``: after scaling and filtering, the columns whose names
            start with ``prefix`` are scaled so the block weighs ``weight`` features in total
            (see `BlockWeighter`); ``None``/``{}`` (the constructor's default) weighs nothing. seglab's
            config (``conf/features/default.yaml``) weighs the review-text block ``text_`` as one
            feature; ``features.preprocess.block_weights=null`` turns that off.
        protect: columns the correlation filter never drops (absent ones are ignored); by
            default the review mask ``text_has_reviews``, which the multimodal model reads by name.

    After ``fit``: ``pipeline_`` (the sklearn Pipeline), ``feature_names_in_`` (model inputs,
    profile-only columns left out), ``profile_only_``, ``feature_names_out_``, ``report_``, ``outlier_mask_`` (bool per training row, all False
    unless ``isolation_forest``).
    """

    def __init__(
        self,
        impute: str = "median",
        log1p: str | list[str] | None = "auto",
        skew_threshold: float = 1.0,
        outliers: str | None = "iqr",
        iqr_k: float = 1.5,
        contamination: float | str = 0.02,
        scaler: str | None = "standard",
        corr_threshold: float | None = 0.95,
        drop_constant: bool = True,
        pca: int | float | None = None,
        random_state: int | None = 0,
        exclude: Sequence[str] | None = None,
        protect: Sequence[str] | None = ("text_has_reviews",),
        block_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.impute = impute
        self.block_weights = {} if block_weights is None or _none(block_weights) else {
            str(k): (None if v is None or _none(v) else float(v)) for k, v in dict(block_weights).items()
        }
        if protect is None or _none(protect):
            protect = []
        self.protect = [protect] if isinstance(protect, str) else [str(c) for c in protect]
        if _none(exclude) or exclude is None:
            exclude = []
        elif isinstance(exclude, str):
            exclude = [exclude]
        self.exclude = [str(c) for c in exclude]  # a list, or OmegaConf's ListConfig
        if isinstance(log1p, Sequence) and not isinstance(log1p, str):
            log1p = [str(c) for c in log1p]  # a list, or OmegaConf's ListConfig
        self.log1p = log1p
        self.skew_threshold = skew_threshold
        self.outliers = "none" if _none(outliers) else outliers
        self.iqr_k = iqr_k
        self.contamination = contamination
        self.scaler = "none" if _none(scaler) else scaler
        self.corr_threshold = None if _none(corr_threshold) else corr_threshold
        self.drop_constant = drop_constant
        self.pca = None if _none(pca) else pca
        self.random_state = random_state
        self._check_options()

    # --- options ------------------------------------------------------------------------
    def _check_options(self) -> None:
        for key, allowed in _CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ConfigError(
                    f"features.preprocess.{key}: unknown value {value!r}; choose one of {', '.join(allowed)}"
                )
        lg = self.log1p
        if not (_none(lg) or lg == "auto" or isinstance(lg, list)):
            raise ConfigError(
                f"features.preprocess.log1p: unknown value {lg!r}; choose auto, none or a list of column names"
            )
        if not (isinstance(self.iqr_k, (int, float)) and self.iqr_k > 0):
            raise ConfigError(f"features.preprocess.iqr_k must be a number > 0, got {self.iqr_k!r}")
        if not (isinstance(self.skew_threshold, (int, float))):
            raise ConfigError(
                f"features.preprocess.skew_threshold must be a number, got {self.skew_threshold!r}"
            )
        c = self.contamination
        if not (c == "auto" or (isinstance(c, (int, float)) and 0 < c <= 0.5)):
            raise ConfigError(f"features.preprocess.contamination must be 'auto' or in (0, 0.5], got {c!r}")
        t = self.corr_threshold
        if t is not None and not (isinstance(t, (int, float)) and 0 < t <= 1):
            raise ConfigError(f"features.preprocess.corr_threshold must be in (0, 1] or null, got {t!r}")
        p = self.pca
        if p is not None:
            ok = (isinstance(p, (int, np.integer)) and not isinstance(p, bool) and p >= 1) or (
                isinstance(p, float) and 0 < p < 1
            )
            if not ok:
                raise ConfigError(
                    f"features.preprocess.pca must be null, an integer >= 1 or a float in (0, 1), got {p!r}"
                )

    # --- input checks -------------------------------------------------------------------
    @staticmethod
    def _as_frame(df: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        if isinstance(df, np.ndarray):
            if df.ndim != 2:
                raise ConfigError(f"Preprocessor expects a 2-D table, got an array of shape {df.shape}")
            return pd.DataFrame(df, columns=[f"x{i}" for i in range(df.shape[1])])
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"Preprocessor expects a pandas DataFrame, got {type(df).__name__}")
        bad = [
            str(c) for c in df.columns if not (ptypes.is_numeric_dtype(df[c]) or ptypes.is_bool_dtype(df[c]))
        ]
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

    # --- fit / transform ----------------------------------------------------------------
    def _auto_log_columns(self, X: pd.DataFrame) -> list[str]:
        cols = []
        for c in X.columns:
            s = X[c]
            if s.min() >= 0 and s.max() > 1 and s.skew() > self.skew_threshold:
                cols.append(c)
        return cols

    def _profile_only(self, df: pd.DataFrame | np.ndarray) -> list[str]:
        """Columns of ``df`` that are not model inputs (frame's attrs + ``exclude``), in frame order."""
        names = (
            [str(c) for c in df.columns]
            if isinstance(df, pd.DataFrame)
            else [f"x{i}" for i in range(np.shape(df)[1] if np.ndim(df) == 2 else 0)]
        )
        exclude = list(getattr(self, "exclude", []))
        missing = [c for c in exclude if c not in names]
        if missing:
            raise ConfigError(
                f"features.preprocess.exclude names columns not in the features: {', '.join(missing)}"
            )
        marked = set(exclude)
        if isinstance(df, pd.DataFrame):
            info = df.attrs.get("features") or {}
            marked |= {str(c) for c in info.get("profile_only", [])}
        return [c for c in names if c in marked]

    def fit(self, df: pd.DataFrame, y: Any = None) -> Preprocessor:
        profile_only = self._profile_only(df)
        if profile_only:
            df = df.drop(columns=[c for c in df.columns if str(c) in set(profile_only)])
        X = self._as_frame(df)
        if X.shape[1] == 0 and profile_only:
            raise ConfigError(
                f"Preprocessor: every column is profile-only ({', '.join(profile_only)}); nothing is left to "
                "cluster on (see features.build.attributes and features.preprocess.exclude)"
            )
        if X.shape[1] == 0 or X.shape[0] < 2:
            raise ConfigError(f"Preprocessor needs at least 2 rows and 1 column, got shape {X.shape}")
        self.profile_only_ = profile_only
        self.feature_names_in_ = list(X.columns)
        n_missing = X.isna().sum()

        imputer = SimpleImputer(strategy=self.impute, keep_empty_features=True).set_output(transform="pandas")
        Xi = imputer.fit_transform(X)
        if self.log1p == "auto":
            log_cols = self._auto_log_columns(Xi)
        elif _none(self.log1p):
            log_cols = []
        else:
            log_cols = list(self.log1p)
            missing = [c for c in log_cols if c not in X.columns]
            if missing:
                raise ConfigError(
                    f"features.preprocess.log1p names columns not in the features: {', '.join(missing)}"
                )
            negative = [c for c in log_cols if Xi[c].min() <= -1]
            if negative:
                raise ConfigError(
                    f"features.preprocess.log1p: columns with values <= -1 cannot be log1p'd: {', '.join(negative)}"
                )

        steps: list[tuple[str, Any]] = [
            ("impute", imputer),
            (
                "log1p",
                FunctionTransformer(
                    log1p_columns, kw_args={"columns": log_cols}, feature_names_out="one-to-one"
                ),
            ),
        ]
        if self.outliers == "iqr":
            steps.append(("outliers", IQRClipper(k=self.iqr_k)))
        elif self.outliers == "isolation_forest":
            steps.append(
                (
                    "outliers",
                    IsolationForestFlagger(contamination=self.contamination, random_state=self.random_state),
                )
            )
        if self.scaler == "standard":
            steps.append(("scaler", StandardScaler()))
        elif self.scaler == "minmax":
            steps.append(("scaler", MinMaxScaler()))
        steps.append(
            (
                "filter",
                CorrelationFilter(
                    threshold=self.corr_threshold,
                    drop_constant=self.drop_constant,
                    protect=tuple(self.protect),
                ),
            )
        )
        steps.append(("blocks", BlockWeighter(weights=self.block_weights)))

        # fit everything up to the filter, then check PCA's size against what is left
        pipe = Pipeline(steps).set_output(transform="pandas")
        Z = pipe.fit_transform(X)
        if self.pca is not None:
            if isinstance(self.pca, (int, np.integer)) and self.pca > min(Z.shape):
                raise ConfigError(
                    f"features.preprocess.pca={self.pca} exceeds the {Z.shape[1]} features "
                    f"(or {Z.shape[0]} rows) left after the correlation filter"
                )
            pca = PCA(n_components=self.pca, svd_solver="full", random_state=self.random_state)
            pca.set_output(transform="pandas").fit(Z)
            pipe.steps.append(("pca", pca))
        self.pipeline_ = pipe
        self.feature_names_out_ = [str(c) for c in pipe.get_feature_names_out()]

        index = df.index if isinstance(df, pd.DataFrame) else pd.RangeIndex(len(X))
        out_step = pipe.named_steps.get("outliers")
        if isinstance(out_step, IsolationForestFlagger):
            self.outlier_mask_ = np.asarray(out_step.flags_)
        else:
            self.outlier_mask_ = np.zeros(len(X), dtype=bool)
        self.report_ = self._make_report(pipe, log_cols, n_missing, index)
        return self

    def _make_report(
        self, pipe: Pipeline, log_cols: list[str], n_missing: pd.Series, index: pd.Index
    ) -> dict:
        filt: CorrelationFilter = pipe.named_steps["filter"]
        rep: dict[str, Any] = {
            "n_features_in": len(self.feature_names_in_),
            "profile_only": list(self.profile_only_),
            "n_features_out": len(self.feature_names_out_),
            "feature_names_out": list(self.feature_names_out_),
            "imputed": {c: int(v) for c, v in n_missing.items() if v > 0},
            "log1p_columns": list(log_cols),
            "outliers": self.outliers,
            "clipped": {},
            "flagged_outliers": [],
            "scaler": self.scaler,
            "dropped_constant": list(filt.dropped_constant_),
            "dropped_correlated": [[d, k, r] for d, k, r in filt.dropped_correlated_],
            "block_weights": {
                p: {"weight": self.block_weights[p], "columns": cols}
                for p, cols in pipe.named_steps["blocks"].blocks_.items()
            },
            "pca_explained_variance_ratio": None,
        }
        step = pipe.named_steps.get("outliers")
        if isinstance(step, IQRClipper):
            rep["clipped"] = {
                c: int(n) for c, n in zip(self.feature_names_in_, step.n_clipped_, strict=True) if n > 0
            }
        elif isinstance(step, IsolationForestFlagger):
            rep["flagged_outliers"] = [_plain(v) for v in index[self.outlier_mask_]]
        if "pca" in pipe.named_steps:
            ratio = pipe.named_steps["pca"].explained_variance_ratio_
            rep["pca_explained_variance_ratio"] = [round(float(v), 6) for v in ratio]
            rep["pca_explained_variance_total"] = round(float(ratio.sum()), 6)
        return rep

    def _check_fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            raise ConfigError("Preprocessor is not fitted yet: call fit(df) first")

    def _align(self, df: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        X = self._as_frame(df)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ConfigError(
                f"features missing at transform time (present when the Preprocessor was fitted): {', '.join(missing)}"
            )
        return X[self.feature_names_in_]

    def transform(self, df: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Float32 matrix (rows as ``df``, columns ``feature_names_out_``); extra columns ignored."""
        self._check_fitted()
        return np.ascontiguousarray(self.pipeline_.transform(self._align(df)).to_numpy(dtype=np.float32))

    def fit_transform(self, df: pd.DataFrame, y: Any = None) -> np.ndarray:
        return self.fit(df).transform(df)

    def flag_outliers(self, df: pd.DataFrame) -> np.ndarray:
        """Isolation-forest flags for new rows (all False unless ``outliers: isolation_forest``)."""
        self._check_fitted()
        X = self._align(df)
        step = self.pipeline_.named_steps.get("outliers")
        if not isinstance(step, IsolationForestFlagger):
            return np.zeros(len(X), dtype=bool)
        upto = Pipeline(self.pipeline_.steps[: [n for n, _ in self.pipeline_.steps].index("outliers")])
        return step.flag(upto.transform(X))

    # --- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        obj = joblib.load(Path(path))
        if not isinstance(obj, Preprocessor):
            raise ConfigError(f"{path} does not hold a seglab Preprocessor (got {type(obj).__name__})")
        return obj

    def __repr__(self) -> str:
        opts = ", ".join(
            f"{k}={getattr(self, k)!r}"
            for k in ("impute", "log1p", "outliers", "scaler", "corr_threshold", "pca")
        )
        if getattr(self, "exclude", None):
            opts += f", exclude={self.exclude!r}"
        return f"Preprocessor({opts})"
