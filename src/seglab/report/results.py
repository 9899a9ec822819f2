"""The numbers of one dataset's section: methods × metrics, ranks, wins/losses against the best
classical baseline (definitions in ``seglab.report.table``), and the same cells as CSV rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.evaluate.registry import MetricSpec
from seglab.report import document as doc
from seglab.report.runs import METRIC, PARAM
from seglab.report.table import (
    Method,
    best_classical,
    compare_to_classical,
    decimals_for,
    format_cell,
    info_metrics,
    ranks,
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
    rank_of = {s.key: ranks(methods, s) for s in metrics}
    header = ["Method", "kind", "n", "seeds"] + [f"{s.label} {s.arrow}".rstrip() for s in metrics]
    header += [s.label for s in extras]
    rows = []
    for m in methods:
        row = [m.label, _kind(m), str(m.n_runs), ",".join(m.seeds) or "–"]
        for s in metrics:
            cell = format_cell(m.stats[s.key], m.n_runs, decimals[s.key])
            row.append(f"**{cell}**" if rank_of[s.key].get(m.label) == 1 else cell)
        row += [format_cell(m.stats[s.key], m.n_runs, decimals[s.key]) for s in extras]
        rows.append(row)
        for s in metrics + extras:
            mean, std, n = m.stats[s.key]
            out.summary_rows.append({"dataset": dataset, "method": m.label, "kind": _kind(m), "n_runs": m.n_runs,
                                     "metric": s.key, "mean": mean, "std": std, "n": n})
    B.append(doc.Heading(3, "Methods × metrics (mean ± std over seeds)"))
    B.append(doc.Table(header, rows))
    B.append(doc.Para("Bold: best mean in the column. Silhouette, Calinski-Harabasz and Davies-Bouldin are "
                      "computed on the preprocessed features, the one space every method shares (deep models' "
                      "latent-space values are in `runs.csv`, not ranked: each latent space is different)."))
    B += _ranks_blocks(methods, metrics, rank_of)
    B += _wins_blocks(methods, metrics, decimals, out.wins)
    return out


def _ranks_blocks(methods: list[Method], metrics: list[MetricSpec], rank_of: dict[str, dict[str, int]]) -> list:
    rank_rows = []
    for m in methods:
        rs = [rank_of[s.key].get(m.label) for s in metrics]
        valid = [r for r in rs if r is not None]
        rank_rows.append([m.label] + [str(r) if r is not None else "–" for r in rs]
                         + [f"{np.mean(valid):.2f}" if valid else "–"])
    rank_rows.sort(key=lambda r: float(r[-1]) if r[-1] != "–" else np.inf)
    return [doc.Heading(3, "Ranks"), doc.Table(["Method"] + [s.label for s in metrics] + ["mean rank"], rank_rows)]


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
        cells = [(f"{o.result} ({o.delta:+.{decimals[s.key]}f}" + ("" if one_k else f" vs {o.baseline}") + ")")
                 if o.result != "n/a" else "n/a" for o, s in zip(outcomes, metrics, strict=True)]
        counts = {r: sum(o.result == r for o in outcomes) for r in ("win", "tie", "loss")}
        rows.append([m.label] + cells + [f"{counts['win']}/{counts['tie']}/{counts['loss']}"])
        wins[m.label] = counts
    header = ["Deep method"] + [f"{s.label} vs {b.label if b else '–'}" if one_k else s.label
                                for s, b in zip(metrics, baselines, strict=True)] + ["W/T/L"]
    blocks.append(doc.Table(header, rows))
    blocks.append(doc.Para("Per metric the baseline is the classical method with the best mean on this dataset "
                           "among those with the deep method's k; the signed number is deep mean − baseline mean. "
                           "Win/loss only when the gap exceeds the larger of the two seed stds; otherwise tie."))
    return blocks
