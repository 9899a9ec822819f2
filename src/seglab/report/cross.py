"""The cross-dataset section: which methods can be compared across datasets, their mean ranks
per metric family, and a critical-difference test (Friedman + Nemenyi over datasets,
``seglab.report.stats.critical_difference``) per ranked metric; in plain words when there are
too few datasets to claim anything."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.evaluate.registry import MetricSpec
from seglab.report import document as doc
from seglab.report.stats import MIN_DATASETS, critical_difference
from seglab.report.table import Method


def method_means(methods: list[Method], spec: MetricSpec) -> pd.DataFrame:
    """Datasets (rows) x method labels (columns) of the mean of ``spec``; NaN where absent."""
    frame = pd.DataFrame([{"dataset": m.dataset, "method": m.label, "mean": m.stats[spec.key][0]} for m in methods])
    if frame.empty:
        return pd.DataFrame()
    return frame.pivot_table(index="dataset", columns="method", values="mean", aggfunc="first")


def cross_dataset_blocks(methods: list[Method], metrics: list[MetricSpec]) -> list:
    datasets = sorted({m.dataset for m in methods})
    blocks: list = [doc.Heading(2, "Across datasets")]
    if len(datasets) < 2:
        blocks.append(doc.Para(
            f"This report holds one dataset (`{datasets[0] if datasets else '-'}`): nothing here is a claim about "
            "datasets in general. Comparisons above are across the seeds of this dataset only. A cross-dataset "
            "comparison (ranks per family, Friedman + Nemenyi over datasets) is made when a report covers "
            f"several datasets (compare.py with several --tracking-uri / --runs-dir), and claims a difference only "
            f"with at least {MIN_DATASETS} datasets."))
        return blocks
    rows, claims = [], []
    for spec in metrics:
        means = method_means(methods, spec)
        usable = means.dropna(axis=1, how="any")  # methods on every dataset that has this metric
        usable = usable.dropna(axis=0, how="all")
        if usable.shape[0] < 2 or usable.shape[1] < 2:
            continue
        cd = critical_difference(usable, spec.label, bool(spec.higher_is_better))
        best = min(cd.mean_ranks, key=cd.mean_ranks.get) if cd.mean_ranks else "–"
        rows.append([spec.label, spec.family, str(cd.n_datasets), str(len(cd.methods)),
                     f"{best} ({cd.mean_ranks.get(best, float('nan')):.2f})" if cd.mean_ranks else "–",
                     f"{cd.friedman_p:.3g}" if np.isfinite(cd.friedman_p) else "not run"])
        claims.append(f"{spec.label}: {cd.claim}")
    if not rows:
        blocks.append(doc.Para("No method was run on two or more datasets with the same metric: nothing to compare."))
        return blocks
    blocks.append(doc.Para(
        "Methods are matched by label across datasets; a metric is compared over the datasets that have it (internal "
        "criteria on every dataset, agreement with the truth only where there is one). Ranks are per dataset (1 = best, "
        "ties averaged), then averaged over datasets; families are never mixed."))
    blocks.append(doc.Table(["Metric", "family", "datasets", "methods", "best mean rank", "Friedman p"], rows,
                            caption="Cross-dataset ranks and Friedman test, per metric."))
    blocks.append(doc.Bullets(claims))
    return blocks
