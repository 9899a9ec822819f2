"""The statistics a report states, each with the test or interval it rests on.

- ``t_interval``: the mean's two-sided 95% confidence interval from Student's t with n - 1
  degrees of freedom (seeds are the replicates; fewer than 2 finished runs: no interval).
- ``welch``: Welch's two-sample t-test between two methods' seeds on one dataset: a claim about
  this dataset and this seed-to-seed variation, never about datasets in general.
- ``family_ranks``: ranks per metric within one family of the metric registry (internal,
  external...), averaged only inside the family: internal criteria and agreement with the truth
  measure different things and are never averaged together.
- ``critical_difference``: the Friedman test over datasets followed by the Nemenyi post-hoc test
  (Demšar 2006, through ``scikit-posthocs``), on each method's mean per dataset; datasets are the
  replicates, never the seeds of one dataset. Below ``MIN_DATASETS`` datasets it makes no claim
  and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Seeds below which a per-dataset comparison makes no win/loss claim.
MIN_SEEDS = 5
#: Datasets below which the Friedman/Nemenyi comparison is not run (Demšar 2006 uses 10 or more).
MIN_DATASETS = 5
ALPHA = 0.05


def t_interval(values, level: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width of the t-based ``level`` interval, n) of the finite ``values``;
    the half-width is NaN below two values."""
    from scipy import stats

    v = pd.to_numeric(pd.Series(values), errors="coerce").astype(float).to_numpy()
    v = v[np.isfinite(v)]
    n = len(v)
    mean = float(v.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, half, n


@dataclass
class Comparison:
    result: str  # "better", "worse", "no significant difference", "too few seeds"
    p_value: float
    n: tuple[int, int]

    def words(self) -> str:
        if self.result == "too few seeds":
            return f"too few seeds to tell (n = {self.n[0]}, {self.n[1]}; {MIN_SEEDS} needed)"
        if self.result == "no significant difference":
            return f"no significant difference (Welch p = {self.p_value:.2f})"
        return f"{self.result} (Welch p = {self.p_value:.3f})"


def welch(a, b, higher_is_better: bool, min_seeds: int = MIN_SEEDS, alpha: float = ALPHA) -> Comparison:
    """Whether ``a``'s seeds are better than ``b``'s on one dataset (two-sided Welch t-test)."""
    from scipy import stats

    a = np.asarray([x for x in a if np.isfinite(x)], dtype=float)
    b = np.asarray([x for x in b if np.isfinite(x)], dtype=float)
    if min(len(a), len(b)) < min_seeds:
        return Comparison("too few seeds", float("nan"), (len(a), len(b)))
    if np.ptp(np.concatenate([a, b])) == 0:
        return Comparison("no significant difference", 1.0, (len(a), len(b)))
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    if not np.isfinite(p) or p >= alpha:
        return Comparison("no significant difference", p if np.isfinite(p) else 1.0, (len(a), len(b)))
    gain = a.mean() - b.mean() if higher_is_better else b.mean() - a.mean()
    return Comparison("better" if gain > 0 else "worse", p, (len(a), len(b)))


def rank_values(means: dict[str, float], higher_is_better: bool) -> dict[str, float]:
    """Label -> rank (1 = best; ties share the average rank, as Friedman's test needs)."""
    finite = {k: v for k, v in means.items() if np.isfinite(v)}
    if not finite:
        return {}
    s = pd.Series(finite)
    return s.rank(ascending=not higher_is_better, method="average").to_dict()


def family_ranks(table: pd.DataFrame, specs) -> pd.DataFrame:
    """Ranks of the methods (rows of ``table``: method x metric key of means) per metric, and each
    family's mean rank (column ``mean rank: <family>``) over that family's metrics only."""
    out = pd.DataFrame(index=table.index)
    for spec in specs:
        if spec.key in table:
            out[spec.key] = pd.Series(rank_values(table[spec.key].to_dict(), bool(spec.higher_is_better)))
    for family in dict.fromkeys(s.family for s in specs):
        keys = [s.key for s in specs if s.family == family and s.key in out]
        if keys:
            out[f"mean rank: {family}"] = out[keys].mean(axis=1, skipna=True)
    return out


@dataclass
class CriticalDifference:
    """Friedman + Nemenyi over datasets for one metric; ``claim`` is what the report may say."""

    metric: str
    n_datasets: int
    methods: list[str]
    mean_ranks: dict[str, float]
    friedman_p: float
    nemenyi: pd.DataFrame | None  # pairwise p-values
    claim: str


def critical_difference(means: pd.DataFrame, metric: str, higher_is_better: bool,
                        min_datasets: int = MIN_DATASETS, alpha: float = ALPHA) -> CriticalDifference:
    """``means``: datasets (rows) x methods (columns) of one metric, methods present on every
    dataset only (rows with gaps are dropped). Runs Friedman's test and, when it rejects, the
    Nemenyi test; below ``min_datasets`` datasets or three methods it runs nothing and says why."""
    data = means.dropna(axis=0, how="any")
    methods = list(data.columns)
    ranks = data.apply(lambda row: pd.Series(rank_values(row.to_dict(), higher_is_better)), axis=1)
    mean_ranks = ranks.mean(axis=0).to_dict() if len(data) else {}
    n = len(data)
    if n < min_datasets or len(methods) < 3:
        claim = (f"{n} dataset(s) with every method and {len(methods)} methods: a critical-difference test needs at "
                 f"least {min_datasets} datasets and 3 methods, so no method is claimed better than another across "
                 "datasets (differences on one dataset are that dataset's, across seeds).")
        return CriticalDifference(metric, n, methods, mean_ranks, float("nan"), None, claim)
    try:
        import scikit_posthocs as sp
    except ImportError as err:
        from seglab.errors import SeglabError

        raise SeglabError('the Nemenyi test needs the report extra: pip install "seglab[report]"') from err
    from scipy import stats

    values = data.to_numpy(dtype=float) * (1 if higher_is_better else -1)
    p = float(stats.friedmanchisquare(*values.T).pvalue)
    if not np.isfinite(p) or p >= alpha:
        return CriticalDifference(metric, n, methods, mean_ranks, p, None,
                                  f"Friedman test over {n} datasets: p = {p:.3f}; the methods' ranks do not differ "
                                  f"significantly (alpha {alpha}), so no method is claimed better.")
    nemenyi = sp.posthoc_nemenyi_friedman(pd.DataFrame(values, columns=methods))
    pairs = [f"{a} vs {b} (p = {nemenyi.loc[a, b]:.3f})" for i, a in enumerate(methods) for b in methods[i + 1:]
             if nemenyi.loc[a, b] < alpha]
    claim = (f"Friedman test over {n} datasets: p = {p:.3g}. Nemenyi: "
             + ("; ".join(pairs) if pairs else "no pair differs significantly") + f" (alpha {alpha}).")
    return CriticalDifference(metric, n, methods, mean_ranks, p, nemenyi, claim)
