"""What `seglab.train.run` writes after evaluation: profiles, explanations, stability, k choice.

Each function writes its files to the run dir and returns ``stage/metric`` floats for the
tracker; configuration enters as plain keyword arguments (``**cfg.<section>``), the model as
the run's fitted estimator and the features as a builder, never as a callback into ``train``:

- ``select_k(X, run_dir, **cfg.choose_k)`` -> ``(k, metrics)`` for ``n_clusters=auto``;
- ``write_segment_reports(run_dir, features=..., X=..., labels=..., model=..., proba=...,
  feature_names=..., profiles=cfg.profiles, explain=cfg.explain, random_state=cfg.seed)``;
- ``write_stability_reports(run_dir, model, X, labels, data=..., preprocessor=...,
  features=..., build_features=..., refit_params=..., **cfg.stability)``.

Figures are drawn by ``seglab.plots``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab import plots
from seglab.diagnostics.choose_k import choose_k, write_k_selection
from seglab.diagnostics.explain import write_explanations
from seglab.diagnostics.stability import StabilityResult, clustering_stability
from seglab.diagnostics.temporal import TemporalResult, temporal_stability
from seglab.evaluate.profiles import segment_deviations, segment_profiles


def select_k(
    X: np.ndarray, run_dir: str | Path, *, random_state: int = 0, **options: Any
) -> tuple[int, dict]:
    """Run ``choose_k`` (options: ``k_min``, ``k_max``, ``rule``, ``criteria``, ``n_init``,
    ``gap_references``, ``gmm_covariance_type``, ``silhouette_sample_size``,
    ``max_samples``) and write ``k_selection.{csv,json,png}``. Returns ``(k, metrics)``."""
    sel = choose_k(X, random_state=random_state, **options)
    metrics = write_k_selection(sel, run_dir)
    return sel.k, metrics


def write_profiles(
    run_dir: str | Path,
    features: pd.DataFrame,
    labels: Sequence[int] | np.ndarray,
    *,
    proba: np.ndarray | None = None,
    **options,
) -> pd.DataFrame:
    """Write ``profiles.csv``, ``profile_deviations.csv``, ``segment_names.json`` and
    ``profiles.png`` to ``run_dir``; ``options`` go to ``segment_profiles``. Returns the
    profiles frame."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    profiles = segment_profiles(features, labels, proba=proba, **options)
    deviations = segment_deviations(features, labels)
    profiles.to_csv(run_dir / "profiles.csv", index=False)
    deviations.to_csv(run_dir / "profile_deviations.csv")
    names = dict(zip(profiles["segment"], profiles["name"], strict=True))
    (run_dir / "segment_names.json").write_text(json.dumps(names, indent=2))
    png = plots.profile_heatmap(profiles, "segment profiles", deviations, labels=options.get("feature_labels")) \
        if deviations.shape[1] else None
    if png is not None:
        plots.save(png, run_dir / "profiles.png")
    return profiles


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
    """Profiles (``write_profiles``) and, unless ``explain={"enabled": False}``, explanations
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


def write_stability(
    run_dir: str | Path,
    result: StabilityResult | None = None,
    temporal: TemporalResult | None = None,
) -> dict[str, float]:
    """Write ``stability_segments.csv``, ``stability.json`` and, with ``temporal``,
    ``transitions.csv`` / ``transition_rates.csv`` / ``transitions.png``; return the metrics."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, float] = {}
    summary: dict[str, Any] = {}
    if result is not None:
        metrics.update(result.metrics)
        result.segments.to_csv(run_dir / "stability_segments.csv", index=False)
        summary["segments"] = result.segments.to_dict(orient="records")
        summary["notes"] = list(result.notes)
    if temporal is not None:
        metrics.update(temporal.metrics())
        temporal.counts.to_csv(run_dir / "transitions.csv")
        temporal.rates.to_csv(run_dir / "transition_rates.csv")
        summary["temporal_notes"] = list(temporal.notes)
        plots.save(plots.transitions(temporal), run_dir / "transitions.png")
    summary["metrics"] = {k: (None if np.isnan(v) else v) for k, v in metrics.items()}
    (run_dir / "stability.json").write_text(json.dumps(summary, indent=2, default=float))
    return metrics


def write_stability_reports(
    run_dir: str | Path,
    model: Any,
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    seeds: Sequence[int] = (),
    n_bootstrap: int = 0,
    period_days: float | None = None,
    data: Any | None = None,
    preprocessor: Any | None = None,
    features: pd.DataFrame | None = None,
    build_features: Callable[[Any], pd.DataFrame] | None = None,
    refit_params: Mapping[str, Any] | None = None,
    random_state: int = 0,
) -> dict[str, float]:
    """Seed/bootstrap stability of ``model``'s refits (when ``seeds`` or ``n_bootstrap``) and
    transitions over time (when ``period_days`` and ``data`` has transactions; the cut-off's
    features come from ``build_features``, the end's are ``features``). Nothing asked, nothing
    done."""
    result = None
    if len(seeds) or n_bootstrap:
        result = clustering_stability(model, X, np.asarray(labels), seeds=list(seeds), n_bootstrap=n_bootstrap,
                                      random_state=random_state, refit_params=refit_params)
    temporal = None
    if period_days and data is not None and data.transactions is not None and len(data.transactions):
        if build_features is None:
            raise ValueError("stability over time needs build_features (the run's feature builder)")
        temporal = temporal_stability(data, model, preprocessor, build_features, period_days=period_days,
                                      features_end=features)
    if result is None and temporal is None:
        return {}
    return write_stability(run_dir, result, temporal)
