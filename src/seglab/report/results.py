"""The numbers of one dataset's section: methods × metrics, ranks, wins/losses against the best
classical baseline (definitions in ``seglab.report.table``), and the same cells as CSV rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.evaluate.registry import MetricSpec
from seglab.report import document as doc
from seglab.report.runs import METRIC, PARAM
from seglab.report.stats import rank_values
from seglab.report.table import (
    Method,
    best_classical,
    compare_to_classical,
    decimals_for,
    format_cell,
    info_metrics,
)


@dataclass
class DatasetResults:
    """``blocks`` for the report; ``summary_rows`` for ``summary.csv`` (one per method and metric);
    ``wins``: deep method label -> {"win", "tie", "loss"} counts on this dataset."""

    blocks: list = field(default_factory=list)
    summary_rows: list[dict] = field(default_factory=list)
    wins: dict[str, dict[str, int]] = field(default_factory=dict)


def _kind(method: Method) -> str:
    return "deep" if method.is_deep else "classical"


def dataset_results(dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> DatasetResults:
    """Heading, facts, the methods × metrics table, ranks and wins/losses of one dataset."""
    out = DatasetResults()
    B = out.blocks
    finished = pd.concat([m.runs for m in methods])
    n_cust = finished.get(METRIC + "data/n_customers")
    ks = sorted(finished.get(PARAM + "n_clusters", pd.Series(dtype=object)).dropna().unique(), key=str)
    facts = [f"{len(finished)} finished runs", f"{len(methods)} methods"]
    if n_cust is not None and n_cust.notna().any():
        facts.append("customers: " + ", ".join(f"{int(v):,}" for v in sorted(n_cust.dropna().unique())))
    if ks:
        facts.append("k: " + ", ".join(map(str, ks)))
    B.append(doc.Heading(2, f"Dataset `{dataset}`"))
    B.append(doc.Para("; ".join(facts) + "."))

    extras = [s for s in info_metrics() if METRIC + s.key in finished]
    decimals = {s.key: decimals_for(methods, s) for s in metrics + extras}
    ref_k = reference_k(methods)
    rank_of = {s.key: metric_ranks(methods, s, ref_k) for s in metrics}
    header = ["Method", "kind", "n", "seeds"] + [f"{s.label} {s.arrow}".rstrip() for s in metrics]
    header += [s.label for s in extras]
    rows = []
    for m in methods:
        row = [m.label, _kind(m), str(m.n_runs), ",".join(m.seeds) or "–"]
        for s in metrics:
            cell = format_cell(m.stats[s.key], m.n_runs, decimals[s.key], m.ci.get(s.key))
            row.append(f"**{cell}**" if rank_of[s.key].get(m.label) == 1 else cell)
        row += [format_cell(m.stats[s.key], m.n_runs, decimals[s.key]) for s in extras]
        rows.append(row)
        for s in metrics + extras:
            mean, std, n = m.stats[s.key]
            half = m.ci.get(s.key, float("nan"))
            out.summary_rows.append({"dataset": dataset, "method": m.label, "kind": _kind(m), "n_runs": m.n_runs,
                                     "metric": s.key, "family": s.family, "mean": mean, "std": std, "n": n,
                                     "ci95_low": mean - half, "ci95_high": mean + half})
    B.append(doc.Heading(3, "Methods × metrics (mean ± 95% interval over seeds)"))
    B.append(doc.Table(header, rows))
    ref_note = (f" Internal criteria are bolded and ranked only among the methods at the reference k = {ref_k} "
                "(they are not comparable across k)." if ref_k is not None and len({m.k for m in methods}) > 1 else "")
    B.append(doc.Para("Each cell: mean ± the half-width of the two-sided 95% confidence interval from Student's t with "
                      "n − 1 degrees of freedom over the method's seeds (std and interval ends in `summary.csv`; "
                      "extra columns on the right: mean ± std). Bold: best mean in the column." + ref_note
                      + " Silhouette, Calinski-Harabasz and Davies-Bouldin are computed on the preprocessed features, "
                      "the one space every method shares (deep models' latent-space values are in `runs.csv`, not "
                      "ranked: each latent space is different)."))
    B += _ranks_blocks(methods, metrics, rank_of)
    B += _wins_blocks(methods, metrics, decimals, out.wins)
    B += baseline_settings_blocks(methods)
    return out


#: Settings a classical baseline chose on its training data (``fit_report``), as the report names them.
CHOSEN_SETTINGS = {"fit/covariance_type": "covariance type (by BIC)", "fit/reg_covar": "reg_covar (by BIC)",
                   "fit/n_collapsed": "BIC candidates excluded as collapsed",
                   "fit/space_dim": "dimension of the space clustered", "fit/min_samples": "min_samples",
                   "fit/eps": "eps (k-distance knee)", "fit/min_cluster_size": "min_cluster_size",
                   "fit/n_clusters_found": "clusters found", "fit/noise_share": "noise share (own segment in metrics)"}


def _setting_text(key: str, values: pd.Series) -> str:
    from seglab.models.classical.mixture import COVARIANCE_TYPES

    v = values.dropna().astype(float)
    if key == "fit/covariance_type":
        names = v.map(lambda x: COVARIANCE_TYPES[int(x)] if 0 <= int(x) < len(COVARIANCE_TYPES) else str(x))
        return ", ".join(f"{name} ({count} of {len(v)} runs)" for name, count in names.value_counts().items())
    if key == "fit/noise_share":
        return f"{v.mean():.1%} (runs: {v.min():.1%} to {v.max():.1%})" if len(v) > 1 else f"{v.iloc[0]:.1%}"
    uniq = list(dict.fromkeys(f"{x:.3g}" for x in sorted(set(v.round(6)))))
    return ", ".join(uniq) if len(uniq) <= 5 else f"{v.min():.3g} to {v.max():.3g}"


def baseline_settings_blocks(methods: list[Method]) -> list:
    """What each classical baseline chose on its own training data (the configuration its
    literature recommends: GMM's covariance structure and reg_covar by BIC, DBSCAN's eps by the
    k-distance knee, min_samples from the dimension...) and, for the density models, the clusters
    and noise share that came out, so a reader can judge whether the baselines were set up fairly."""
    rows = []
    for m in methods:
        if m.is_deep:
            continue
        for key, label in CHOSEN_SETTINGS.items():
            col = METRIC + key
            if col in m.runs and m.runs[col].notna().any():
                rows.append([m.label, label, _setting_text(key, m.runs[col])])
    if not rows:
        return []
    return [doc.Heading(3, "Baseline settings chosen on the training data"),
            doc.Table(["Method", "setting", "chosen or found (over the method's runs)"], rows),
            doc.Para("Each baseline is configured the way its own literature recommends and records its choice in the "
                     "run (`fit/*` metrics): see `conf/model/gmm.yaml`, `dbscan.yaml`, `hdbscan.yaml` (DBSCAN and "
                     "HDBSCAN cluster a UMAP embedding of the features, min_samples = 2 × its dimension). A run whose "
                     "clustering collapsed to one segment failed and records nothing here.")]


def reference_k(methods: list[Method]) -> str | None:
    """The k internal criteria are compared at: the deep methods' k when they share one, else the
    most common k among the methods."""
    deep = {m.k for m in methods if m.is_deep and m.k is not None}
    if len(deep) == 1:
        return next(iter(deep))
    ks = pd.Series([m.k for m in methods if m.k is not None], dtype=object)
    return str(ks.mode().iloc[0]) if len(ks) else None


def metric_ranks(methods: list[Method], spec: MetricSpec, ref_k: str | None) -> dict[str, float]:
    """Method label -> rank on one metric (1 = best, ties share the average rank); internal
    criteria only among the methods at ``ref_k``."""
    pool = methods
    if spec.family == "internal" and ref_k is not None:
        pool = [m for m in methods if m.k in (ref_k, None)]
    return rank_values({m.label: m.stats[spec.key][0] for m in pool}, bool(spec.higher_is_better))


def _ranks_blocks(methods: list[Method], metrics: list[MetricSpec], rank_of: dict[str, dict[str, float]]) -> list:
    families = list(dict.fromkeys(s.family for s in metrics))
    rank_rows = []
    for m in methods:
        rs = [rank_of[s.key].get(m.label) for s in metrics]
        cells = [f"{r:g}" if r is not None else "–" for r in rs]
        for fam in families:
            fam_ranks = [rank_of[s.key].get(m.label) for s in metrics if s.family == fam]
            valid = [r for r in fam_ranks if r is not None]
            cells.append(f"{np.mean(valid):.2f}" if len(valid) == len(fam_ranks) else "–")
        rank_rows.append([m.label] + cells)
    first = len(metrics) + 1  # sort by the first family's mean rank
    rank_rows.sort(key=lambda r: float(r[first]) if r[first] != "–" else np.inf)
    return [doc.Heading(3, "Ranks, per metric family"),
            doc.Table(["Method"] + [s.label for s in metrics] + [f"mean rank: {f}" for f in families], rank_rows),
            doc.Para("A mean rank is taken within one family of the metric registry only (never across families); "
                     "a method without every metric of a family, or not at the reference k for internal criteria, "
                     "has none.")]


def _wins_blocks(methods: list[Method], metrics: list[MetricSpec], decimals: dict[str, int],
                 wins: dict[str, dict[str, int]]) -> list:
    deep = [m for m in methods if m.is_deep]
    classical = [m for m in methods if not m.is_deep]
    blocks: list = [doc.Heading(3, "Deep methods against the best classical baseline")]
    if not (deep and classical):
        blocks.append(doc.Para("Not applicable: this dataset has " + ("no classical" if deep else "no deep")
                               + " method."))
        return blocks
    ks = {m.k for m in deep}
    one_k = len(ks) == 1
    baselines = [best_classical(methods, s, next(iter(ks)) if one_k else None) for s in metrics]
    rows = []
    for m in deep:
        outcomes = [compare_to_classical(m, methods, s) for s in metrics]
        cells = []
        for o, s in zip(outcomes, metrics, strict=True):
            if o.result == "n/a":
                cells.append("n/a")
                continue
            p = f", p={o.p_value:.3f}" if np.isfinite(o.p_value) else ""
            cells.append(f"{o.result} ({o.delta:+.{decimals[s.key]}f}{p}" + ("" if one_k else f" vs {o.baseline}") + ")")
        counts = {r: sum(o.result == r for o in outcomes) for r in ("win", "tie", "loss", "n too small")}
        rows.append([m.label] + cells + [f"{counts['win']}/{counts['tie']}/{counts['loss']}"])
        wins[m.label] = counts
    header = ["Deep method"] + [f"{s.label} vs {b.label if b else '–'}" if one_k else s.label
                                for s, b in zip(metrics, baselines, strict=True)] + ["W/T/L"]
    blocks.append(doc.Table(header, rows))
    blocks.append(doc.Para("Per metric the baseline is the classical method with the best mean on this dataset "
                           "among those with the deep method's k; the signed number is deep mean − baseline mean. "
                           "Win/loss: Welch's t-test on the two methods' seeds, p < 0.05; tie: no significant "
                           "difference; \"n too small\": fewer than 5 seeds on a side, no claim. These are claims about "
                           "this dataset across seeds only; across datasets see the critical-difference section."))
    return blocks
