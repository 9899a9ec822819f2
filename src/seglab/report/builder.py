"""Assemble a comparison report: definitions, one section per dataset (numbers, figures,
forecasts, commands), wins/losses across datasets, and the runs left out."""

from __future__ import annotations

import pandas as pd

from seglab.report import document as doc
from seglab.report import table
from seglab.report.commands import reproduce_blocks, run_command
from seglab.report.cross import cross_dataset_blocks
from seglab.report.figures import DatasetFigures
from seglab.report.forecast import forecast_blocks
from seglab.report.results import dataset_results
from seglab.report.runs import FAILED_STATUSES, RunFiles
from seglab.report.table import (
    available_metrics,
    build_methods,
    info_metrics,
    ranked_metrics,
    short_model_name,
)


class ReportBuilder:
    """Build the blocks of one report from ``runs`` (``seglab.report.runs.load_runs``); after
    ``build``, ``summary_rows`` (``summary.csv``) and ``method_of_run`` (``runs.csv``) are filled."""

    def __init__(self, tracking_uri: str | list[str] | None, runs: pd.DataFrame, *, embedding: bool = True,
                 projections: tuple[str, ...] = ("pca", "tsne", "umap"), max_points: int = 2000,
                 seed: int = 0, interactive=None) -> None:
        self.runs = runs
        self.files = RunFiles(tracking_uri)
        self.figures = DatasetFigures(self.files, embedding=embedding, projections=projections,
                                      max_points=max_points, seed=seed, interactive=interactive)
        self.summary_rows: list[dict] = []
        self.method_of_run: dict[str, str] = {}
        self.wins: dict[str, dict[str, dict[str, int]]] = {}

    def build(self, header: list) -> list:
        runs = self.runs
        finished = runs[runs["status"] == "FINISHED"]
        blocks = list(header)
        blocks.append(doc.Details("Definitions: methods, mean ± std, ranks, wins/losses",
                                  [doc.Code(table.__doc__.strip().split("\n\n", 1)[1])]))
        specs = ranked_metrics() + info_metrics()
        failed = runs[runs["status"].isin(FAILED_STATUSES)]  # each counts in its method's n
        all_methods = build_methods(finished, specs, failed) if not finished.empty else []
        datasets = sorted({m.dataset for m in all_methods})
        for dataset in datasets:
            methods = [m for m in all_methods if m.dataset == dataset]
            blocks += self.dataset_section(dataset, methods)
        blocks += cross_dataset_blocks(all_methods, ranked_metrics())
        if len(datasets) > 1 and self.wins:
            rows = [[label] + [(f"{c['win']}/{c['tie']}/{c['loss']}" if (c := per.get(d)) else "–") for d in datasets]
                    for label, per in self.wins.items()]
            blocks.append(doc.Heading(3, "Wins/ties/losses against the best classical baseline, per dataset "
                                         "(Welch's t-test over seeds; each dataset on its own)"))
            blocks.append(doc.Table(["Deep method"] + [f"`{d}`" for d in datasets], rows))
        not_ok = runs[runs["status"] != "FINISHED"]
        if len(not_ok):
            blocks.append(doc.Heading(2, "Runs left out (failed or unfinished)"))
            blocks.append(doc.Para("These runs are in the store but in no mean or figure; a failed run "
                                   "whose config matches a method above is counted in that method's n."))
            rows = [[str(r["status"]), str(r["dataset"]), short_model_name(str(r["model"])),
                     run_command(r, self.files), str(r["run_id"])] for _, r in not_ok.iterrows()]
            blocks.append(doc.Table(["status", "dataset", "model", "command", "MLflow run"], rows, css_class="commands"))
        if finished.empty:
            blocks.append(doc.Para("**No finished runs matched the filters.**"))
        return blocks

    def dataset_section(self, dataset: str, methods: list) -> list:
        metrics = available_metrics(pd.concat([m.runs for m in methods]))
        results = dataset_results(dataset, methods, metrics)
        self.summary_rows += results.summary_rows
        for label, counts in results.wins.items():
            self.wins.setdefault(label, {})[dataset] = counts
        blocks = results.blocks
        blocks += self.figures.sweeps(dataset, methods, metrics)
        blocks += self.figures.representative_runs(dataset, methods, metrics)
        blocks += forecast_blocks(methods)
        blocks += reproduce_blocks(methods, self.files, self.method_of_run)
        return blocks
