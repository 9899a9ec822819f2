"""`SegmentationPipeline`: everything that turns a `CustomerData` into segments, fitted once, saved once.

A pipeline holds the feature building (its options, and the choices it made on the training data:
`seglab.pipeline.spec.FeatureSpec`, the reference date among them), the text featurizer's config
(model id or path, head, backend; the bundle records the weights' sha256, never the weights), the
fitted `Preprocessor` and the fitted model. ``fit(data)`` fits all of it; ``assign`` gives new
customers their segment, probabilities and distance to their segment's centre in the space the
model clusters in (the latent code of deep models); ``transform`` gives that embedding;
``save``/``load`` write and read a bundle (`seglab.bundle`: no pickle anywhere).

Reference date: recency, tenure, trend and date attributes are measured against the training
run's reference date by default, so a customer assigned later is described as the segments were
fitted. ``assign(data, reference_date="data")`` measures against the new data's own date (the day
after its last event), ``reference_date="2025-06-30"`` against that day.

`seglab.train.run` fits the parts itself (resume points, stage tracking, k selection) and builds
the pipeline from them with ``from_fitted``; both paths use `training_features`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError, DataValidationError
from seglab.pipeline.spec import FeatureSpec
from seglab.pipeline.stats import feature_statistics, segment_shares


def training_features(data: Any, build: Mapping[str, Any] | None = None, engine: str = "auto",
                      engine_options: Mapping[str, Any] | None = None, allow_columns: Sequence[str] = (),
                      text: Mapping[str, Any] | None = None, timings: dict[str, float] | None = None) -> pd.DataFrame:
    """Per-customer features of training ``data``: behaviour and attributes (``build_features``),
    plus the review-text aggregates when ``text`` names a model and the data has reviews.
    ``timings`` (if given) receives ``time/features_s`` and ``time/text_s``."""
    from seglab.features import build_features

    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    features = build_features(data, engine=engine, engine_options=dict(engine_options or {}),
                              allow_columns=list(allow_columns), **dict(build or {}))
    timings["time/features_s"] = time.perf_counter() - t0
    if text and str(text.get("name", "none")) != "none":
        from seglab.text import build_text_features

        t0 = time.perf_counter()
        text_features = build_text_features(data, dict(text))
        timings["time/text_s"] = time.perf_counter() - t0
        if text_features is not None:
            attrs = features.attrs  # join drops attrs, which list the profile-only attribute columns
            features = features.join(text_features)
            features.attrs = {**attrs, **text_features.attrs}  # + seglab.text: weights' sha256, head
    return features


class SegmentationPipeline:
    """Feature building + text featurizer config + fitted preprocessor + fitted model (module docstring).

    Args:
        model: an unfitted seglab model (`seglab.models`); ``fit`` fits it.
        build: ``build_features`` options (``cfg.features.build``).
        engine, engine_options: what computes the transaction features (``features.engine``).
        allow_columns: attribute columns kept although they look like direct identifiers.
        text: the text featurizer's config (``cfg.text``); None or ``name: none`` for none.
        preprocess: `Preprocessor` options (``cfg.features.preprocess``).
    """

    def __init__(self, model: Any = None, *, build: Mapping[str, Any] | None = None, engine: str = "auto",
                 engine_options: Mapping[str, Any] | None = None, allow_columns: Sequence[str] = (),
                 text: Mapping[str, Any] | None = None, preprocess: Mapping[str, Any] | None = None) -> None:
        self.model = model
        self.build = dict(build or {})
        self.engine = engine
        self.engine_options = dict(engine_options or {})
        self.allow_columns = list(allow_columns)
        self.text = dict(text) if text else None
        self.preprocess = dict(preprocess or {})

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, data: Any) -> SegmentationPipeline:
        """Build the training features of ``data``, fit the preprocessor and the model."""
        from seglab.features import Preprocessor

        if self.model is None:
            raise ConfigError("SegmentationPipeline needs a model to fit (e.g. seglab.models.kmeans.KMeansModel())")
        features = training_features(data, self.build, self.engine, self.engine_options, self.allow_columns, self.text)
        preprocessor = Preprocessor(**self.preprocess)
        X = preprocessor.fit_transform(features)
        self.model.fit(X)
        self._set_fitted(data, features, preprocessor, self.model, np.asarray(self.model.labels_, dtype=int))
        return self

    @classmethod
    def from_fitted(cls, data: Any, features: pd.DataFrame, preprocessor: Any, model: Any, labels: np.ndarray, *,
                    build: Mapping[str, Any] | None = None, engine: str = "auto",
                    engine_options: Mapping[str, Any] | None = None, allow_columns: Sequence[str] = (),
                    text: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None,
                    ) -> SegmentationPipeline:
        """The pipeline of parts fitted elsewhere (``train.run``) on ``data`` and its ``features``."""
        pipe = cls(model, build=build, engine=engine, engine_options=engine_options, allow_columns=allow_columns,
                   text=text)
        pipe._set_fitted(data, features, preprocessor, model, labels, config)
        return pipe

    def _set_fitted(self, data: Any, features: pd.DataFrame, preprocessor: Any, model: Any, labels: np.ndarray,
                    config: Mapping[str, Any] | None = None) -> None:
        self.spec_ = FeatureSpec.from_training(data, features, self.build, self.engine, self.engine_options,
                                               text=self.text)
        self.preprocessor_ = preprocessor
        self.model_ = model
        inputs = features[self.spec_.model_columns]
        self.statistics_ = {"features": feature_statistics(inputs),
                            "dtypes": {str(c): str(t) for c, t in features.dtypes.items()},
                            "segment_shares": segment_shares(labels, self.n_segments_(labels)),
                            "n_training_customers": int(len(features))}
        self.text_provenance_ = dict(features.attrs.get("seglab.text", {}))
        self.config_ = dict(config or {})
        self.n_training_ = int(len(features))

    def n_segments_(self, labels: np.ndarray | None = None) -> int:
        k = getattr(self.model_, "n_clusters", None)
        if isinstance(k, (int, np.integer)):
            return int(k)
        return int(np.max(labels)) + 1 if labels is not None and len(labels) else 0

    def _check_fitted(self) -> None:
        if not hasattr(self, "spec_"):
            raise ConfigError("this SegmentationPipeline is not fitted: call fit(data) or load(dir) first")

    # --- applying it ---------------------------------------------------------------------------
    @property
    def feature_columns(self) -> list[str]:
        """The feature columns a feature table given to ``assign`` must have (model inputs)."""
        self._check_fitted()
        return list(self.spec_.model_columns)

    def features(self, data: Any, reference_date: str | None = None, text_runner: Any = None) -> pd.DataFrame:
        """The features of new customers ``data`` (a `CustomerData`) as the run built them."""
        self._check_fitted()
        if self.spec_.text_columns and text_runner is None and data.reviews is not None and len(data.reviews):
            text_runner = self._text_runner()
        return self.spec_.build(data, reference_date=reference_date, text_runner=text_runner)

    def _text_runner(self) -> Any:
        """The text model, loaded once per pipeline (a server scores many small batches), after
        checking its weights are the ones the run scored reviews with."""
        if getattr(self, "_runner", None) is None:
            from seglab.text.features import make_runner

            self._check_text_weights()
            self._runner = make_runner(self.spec_.text)
        return self._runner

    def _check_text_weights(self) -> None:
        """Refuse to score reviews with other weights than the run's (hash recorded at fit)."""
        from seglab.text.features import plan_model, resolve_config

        saved = self.text_provenance_.get("text.weights_sha256")
        if not saved or saved.startswith("unknown"):
            return
        found = plan_model(resolve_config(self.spec_.text)).provenance.get("text.weights_sha256")
        if found != saved:
            raise ConfigError(f"the text model {self.text_provenance_.get('text.model')} found here has weights "
                              f"sha256 {found}, the run scored reviews with {saved}: install the same model to "
                              "assign from reviews, or give a feature table")

    def feature_matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s model columns as float64, indexed by customer id; a missing column or a value
        that is not a number is a `DataValidationError` naming the column and rows."""
        self._check_fitted()
        if "customer_id" in frame.columns:
            frame = frame.set_index("customer_id")
        missing = [c for c in self.spec_.model_columns if c not in frame.columns]
        if missing:
            raise DataValidationError(f"the feature table lacks the run's feature columns {', '.join(missing)}",
                                      file="<feature table>", column=missing[0])
        out = frame[self.spec_.model_columns]
        for col in out.columns:
            if not pd.api.types.is_numeric_dtype(out[col]):
                values = pd.to_numeric(out[col], errors="coerce")
                bad = np.flatnonzero(values.isna().to_numpy() & out[col].notna().to_numpy())
                if len(bad):
                    raise DataValidationError(f"{len(bad)} values are not numbers", file="<feature table>",
                                              column=str(col), rows=bad, examples=out[col].iloc[bad].tolist())
        return out.astype("float64")

    def _inputs(self, data: Any, reference_date: str | None, text_runner: Any) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            return self.feature_matrix(data)
        return self.features(data, reference_date, text_runner)

    def transform(self, data: Any, reference_date: str | None = None, text_runner: Any = None) -> np.ndarray:
        """The embedding the model clusters in (deep models: the latent code) of ``data`` or a feature table."""
        frame = self._inputs(data, reference_date, text_runner)
        return np.asarray(self.model_.transform(self.preprocessor_.transform(frame)), dtype=np.float64)

    def assign(self, data: Any, reference_date: str | None = None, text_runner: Any = None) -> pd.DataFrame:
        """Segments of ``data`` (a `CustomerData`) or of a feature table: ``segment``,
        ``prob_0..prob_{k-1}`` and ``distance`` (to the segment's centre, in ``transform``'s
        space), indexed by the customer ids given."""
        frame = self._inputs(data, reference_date, text_runner)
        return self.assign_matrix(self.preprocessor_.transform(frame), frame.index)

    def assign_matrix(self, X: np.ndarray, ids: pd.Index) -> pd.DataFrame:
        """``assign`` on an already preprocessed matrix (benchmarks time the two apart)."""
        self._check_fitted()
        model = self.model_
        out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
        if len(out) == 0:
            out["segment"] = pd.Series(dtype="int64")
            return out
        Z = np.asarray(model.transform(X), dtype=np.float64)
        if getattr(model, "has_embedding", False) and hasattr(model, "_soft_assignment"):
            proba = model._soft_assignment(Z)  # the latent code once, not once per output
        else:
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        labels = proba.argmax(axis=1) if proba.shape[1] else np.zeros(len(X), dtype=int)
        if not hasattr(model, "_soft_assignment"):
            labels = np.asarray(model.predict(X), dtype=int)
        out["segment"] = labels.astype("int64")
        for j in range(proba.shape[1]):
            out[f"prob_{j}"] = proba[:, j]
        centers = getattr(model, "cluster_centers_", None)
        if centers is not None and np.asarray(centers).shape[1] == Z.shape[1]:
            c = np.asarray(centers, dtype=np.float64)[np.clip(labels, 0, None)]
            dist = np.sqrt(((Z - c) ** 2).sum(axis=1))
            out["distance"] = np.where(labels >= 0, dist, np.nan)
        else:
            out["distance"] = np.nan
        return out

    # --- files ---------------------------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        """What ``pipeline.json`` holds: everything but the fitted numbers of the preprocessor and model."""
        from seglab import __version__

        self._check_fitted()
        return {"seglab_version": __version__, "spec": self.spec_.to_dict(), "statistics": self.statistics_,
                "schema": {"input_columns": self.spec_.model_columns,
                           "dtypes": {c: self.statistics_["dtypes"].get(c, "float64") for c in self.spec_.columns}},
                "text": {"config": self.spec_.text, "provenance": self.text_provenance_},
                "n_segments": self.n_segments_(), "allow_columns": self.allow_columns, "config": self.config_}

    def save(self, folder: str | Path) -> Path:
        """Write the fitted pipeline as a bundle (`seglab.bundle`) into ``folder``."""
        from seglab.bundle import write_bundle

        return write_bundle(folder, self.description(), self.preprocessor_, self.model_, self.n_training_)

    @classmethod
    def load(cls, folder: str | Path) -> SegmentationPipeline:
        """The pipeline saved in ``folder``, after verifying every file's hash (never unpickles)."""
        from seglab.bundle import BundleError, read_bundle

        description, preprocessor, model = read_bundle(folder)
        if model is None:
            raise BundleError(f"{folder}: the run's model cannot be used to assign new customers: "
                              f"{description.get('not_deployable_because')}")
        spec = FeatureSpec.from_dict(description["spec"])
        pipe = cls(model, build=spec.options, engine=spec.engine, engine_options=spec.engine_options,
                   allow_columns=description.get("allow_columns", []), text=spec.text)
        pipe.spec_, pipe.preprocessor_, pipe.model_ = spec, preprocessor, model
        pipe.statistics_ = description["statistics"]
        pipe.text_provenance_ = dict(description.get("text", {}).get("provenance") or {})
        pipe.config_ = dict(description.get("config") or {})
        pipe.n_training_ = int(pipe.statistics_.get("n_training_customers", 0))
        return pipe


def load_run(run_dir: str | Path) -> SegmentationPipeline:
    """The fitted pipeline of a finished run (``RUN_DIR/bundle``): ``seglab.load_run(d).assign(df)``."""
    from seglab.rundir import BUNDLE

    return SegmentationPipeline.load(Path(run_dir) / BUNDLE)
