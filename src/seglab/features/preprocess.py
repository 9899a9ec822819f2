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
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import Hidden

from seglab.config.constraints import Choice, Integral, Interval, ListOf, Real, require
from seglab.errors import ConfigError
from seglab.features.preprocess_report import as_numeric_frame, preprocess_report
from seglab.features.transformers import (
    BlockWeighter,
    CorrelationFilter,
    IQRClipper,
    IsolationForestFlagger,
    log1p_columns,
)

_NONE_SPELLINGS = ("null", "off", "false")


def _none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.lower() in ("none", *_NONE_SPELLINGS))


def _off(*options: str) -> list[Any]:
    """``options`` or ``none`` (``null``, ``off`` and ``false`` accepted too)."""
    return [Choice(*options, "none", aliases=_NONE_SPELLINGS), Hidden(None)]


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

    #: What each argument may be (scikit-learn's vocabulary; `seglab.config.check_config` reads it too).
    _parameter_constraints: dict[str, list[Any]] = {
        "impute": [Choice("median", "mean")],
        "log1p": [*_off("auto"), ListOf(str)],
        "skew_threshold": [Real],
        "outliers": _off("iqr", "isolation_forest"),
        "iqr_k": [Interval(Real, 0, None, closed="neither")],
        "contamination": [Choice("auto"), Interval(Real, 0, 0.5, closed="right")],
        "scaler": _off("standard", "minmax"),
        "corr_threshold": [Interval(Real, 0, 1, closed="right"), None, Hidden(Choice("none", aliases=_NONE_SPELLINGS))],
        "drop_constant": ["boolean"],
        "pca": [None, Interval(Integral, 1, None, closed="left"), Interval(Real, 0, 1, closed="neither"),
                Hidden(Choice("none", aliases=_NONE_SPELLINGS))],
        "random_state": [Integral, None],
        "exclude": [ListOf(str), str, None, Hidden(Choice("none", aliases=_NONE_SPELLINGS))],
        "protect": [ListOf(str), str, None, Hidden(Choice("none", aliases=_NONE_SPELLINGS))],
        "block_weights": [dict, None, Hidden(Choice("none", aliases=_NONE_SPELLINGS))],
    }

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
        require(self._parameter_constraints, {k: v for k, v in locals().items() if k != "self"}, "features.preprocess.")
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
        X = as_numeric_frame(df)
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
        self.report_ = preprocess_report(self, log_cols, n_missing, index)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            raise ConfigError("Preprocessor is not fitted yet: call fit(df) first")

    def _align(self, df: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        X = as_numeric_frame(df)
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
