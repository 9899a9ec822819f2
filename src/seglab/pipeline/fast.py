"""A fitted pipeline compiled to plain arrays, for assigning a few feature rows at a time.

``SegmentationPipeline.assign`` on one feature row spends most of its time outside the
arithmetic: scikit-learn's per-step input checks and pandas frames around each of the
preprocessor's steps, then the model's own checks. A server assigning one customer per request
pays that every time. `compile_pipeline` reads, once, what the fitted steps computed (imputation
values, the log1p columns, the clip bounds, the scaler's centre and scale, the columns the
correlation filter kept, the block weights) and the model's assignment parameters (k-means
centres, the Gaussian mixture, a deep model's encoder and latent centres), so one request is a few
numpy operations (and one small encoder call) that give the same numbers as the general path.

Anything it does not know (a PCA step, another model or a model that overrides how it embeds or
assigns) makes `compile_pipeline` return ``None`` with the reason in ``why_not_compiled``: the
caller keeps the general path. Rows whose preprocessed values are not finite (a log1p column
given a value <= -1) are left to the general path as well, so they fail as they always did.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seglab.errors import SeglabError


class NotCompilable(Exception):
    """The pipeline has a part the fast path does not reproduce (the message says which)."""


class CompiledPreprocessor:
    """The fitted `Preprocessor`'s steps as arrays: ``transform(rows)`` takes float64 rows in the
    order of ``columns`` (the pipeline's feature columns) and returns what
    ``Preprocessor.transform`` returns for them (float32)."""

    STEPS = ("impute", "log1p", "outliers", "scaler", "filter", "blocks")

    def __init__(self, pre: Any, columns: Sequence[str]) -> None:
        from sklearn.preprocessing import MinMaxScaler, StandardScaler

        from seglab.features.transformers import IQRClipper, IsolationForestFlagger

        steps = dict(pre.pipeline_.steps)
        unknown = [name for name in steps if name not in self.STEPS]
        if unknown:
            raise NotCompilable(f"preprocessor step(s) {', '.join(unknown)}")
        names = list(pre.feature_names_in_)
        position = {c: i for i, c in enumerate(columns)}
        if any(c not in position for c in names):
            raise NotCompilable("the preprocessor reads columns that are not the pipeline's feature columns")
        self.take = np.asarray([position[c] for c in names], dtype=np.intp)
        self.fill = np.asarray(steps["impute"].statistics_, dtype=np.float64)
        log_cols = set((steps["log1p"].kw_args or {}).get("columns", []))
        self.log1p = np.asarray([c in log_cols for c in names], dtype=bool)
        self.lower = self.upper = None
        outliers = steps.get("outliers")
        if isinstance(outliers, IQRClipper):
            self.lower, self.upper = np.asarray(outliers.lower_, float), np.asarray(outliers.upper_, float)
        elif outliers is not None and not isinstance(outliers, IsolationForestFlagger):  # the flagger passes data through
            raise NotCompilable(f"outlier step {type(outliers).__name__}")
        self.sub = self.div = self.mul = self.add = None
        scaler = steps.get("scaler")
        if type(scaler) is StandardScaler:
            self.sub = None if scaler.mean_ is None else np.asarray(scaler.mean_, float)
            self.div = None if scaler.scale_ is None else np.asarray(scaler.scale_, float)
        elif type(scaler) is MinMaxScaler and not scaler.clip:
            self.mul, self.add = np.asarray(scaler.scale_, float), np.asarray(scaler.min_, float)
        elif scaler is not None:
            raise NotCompilable(f"scaler {type(scaler).__name__}")
        self.keep = np.flatnonzero(np.asarray(steps["filter"].support_, dtype=bool))
        self.weight = np.asarray(steps["blocks"].scale_, dtype=np.float64)

    def transform(self, rows: np.ndarray) -> np.ndarray:
        X = np.array(rows[:, self.take], dtype=np.float64)
        X[~np.isfinite(X)] = np.nan  # as_numeric_frame: inf is missing
        gaps = np.isnan(X)
        if gaps.any():
            X[gaps] = np.broadcast_to(self.fill, X.shape)[gaps]
        if self.log1p.any():
            with np.errstate(invalid="ignore", divide="ignore"):  # <= -1: not finite, left to the general path
                X[:, self.log1p] = np.log1p(X[:, self.log1p])
        if self.lower is not None:
            X = np.clip(X, self.lower, self.upper)
        if self.sub is not None:
            X -= self.sub
        if self.div is not None:
            X /= self.div
        if self.mul is not None:
            X *= self.mul
            X += self.add
        X = X[:, self.keep] * self.weight
        return np.ascontiguousarray(X.astype(np.float32))


class CompiledModel:
    """A fitted model's assignment as arrays (or, for a deep model, its encoder in eval mode):
    ``assign(X)`` -> ``(labels, probabilities, distances)`` as ``SegmentationPipeline.assign_matrix``."""

    def __init__(self, model: Any) -> None:
        from seglab.models.classical.mixture import GMMModel
        from seglab.models.deep import DeepClusterModel
        from seglab.models.kmeans import KMeansModel

        kind = type(model)
        self.encoder = self.gmm = None
        if kind is KMeansModel:
            self.kind, self.scale = "kmeans", float(model.scale_)
        elif kind is GMMModel:
            self.kind, self.gmm = "gmm", model.gmm_
        elif isinstance(model, DeepClusterModel) and all(
                getattr(kind, m) is getattr(DeepClusterModel, m) for m in ("transform", "latent", "_latent",
                                                                             "_soft_assignment")):
            import torch

            self.kind, self.model = "deep", model
            self.encoder = copy.deepcopy(model.encoder_).to("cpu").eval()
            self.torch = torch
        else:
            raise NotCompilable(f"model {kind.__name__}")
        self.centers = np.asarray(model.cluster_centers_, dtype=np.float64)

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.kind == "deep":
            with self.torch.inference_mode():
                Z = self.encoder(self.torch.from_numpy(X)).numpy().astype(np.float64)
            proba = self.model._soft_assignment(Z)
            labels = proba.argmax(axis=1)
        else:
            Z = X.astype(np.float64)
            if self.kind == "kmeans":
                from seglab.models.base import softmax_distances

                d2 = ((Z[:, None, :] - self.centers[None]) ** 2).sum(axis=2)
                proba, labels = softmax_distances(d2, self.scale), d2.argmin(axis=1)
            else:  # scikit-learn's GaussianMixture.predict_proba / predict without the input checks
                weighted = self.gmm._estimate_weighted_log_prob(Z)
                _, log_resp = self.gmm._estimate_log_prob_resp(Z)
                proba, labels = np.exp(log_resp), weighted.argmax(axis=1)
        dist = np.sqrt(((Z - self.centers[labels]) ** 2).sum(axis=1))
        return labels.astype(np.int64), proba, dist


class FastPipeline:
    """`compile_pipeline`'s result: ``assign_rows(ids, rows)`` for feature rows (dicts)."""

    def __init__(self, pipe: Any) -> None:
        self.columns = list(pipe.feature_columns)
        self.pre = CompiledPreprocessor(pipe.preprocessor_, self.columns)
        self.model = CompiledModel(pipe.model_)

    def assign_rows(self, ids: Sequence[Any], rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """One answer per row (``customer_id``, ``segment``, ``probabilities``, ``distance``, or
        ``error`` for a value that is not a number), in order; a `SeglabError` when a row lacks
        feature columns; ``None`` when a row's preprocessed values are not finite (general path)."""
        columns = self.columns
        values, kept, answers = [], [], []
        for cid, row in zip(ids, rows, strict=True):
            missing = [c for c in columns if c not in row]
            if missing:
                raise SeglabError(f"feature rows lack the run's feature columns {', '.join(missing)}")
            try:
                values.append([math.nan if row[c] is None else float(row[c]) for c in columns])
            except (TypeError, ValueError):
                bad = next(c for c in columns if not is_number(row[c]))
                answers.append({"customer_id": cid, "error": f"{bad} is not a number"})
                continue
            kept.append(len(answers))
            answers.append({"customer_id": cid})
        if values:
            assigned = self.assign_values([answers[at]["customer_id"] for at in kept],
                                          np.asarray(values, dtype=np.float64))
            if assigned is None:
                return None
            for at, answer in zip(kept, assigned, strict=True):
                answers[at] = answer
        return answers

    def assign_values(self, ids: Sequence[Any], values: np.ndarray) -> list[dict[str, Any]] | None:
        """`assign_rows` for rows already as a float64 matrix in the order of ``columns`` (NaN:
        missing); ``None`` when a row's preprocessed values are not finite (general path)."""
        X = self.pre.transform(values)
        if not np.isfinite(X).all():
            return None
        labels, proba, dist = self.model.assign(X)
        return [{"customer_id": cid, "segment": int(labels[i]), "probabilities": proba[i].tolist(),
                 "distance": None if math.isnan(dist[i]) else float(dist[i])} for i, cid in enumerate(ids)]


def is_number(value: Any) -> bool:
    """A value a feature row may hold: a number, or None (imputed as in training)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return value is None
    return True


def compile_pipeline(pipe: Any) -> FastPipeline | None:
    """``pipe`` (a fitted `SegmentationPipeline`) compiled, or ``None`` when it has a part the fast
    path does not reproduce; the reason is then in ``why_not_compiled(pipe)``."""
    try:
        fast = FastPipeline(pipe)
    except NotCompilable as err:
        pipe.__dict__["_fast_path_off"] = str(err)
        return None
    pipe.__dict__.pop("_fast_path_off", None)
    return fast


def why_not_compiled(pipe: Any) -> str | None:
    return pipe.__dict__.get("_fast_path_off")
