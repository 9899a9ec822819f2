"""The report's tables as CSV: ``summary.csv`` (every table cell as numbers) and ``runs.csv``
(every selected run with its method, metrics, command and run dir)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seglab.report.commands import run_command
from seglab.report.runs import METRIC, PARAM, TAG, RunFiles

RUN_METRIC_STAGES = ("eval/", "time/")


def write_summary_csv(rows: list[dict], path: Path) -> None:
    """One row per dataset, method and metric: kind, n_runs, metric, mean, std, n."""
    pd.DataFrame(rows).to_csv(path, index=False)


def write_runs_csv(runs: pd.DataFrame, method_of_run: dict[str, str], files: RunFiles, path: Path) -> None:
    """Every run (finished or not): ids, status, dataset, method, model, seed, k, every ``eval/``
    and ``time/`` metric, the command that reproduces it, its run dir."""
    cols = ["run_id", "experiment", "status", "dataset", "model"]
    cols += [c for c in runs.columns if c.startswith(PARAM) and c[len(PARAM):] in ("seed", "n_clusters")]
    cols += sorted(c for c in runs.columns if c.startswith(tuple(METRIC + s for s in RUN_METRIC_STAGES)))
    table = runs[cols].copy()
    table.insert(4, "method", table["run_id"].map(method_of_run))
    table["command"] = [run_command(r, files) for _, r in runs.iterrows()]
    table["run_dir"] = runs.get(TAG + "seglab.run_dir")
    table.to_csv(path, index=False)
