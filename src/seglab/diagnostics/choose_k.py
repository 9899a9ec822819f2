"""Choosing the number of segments: every usual criterion over a range of k, one rule to pick.

``choose_k(X, k_min=2, k_max=10, rule="silhouette")`` clusters the preprocessed features with
k-means for every k in the range (and fits a Gaussian mixture for BIC) and returns a
``KSelection``: a table of every criterion against k, the k each criterion picks, and the k
the rule chose. ``write_k_selection`` writes ``k_selection.csv``, ``k_selection.json`` and
``k_selection.png`` (``seglab.plots.k_selection``: one panel per criterion) to a run dir.

Criteria and what each picks:

- ``elbow``: k-means inertia; the knee of the decreasing convex curve (``kneed``); falls back
  to the smallest k when no knee is found (say so in ``notes``).
- ``silhouette``: the k with the highest (seeded-sample) silhouette.
- ``calinski_harabasz``: the highest Calinski-Harabasz index.
- ``davies_bouldin``: the lowest Davies-Bouldin index.
- ``gap``: Tibshirani et al. (2001): ``Gap(k) = E*[log W_k] - log W_k`` with ``W_k`` the
  k-means inertia and the expectation over ``gap_references`` uniform reference sets drawn in
  the bounding box of the data; the smallest k with ``Gap(k) >= Gap(k+1) - s(k+1)``
  (``s = sd * sqrt(1 + 1/B)``), else the k with the largest gap.
- ``bic``: a Gaussian mixture per k (``gmm_covariance_type``); the lowest BIC.

Rules: any criterion name, or ``majority`` (the k most criteria pick; ties -> the smaller k).
The selection runs k-means for every model: it is a property of the features, cheap, and the
same for every model compared at that k. Above ``max_samples`` customers every criterion is
computed on one seeded sample.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.mixture import GaussianMixture

from seglab import plots
from seglab.errors import ConfigError

CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "bic")
RULES = (*CRITERIA, "majority")


@dataclass
class KSelection:
    """Result of ``choose_k``.

    Attributes:
        table: one row per k: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
            ``davies_bouldin``, ``gap``, ``gap_sk``, ``bic`` (columns of criteria not
            computed are absent).
        picks: the k each computed criterion picks (None when it cannot pick).
        rule: the rule used; k: the chosen k.
        notes: sentences about fallbacks (no knee found, NaN criteria...).
    """

    table: pd.DataFrame
    picks: dict[str, int | None]
    rule: str
    k: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "k": int(self.k),
            "rule": self.rule,
            "picks": {c: (None if v is None else int(v)) for c, v in self.picks.items()},
            "notes": list(self.notes),
            "table": [
                {c: (None if isinstance(v, float) and math.isnan(v) else v) for c, v in row.items()}
                for row in self.table.to_dict(orient="records")
            ],
        }


def _log_inertia_of_uniform(
    X: np.ndarray, k: int, refs: int, rng: np.random.RandomState, n_init: int
) -> np.ndarray:
    lo, hi = X.min(axis=0), X.max(axis=0)
    out = np.empty(refs)
    for b in range(refs):
        R = rng.uniform(lo, hi, size=X.shape)
        km = KMeans(n_clusters=k, n_init=n_init, random_state=int(rng.randint(0, 2**31 - 1))).fit(R)
        out[b] = np.log(max(km.inertia_, 1e-300))
    return out


def choose_k(
    X: np.ndarray,
    *,
    k_min: int = 2,
    k_max: int = 10,
    rule: str = "silhouette",
    criteria: tuple[str, ...] | list[str] = CRITERIA,
    n_init: int = 4,
    gap_references: int = 5,
    gmm_covariance_type: str = "diag",
    silhouette_sample_size: int = 5000,
    max_samples: int | None = 20000,
    random_state: int = 0,
) -> KSelection:
    """Evaluate every k in ``[k_min, k_max]`` with each criterion and pick one k by ``rule``.

    Args:
        X: the preprocessed feature matrix.
        k_min, k_max: the inclusive range (k_min >= 2; capped at n - 1).
        rule: a criterion name or ``majority``.
        criteria: which criteria to compute (the rule's criterion is always added).
        n_init: k-means restarts per k (and per gap reference set).
        gap_references: uniform reference sets per k for the gap statistic.
        gmm_covariance_type: covariance type of the BIC mixtures.
        silhouette_sample_size: silhouette on a seeded sample above this many points.
        max_samples: every criterion on one seeded sample above this many points (None = all).
        random_state: seeds k-means, the samples, the reference sets and the mixtures.
    """
    criteria = list(dict.fromkeys(criteria))
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown:
        raise ConfigError(f"choose_k.criteria: unknown {unknown}; known: {list(CRITERIA)}")
    if rule not in RULES:
        raise ConfigError(f"choose_k.rule must be one of {list(RULES)}, got {rule!r}")
    if rule != "majority" and rule not in criteria:
        criteria.append(rule)
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    rng_sample = np.random.RandomState(random_state)
    if max_samples is not None and n > max_samples:
        X = X[np.sort(rng_sample.choice(n, size=int(max_samples), replace=False))]
        n = len(X)
    k_min, k_max = int(k_min), min(int(k_max), n - 1)
    if k_min < 2 or k_max < k_min:
        raise ConfigError(
            f"choose_k needs 2 <= k_min <= k_max <= n - 1, got k_min={k_min}, k_max={k_max}, n={n}"
        )
    ks = list(range(k_min, k_max + 2 if "gap" in criteria and k_max + 1 <= n - 1 else k_max + 1))
    sil_idx = None
    if n > silhouette_sample_size:
        sil_idx = np.sort(
            np.random.RandomState(random_state + 1).choice(n, silhouette_sample_size, replace=False)
        )
    gap_rng = np.random.RandomState(random_state + 2)

    rows = []
    for k in ks:
        row: dict[str, float] = {"k": k}
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(X)
        labels = km.labels_
        row["inertia"] = float(km.inertia_)
        n_labels = np.unique(labels).size
        if k <= k_max:
            valid = 2 <= n_labels <= n - 1
            if "silhouette" in criteria:
                if valid:
                    Xs, ls = (X, labels) if sil_idx is None else (X[sil_idx], labels[sil_idx])
                    row["silhouette"] = (
                        float(silhouette_score(Xs, ls)) if 2 <= np.unique(ls).size <= len(ls) - 1 else np.nan
                    )
                else:
                    row["silhouette"] = np.nan
            if "calinski_harabasz" in criteria:
                row["calinski_harabasz"] = float(calinski_harabasz_score(X, labels)) if valid else np.nan
            if "davies_bouldin" in criteria:
                row["davies_bouldin"] = float(davies_bouldin_score(X, labels)) if valid else np.nan
            if "bic" in criteria:
                gmm = GaussianMixture(
                    n_components=k, covariance_type=gmm_covariance_type, n_init=1, random_state=random_state
                ).fit(X)
                row["bic"] = float(gmm.bic(X))
        if "gap" in criteria:
            ref = _log_inertia_of_uniform(X, k, int(gap_references), gap_rng, n_init=max(1, n_init // 2))
            row["gap"] = float(ref.mean() - np.log(max(km.inertia_, 1e-300)))
            row["gap_sk"] = float(ref.std(ddof=0) * math.sqrt(1 + 1 / int(gap_references)))
        rows.append(row)
    full = pd.DataFrame(rows)
    table = full[full["k"] <= k_max].reset_index(drop=True)

    notes: list[str] = []
    picks: dict[str, int | None] = {}
    for crit in criteria:
        picks[crit] = _pick(crit, table, full, notes)
    if rule == "majority":
        votes = Counter(v for v in picks.values() if v is not None)
        if not votes:
            raise ConfigError("choose_k: no criterion could pick a k")
        best = max(votes.values())
        k = min(v for v, c in votes.items() if c == best)
    else:
        k = picks[rule]
        if k is None:
            k = k_min
            notes.append(f"rule {rule!r} could not pick a k; using k_min={k_min}.")
    return KSelection(table=table, picks=picks, rule=rule, k=int(k), notes=notes)


def _pick(crit: str, table: pd.DataFrame, full: pd.DataFrame, notes: list[str]) -> int | None:
    ks = table["k"].to_numpy()
    if crit == "elbow":
        from kneed import KneeLocator

        if len(ks) < 3:
            notes.append("elbow: fewer than 3 values of k, no knee; picking the smallest k.")
            return int(ks[0])
        knee = KneeLocator(ks, table["inertia"].to_numpy(), curve="convex", direction="decreasing").knee
        if knee is None:
            notes.append("elbow: no knee found in the inertia curve; picking the smallest k.")
            return int(ks[0])
        return int(knee)
    if crit == "gap":
        gap, sk = full["gap"].to_numpy(), full["gap_sk"].to_numpy()
        fk = full["k"].to_numpy()
        for i in range(len(fk) - 1):
            if fk[i] in ks and gap[i] >= gap[i + 1] - sk[i + 1]:
                return int(fk[i])
        notes.append("gap: no k satisfies Gap(k) >= Gap(k+1) - s(k+1) in the range; picking the largest gap.")
        return int(table["k"].iloc[int(np.nanargmax(table["gap"].to_numpy()))])
    values = table[crit].to_numpy(dtype=float)
    if np.all(np.isnan(values)):
        notes.append(f"{crit}: undefined for every k.")
        return None
    best = np.nanargmin(values) if crit in ("davies_bouldin", "bic") else np.nanargmax(values)
    return int(ks[int(best)])


def write_k_selection(sel: KSelection, run_dir: str | Path, title: str | None = None) -> dict[str, float]:
    """Write ``k_selection.{csv,json,png}`` to ``run_dir``; return tracker metrics
    (``choose_k/k`` and ``choose_k/<criterion>_k`` for every criterion that picked)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    sel.table.to_csv(run_dir / "k_selection.csv", index=False)
    (run_dir / "k_selection.json").write_text(json.dumps(sel.to_dict(), indent=2))
    plots.save(plots.k_selection(sel, title=title), run_dir / "k_selection.png")
    metrics = {"choose_k/k": float(sel.k)}
    metrics.update({f"choose_k/{c}_k": float(v) for c, v in sel.picks.items() if v is not None})
    return metrics
