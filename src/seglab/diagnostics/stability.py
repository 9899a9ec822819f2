"""Stability of a segmentation across seeds and bootstrap resamples (over time: ``temporal``).

``clustering_stability(model, X, reference)`` refits unfitted copies of the run's fitted
``model`` (``seglab.diagnostics.refit.unfitted_copy``) with other seeds, and on bootstrap
resamples of the customers (drawn with replacement, seeded), predicts every customer with each
refit, and compares:

- ``stability/seed_ari_mean`` / ``stability/bootstrap_ari_mean``: mean pairwise adjusted Rand
  index between the refits' assignments of all customers (1 = identical partitions, ~0 =
  unrelated);
- ``stability/*_ari_vs_reference``: mean ARI of each refit against the run's own labels;
- per-segment Jaccard (Hennig 2007, computed on all customers through ``predict``): for each
  segment of the reference labelling, the best Jaccard overlap ``|A ∩ B| / |A ∪ B|`` with any
  segment of a refit, averaged over refits. Hennig's reading: below 0.6 the segment is not
  stable, 0.75-0.85 fairly stable, above 0.85 highly stable.

Noise (-1) counts as one label in ARI and is never a segment in the Jaccard table.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from seglab.diagnostics.refit import unfitted_copy


def mean_pairwise_ari(labelings: Sequence[np.ndarray]) -> tuple[float, float]:
    """Mean and standard deviation of the ARI over all pairs of labelings (NaN if < 2)."""
    scores = [adjusted_rand_score(a, b) for a, b in itertools.combinations(labelings, 2)]
    if not scores:
        return float("nan"), float("nan")
    return float(np.mean(scores)), float(np.std(scores))


def best_match_jaccard(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """For each segment of ``reference`` (noise excluded), its best Jaccard with a segment of
    ``other`` (noise excluded; 0.0 when ``other`` has no segment)."""
    reference, other = np.asarray(reference), np.asarray(other)
    ref_ids, ref_codes = np.unique(reference, return_inverse=True)
    oth_ids, oth_codes = np.unique(other, return_inverse=True)
    table = contingency_matrix(ref_codes.ravel(), oth_codes.ravel())
    ref_sizes, oth_sizes = table.sum(axis=1), table.sum(axis=0)
    union = ref_sizes[:, None] + oth_sizes[None, :] - table
    jac = table / np.maximum(union, 1)
    jac[:, oth_ids == -1] = 0.0
    out = {}
    for i, c in enumerate(ref_ids):
        if c == -1:
            continue
        out[int(c)] = float(jac[i].max()) if jac.shape[1] else 0.0
    return out


def _jaccard_table(reference: np.ndarray, runs: Sequence[np.ndarray]) -> pd.Series:
    per_run = [best_match_jaccard(reference, r) for r in runs]
    segs = sorted({s for d in per_run for s in d})
    return pd.Series({s: float(np.mean([d.get(s, 0.0) for d in per_run])) for s in segs}, dtype=float)


@dataclass
class StabilityResult:
    """``metrics`` (``stability/*`` floats), ``segments`` (one row per reference segment:
    ``segment``, ``size``, ``jaccard_seed``, ``jaccard_bootstrap``) and ``notes``."""

    metrics: dict[str, float]
    segments: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def clustering_stability(
    model: Any,
    X: np.ndarray,
    reference: np.ndarray,
    *,
    seeds: Sequence[int] = (1, 2, 3),
    n_bootstrap: int = 5,
    random_state: int = 0,
    refit_params: Mapping[str, Any] | None = None,
) -> StabilityResult:
    """Seed and bootstrap stability of a clustering.

    Args:
        model: the run's model (fitted or not: only its parameters are read); refits are
            unfitted copies with another ``random_state`` and must have ``fit`` and ``predict``.
        X: the preprocessed matrix the reference was fitted on.
        reference: the run's labels (compared with every refit).
        seeds: seeds of the refits on all of ``X``; empty = skip.
        n_bootstrap: refits on bootstrap resamples (seed ``random_state + b``); 0 = skip.
        random_state: seeds the resamples.
        refit_params: parameters every refit overrides (e.g. trainer settings without loggers).
    """
    X = np.asarray(X)
    reference = np.asarray(reference, dtype=int)
    if len(reference) != len(X):
        raise ValueError(f"reference has {len(reference)} labels for {len(X)} rows")
    metrics: dict[str, float] = {}
    notes: list[str] = []
    values, counts = np.unique(reference[reference >= 0], return_counts=True)
    segments = pd.DataFrame({"segment": values.astype(int), "size": counts.astype(int)})

    def refit(seed: int, rows: np.ndarray | None = None) -> np.ndarray:
        copy = unfitted_copy(model, int(seed), refit_params)
        return np.asarray(copy.fit(X if rows is None else X[rows]).predict(X), dtype=int)

    seed_runs = [refit(s) for s in seeds]
    if seed_runs:
        mean, std = mean_pairwise_ari([reference, *seed_runs])
        metrics["stability/seed_ari_mean"] = mean
        metrics["stability/seed_ari_std"] = std
        metrics["stability/seed_ari_vs_reference"] = float(
            np.mean([adjusted_rand_score(reference, r) for r in seed_runs])
        )
        metrics["stability/n_seeds"] = float(len(seed_runs))
        segments["jaccard_seed"] = segments["segment"].map(_jaccard_table(reference, seed_runs)).fillna(0.0)

    rng = np.random.RandomState(random_state)
    boot_runs = []
    for b in range(int(n_bootstrap)):
        idx = rng.randint(0, len(X), size=len(X))
        boot_runs.append(refit(random_state + b, idx))
    if boot_runs:
        mean, std = mean_pairwise_ari(boot_runs) if len(boot_runs) > 1 else (float("nan"), float("nan"))
        metrics["stability/bootstrap_ari_mean"] = mean
        metrics["stability/bootstrap_ari_std"] = std
        metrics["stability/bootstrap_ari_vs_reference"] = float(
            np.mean([adjusted_rand_score(reference, r) for r in boot_runs])
        )
        metrics["stability/n_bootstrap"] = float(len(boot_runs))
        segments["jaccard_bootstrap"] = (
            segments["segment"].map(_jaccard_table(reference, boot_runs)).fillna(0.0)
        )

    jcols = [c for c in ("jaccard_seed", "jaccard_bootstrap") if c in segments]
    if jcols and len(segments):
        worst = segments[jcols].min(axis=1)
        metrics["stability/min_segment_jaccard"] = float(worst.min())
        shaky = segments.loc[worst < 0.6, "segment"].tolist()
        if shaky:
            notes.append(f"segments {shaky} have a Jaccard stability below 0.6 (Hennig: not stable).")
    return StabilityResult(metrics=metrics, segments=segments, notes=notes)
