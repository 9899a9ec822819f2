"""What `seglab.train.run` calls after evaluation: profiles, explanations, stability, k choice.

Each function writes its files to the run dir and returns ``stage/metric`` floats for the
tracker; configuration enters as plain keyword arguments (``**cfg.<section>``):

- ``select_k(X, run_dir, **cfg.choose_k)`` -> ``(k, metrics)`` for ``n_clusters=auto``;
- ``write_segment_reports(run_dir, features=..., X=..., labels=..., model=..., proba=...,
  feature_names=..., profiles=cfg.profiles, explain=cfg.explain, random_state=cfg.seed)``;
- ``write_stability_reports(run_dir, make_model, X, labels, data=..., model=...,
  preprocessor=..., features=..., build_kwargs=cfg.features.build, **cfg.stability)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.evaluate.choose_k import choose_k, write_k_selection
from seglab.evaluate.explain import write_explanations
from seglab.evaluate.profiles import write_profiles
from seglab.evaluate.stability import clustering_stability, temporal_stability, write_stability


def select_k(
    X: np.ndarray, run_dir: str | Path, *, random_state: int = 0, **options: Any
) -> tuple[int, dict]:
    """Run ``choose_k`` (options: ``k_min``, ``k_max``, ``rule``, ``criteria``, ``n_init``,
    ``gap_references``, ``gmm_covariance_type``, ``silhouette_sample_size``,
    ``max_samples``) and write ``k_selection.{csv,json,png}``. Returns ``(k, metrics)``."""
    sel = choose_k(X, random_state=random_state, **options)
    metrics = write_k_selection(sel, run_dir)
    return sel.k, metrics


def write_segment_reports(
    run_dir: str | Path,
    *,
    features: pd.DataFrame,
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    model: Any | None = None,
    proba: np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    profiles: dict | None = None,
    explain: dict | None = None,
    random_state: int = 0,
) -> dict[str, float]:
    """Profiles (``profiles.csv``, ``profile_deviations.csv``, ``segment_names.json``,
    ``profiles.png``) and, unless ``explain={"enabled": False}``, explanations
    (``surrogate_rules.csv``, ``feature_importance.csv``, ``explanations.json``).

    ``profiles``: options of ``segment_profiles`` (``churn_days``, ``margin``,
    ``discount_rate``, ``name_terms``, ``name_min_z``). ``explain``: ``enabled``,
    ``max_depth``, ``n_repeats``, ``max_samples``.
    """
    labels = np.asarray(labels, dtype=int)
    write_profiles(run_dir, features, labels, proba=proba, **(profiles or {}))
    explain = dict(explain or {})
    if not explain.pop("enabled", True):
        return {}
    return write_explanations(
        run_dir, features, X, labels, model, feature_names=feature_names, random_state=random_state, **explain
    )


def write_stability_reports(
    run_dir: str | Path,
    make_model: Callable[[int], Any],
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    seeds: Sequence[int] = (),
    n_bootstrap: int = 0,
    period_days: float | None = None,
    data: Any | None = None,
    model: Any | None = None,
    preprocessor: Any | None = None,
    features: pd.DataFrame | None = None,
    build_kwargs: dict | None = None,
    random_state: int = 0,
) -> dict[str, float]:
    """Seed/bootstrap stability (when ``seeds`` or ``n_bootstrap``) and transitions over
    time (when ``period_days`` and ``data`` has transactions). Nothing asked, nothing done."""
    result = None
    if len(seeds) or n_bootstrap:
        result = clustering_stability(
            make_model,
            X,
            np.asarray(labels),
            seeds=list(seeds),
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )
    temporal = None
    if period_days and data is not None and data.transactions is not None and len(data.transactions):
        temporal = temporal_stability(
            data,
            model,
            preprocessor,
            period_days=period_days,
            build_kwargs=build_kwargs,
            features_end=features,
        )
    if result is None and temporal is None:
        return {}
    return write_stability(run_dir, result, temporal)
