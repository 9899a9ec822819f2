"""Stability of a segmentation: across seeds, bootstrap resamples and time.

Across seeds and resamples (``clustering_stability``)
    Refit the model with other seeds, and on bootstrap resamples of the customers (drawn with
    replacement, seeded), predict every customer with each refit, and compare:

    - ``stability/seed_ari_mean`` / ``stability/bootstrap_ari_mean``: mean pairwise adjusted
      Rand index between the refits' assignments of all customers (1 = identical partitions,
      ~0 = unrelated);
    - ``stability/*_ari_vs_reference``: mean ARI of each refit against the run's own labels;
    - per-segment Jaccard (Hennig 2007, computed on all customers through ``predict``): for
      each segment of the reference labelling, the best Jaccard overlap
      ``|A ∩ B| / |A ∪ B|`` with any segment of a refit, averaged over refits. Hennig's reading:
      below 0.6 the segment is not stable, 0.75-0.85 fairly stable, above 0.85 highly stable.

    Noise (-1) counts as one label in ARI and is never a segment in the Jaccard table.

Over time (``temporal_transitions``)
    For transaction data: build the features as of an earlier cut-off date (transactions after
    it removed, ``cutoff_data``) and as of the data's end, assign customers at both with the
    *same* fitted preprocessor and model, and report the transition matrix between segments
    (rows: segment at the cut-off, columns: segment at the end) and the share of customers
    present at both dates whose segment changed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError


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
    make_model: Callable[[int], Any],
    X: np.ndarray,
    reference: np.ndarray,
    *,
    seeds: Sequence[int] = (1, 2, 3),
    n_bootstrap: int = 5,
    random_state: int = 0,
) -> StabilityResult:
    """Seed and bootstrap stability of a clustering.

    Args:
        make_model: ``seed -> unfitted model`` (same configuration, that seed); the model
            must have ``fit`` and ``predict``.
        X: the preprocessed matrix the reference was fitted on.
        reference: the run's labels (compared with every refit).
        seeds: seeds of the refits on all of ``X``; empty = skip.
        n_bootstrap: refits on bootstrap resamples (seed ``random_state + b``); 0 = skip.
        random_state: seeds the resamples.
    """
    X = np.asarray(X)
    reference = np.asarray(reference, dtype=int)
    if len(reference) != len(X):
        raise ValueError(f"reference has {len(reference)} labels for {len(X)} rows")
    metrics: dict[str, float] = {}
    notes: list[str] = []
    values, counts = np.unique(reference[reference >= 0], return_counts=True)
    segments = pd.DataFrame({"segment": values.astype(int), "size": counts.astype(int)})

    seed_runs = [np.asarray(make_model(int(s)).fit(X).predict(X), dtype=int) for s in seeds]
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
        boot_runs.append(np.asarray(make_model(int(random_state + b)).fit(X[idx]).predict(X), dtype=int))
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


# --- over time -----------------------------------------------------------------------------
def cutoff_data(data: CustomerData, cutoff: str | pd.Timestamp) -> CustomerData:
    """``data`` as it was at ``cutoff``: transactions and reviews after it removed, only
    customers with a transaction on or before it kept, and recency measured from it."""
    if data.transactions is None or not len(data.transactions):
        raise ConfigError(f"dataset {data.name!r} has no transactions: stability over time needs them")
    cutoff = pd.Timestamp(cutoff)
    tx = data.transactions[data.transactions["timestamp"] <= cutoff]
    if not len(tx):
        raise ConfigError(f"no transaction on or before the cut-off {cutoff.date()} in dataset {data.name!r}")
    present = data.customers["customer_id"].isin(tx["customer_id"].unique())
    reviews = data.reviews
    if reviews is not None:
        reviews = reviews[reviews["timestamp"].isna() | (reviews["timestamp"] <= cutoff)]
    truth = None if data.truth is None else data.truth[present.to_numpy()]
    return replace(
        data,
        customers=data.customers[present].reset_index(drop=True),
        transactions=tx.reset_index(drop=True),
        reviews=reviews,
        truth=None if truth is None else truth.reset_index(drop=True),
        reference_date=cutoff,
        meta={**data.meta, "cutoff": str(cutoff)},
    )


@dataclass
class TemporalResult:
    """``counts`` / ``rates`` (row-normalised) transition matrices indexed by the segment at
    the cut-off (rows) and at the end (columns), ``share_moved``, ``n_customers`` (present
    at both dates), ``notes``."""

    counts: pd.DataFrame
    rates: pd.DataFrame
    share_moved: float
    n_customers: int
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {
            "stability/time_share_moved": self.share_moved,
            "stability/time_n_customers": float(self.n_customers),
        }


def transition_matrix(labels_from: np.ndarray, labels_to: np.ndarray) -> tuple[pd.DataFrame, float]:
    """Counts of customers per (segment before, segment after) and the share that changed."""
    a = pd.Series(np.asarray(labels_from, dtype=int), name="from")
    b = pd.Series(np.asarray(labels_to, dtype=int), name="to")
    counts = pd.crosstab(a, b)
    segs = sorted(set(counts.index) | set(counts.columns))
    counts = counts.reindex(index=segs, columns=segs, fill_value=0)
    counts.index.name, counts.columns.name = "from", "to"
    moved = float((a.to_numpy() != b.to_numpy()).mean()) if len(a) else float("nan")
    return counts, moved


def _align_columns(
    frame: pd.DataFrame, columns: list[str], fallback: pd.DataFrame, notes: list[str]
) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    out = frame.reindex(columns=columns)
    if missing:
        filled_from_end = [c for c in missing if c in fallback.columns]
        for c in filled_from_end:
            out[c] = fallback[c].reindex(out.index)
        zero = [c for c in missing if c not in fallback.columns]
        if filled_from_end:
            notes.append(f"features absent at the cut-off taken from the end date: {filled_from_end}.")
        if zero:
            out[zero] = 0.0
            notes.append(f"features absent at both dates set to 0: {zero}.")
    return out


def temporal_transitions(
    model: Any,
    preprocessor: Any,
    features_start: pd.DataFrame,
    features_end: pd.DataFrame,
) -> TemporalResult:
    """Assign the customers of both feature frames (indexed by customer_id) with the same
    fitted ``preprocessor`` (``transform``, ``feature_names_in_``) and ``model``
    (``predict``) and compare the segments of the customers present in both.

    Columns the preprocessor expects but the cut-off frame lacks (a category that had not
    appeared yet, text features) are taken from the end frame, else 0; a note says which.
    """
    notes: list[str] = []
    common = features_start.index.intersection(features_end.index)
    if not len(common):
        raise ConfigError("no customer is present at both dates")
    cols = list(getattr(preprocessor, "feature_names_in_", features_end.columns))
    start = _align_columns(features_start.loc[common], cols, features_end.loc[common], notes)
    end = features_end.loc[common].reindex(columns=cols)
    lab0 = np.asarray(model.predict(preprocessor.transform(start)), dtype=int)
    lab1 = np.asarray(model.predict(preprocessor.transform(end)), dtype=int)
    counts, moved = transition_matrix(lab0, lab1)
    rates = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return TemporalResult(counts=counts, rates=rates, share_moved=moved, n_customers=len(common), notes=notes)


def temporal_stability(
    data: CustomerData,
    model: Any,
    preprocessor: Any,
    *,
    period_days: float = 180,
    build_kwargs: dict | None = None,
    features_end: pd.DataFrame | None = None,
) -> TemporalResult:
    """Transitions between the cut-off ``as_of - period_days`` and the data's end.

    ``build_kwargs`` are ``cfg.features.build``; ``features_end`` (the run's features frame)
    avoids rebuilding them for the end date.
    """
    from seglab.features import build_features

    build_kwargs = dict(build_kwargs or {})
    cutoff = data.as_of() - pd.Timedelta(days=float(period_days))
    start = build_features(cutoff_data(data, cutoff), **build_kwargs)
    end = features_end if features_end is not None else build_features(data, **build_kwargs)
    result = temporal_transitions(model, preprocessor, start, end)
    result.notes.insert(0, f"cut-off {cutoff.date()} ({period_days:g} days before {data.as_of().date()}).")
    return result


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
        _plot_transitions(temporal, run_dir / "transitions.png")
    summary["metrics"] = {k: (None if np.isnan(v) else v) for k, v in metrics.items()}
    (run_dir / "stability.json").write_text(json.dumps(summary, indent=2, default=float))
    return metrics


def _plot_transitions(temporal: TemporalResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = temporal.rates
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(rates.columns), 1.0 + 0.6 * len(rates.index)))
    im = ax.imshow(rates.to_numpy(), vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(rates.columns)), [str(c) for c in rates.columns])
    ax.set_yticks(range(len(rates.index)), [str(c) for c in rates.index])
    for i in range(rates.shape[0]):
        for j in range(rates.shape[1]):
            v = rates.iat[i, j]
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", color="white" if v > 0.6 else "black", fontsize=8
            )
    ax.set_xlabel("segment at end")
    ax.set_ylabel("segment at cut-off")
    ax.set_title(f"moved: {temporal.share_moved:.1%} of {temporal.n_customers}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
