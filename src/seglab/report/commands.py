"""The command behind every run of a report: ``python train.py`` with the run's own overrides.

A run's overrides come from Hydra's ``.hydra/overrides.yaml`` in its run dir (exact), else from
the ``seglab.overrides`` tag Hydra's comma-joined list was stored in; the multirun command that
launched a sweep is the ``seglab.command`` tag.
"""

from __future__ import annotations

import shlex

import pandas as pd

from seglab.report import document as doc
from seglab.report.runs import PARAM, TAG, RunFiles
from seglab.report.table import Method, available_metrics, primary_metric, ranked_metrics, representative_run

ENTRY = "python train.py"


def split_overrides(text: str) -> list[str]:
    """Split Hydra's comma-joined override list (tag ``seglab.overrides``) at top-level commas
    only, so ``model.hidden=[500,500],seed=1`` gives two overrides."""
    if not text or text == "(defaults)":
        return []
    out, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return [o for o in out if o]


def run_overrides(run: pd.Series, files: RunFiles) -> list[str] | None:
    """The run's own overrides: Hydra's ``.hydra/overrides.yaml`` in its run dir (exact), else
    the ``seglab.overrides`` tag; None for a run not started through Hydra."""
    path = files.path(run, ".hydra/overrides.yaml")
    if path is not None:
        try:
            import yaml

            loaded = yaml.safe_load(path.read_text())
            if isinstance(loaded, list):
                return [str(o) for o in loaded]
        except Exception:
            pass
    tag = run.get(TAG + "seglab.overrides")
    return split_overrides(tag) if isinstance(tag, str) else None


def run_command(run: pd.Series, files: RunFiles) -> str:
    overrides = run_overrides(run, files)
    if overrides is None:
        return "(not started from train.py: see its config)"
    return " ".join([ENTRY, *(shlex.quote(o) for o in overrides)])


def sweep_commands(runs: pd.DataFrame) -> list[str]:
    """The multirun commands (``-m``) that launched these runs."""
    col = TAG + "seglab.command"
    if col not in runs:
        return []
    out = []
    for cmd in runs[col].dropna().unique():
        argv = str(cmd).split()
        if "-m" in argv or "--multirun" in argv:
            out.append("python " + str(cmd))
    return sorted(out)


def reproduce_blocks(methods: list[Method], files: RunFiles, method_of_run: dict[str, str]) -> list:
    """The "Reproduce every row" section of a dataset: per method its launching sweeps, one
    command per run, the resolved config of its representative run. Fills ``method_of_run``."""
    blocks: list = [
        doc.Heading(3, "Reproduce every row"),
        doc.Para("Each run is `python train.py` with its own overrides (from the run's "
                 "`.hydra/overrides.yaml`, else its `seglab.overrides` tag). The resolved config of "
                 "each method's representative run follows; its runs differ only in the seed."),
    ]
    for m in methods:
        inner: list = []
        sweeps = sweep_commands(m.runs)
        if sweeps:
            inner.append(doc.Para("Launched by: " + "; ".join(f"`{c}`" for c in sweeps)))
        rows = []
        for _, run in m.runs.sort_values(PARAM + "seed" if PARAM + "seed" in m.runs else "start_time").iterrows():
            method_of_run[run["run_id"]] = m.label
            rows.append([str(run.get(PARAM + "seed", "?")), run_command(run, files), str(run["run_id"])])
        inner.append(doc.Table(["seed", "command", "MLflow run"], rows, css_class="commands"))
        logged = available_metrics(m.runs)
        run = representative_run(m, primary_metric(logged) if logged else ranked_metrics()[0])
        cfg = files.path(run, "config.yaml")
        text = cfg.read_text() if cfg is not None else "\n".join(
            f"{c[len(PARAM):]}: {run[c]}" for c in m.runs.columns if c.startswith(PARAM) and pd.notna(run[c]))
        inner.append(doc.Details(f"resolved config of run {run['run_id']}", [doc.Code(text, "yaml")]))
        blocks.append(doc.Details(f"{m.label}: {m.n_runs} runs", inner))
    return blocks
