"""Comparison report from the tracking store or from run dirs: ``make_report`` and the ``compare.py`` CLI.

    python scripts/compare.py --tracking-uri sqlite:////abs/logs/mlflow.db \\
        [--experiment seglab-synthetic ...] [--sweep-id ID ...] [--tag key=value ...] \\
        --out experiments/report_synthetic
    python scripts/compare.py --runs-dir logs/multiruns/2026-12-01 --out /tmp/report   # logger=none sweeps

``--tracking-uri`` and ``--runs-dir`` may each be repeated: a report over several stores is the
cross-dataset report (ranks per metric family, a critical-difference test across datasets).

writes into ``--out``:

- ``report.md`` (figures in ``figures/``) and ``report.html`` (self-contained: figures as base64
  PNG, no scripts, nothing fetched),
- ``summary.csv``: every table cell as numbers (dataset, method, kind, n_runs, metric, mean, std, n),
- ``runs.csv``: every selected run (status, seed, method, metrics, command, run dir).

What the numbers mean is defined in ``seglab.report.table`` and repeated in the report; which
metrics appear, in what order and which way is better, in the metric registry
(``seglab.evaluate.registry``). The parts: ``runs`` (the tracker's runs as one table),
``table`` (methods and their statistics), ``results`` / ``figures`` / ``commands`` (a dataset's
sections), ``builder`` (the whole document), ``document`` (Markdown and HTML), ``outputs``
(the CSV files); this module is the entry point and its command line.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from seglab.errors import SeglabError
from seglab.report import document as doc
from seglab.report.builder import ReportBuilder
from seglab.report.outputs import write_runs_csv, write_summary_csv
from seglab.report.runs import load_run_dirs, load_runs


def make_report(tracking_uri: str | list[str] | None, out: str | Path, experiments: list[str] | None = None,
                sweep_ids: list[str] | None = None, tags: dict[str, str] | None = None, *,
                runs_dirs: list[str | Path] | None = None,
                title: str | None = None, command: str | None = None, note: str | None = None,
                embedding: bool = True,
                projections: tuple[str, ...] = ("pca", "tsne", "umap"), max_points: int = 2000,
                seed: int = 0, interactive: bool = False) -> Path:
    """Build the comparison report into ``out``; returns the path of ``report.md``. With
    ``interactive``, also ``interactive.html`` (Plotly; ``seglab.report.interactive``)."""
    out = Path(out)
    uris = [tracking_uri] if isinstance(tracking_uri, str) else list(tracking_uri or [])
    frames = [load_runs(uri, experiments, sweep_ids, tags) for uri in uris]
    if runs_dirs:
        frames.append(load_run_dirs(runs_dirs))
    frames = [f for f in frames if not f.empty]
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    where = ", ".join([*uris, *map(str, runs_dirs or [])]) or "nowhere (no --tracking-uri or --runs-dir)"
    if runs.empty:
        raise ValueError(f"no runs in {where} match experiments={experiments} sweep_ids={sweep_ids} tags={tags}")
    title = title or "seglab comparison: " + ", ".join(sorted(runs["experiment"].astype(str).unique()))
    filters = [f"experiments: {', '.join(experiments)}" if experiments else "all experiments"]
    if sweep_ids:
        filters.append("sweeps: " + ", ".join(sweep_ids))
    if tags:
        filters.append("tags: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
    header = [doc.Heading(1, title),
              doc.Para(f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')} from `{where}` ({'; '.join(filters)}): "
                       f"{len(runs)} runs, {int((runs['status'] == 'FINISHED').sum())} finished."),
              ]
    if note:
        header.append(doc.Para(note))
    if command:
        header.append(doc.Para("Report made by:"))
        header.append(doc.Code(command, "bash"))
    extra = None
    if interactive:
        from seglab.report.interactive import InteractiveFigures

        extra = InteractiveFigures()
    builder = ReportBuilder(uris or None, runs, embedding=embedding, projections=projections,
                            max_points=max_points, seed=seed, interactive=extra)
    blocks = builder.build(header)
    md, _ = doc.write(blocks, out, title)
    if extra is not None:
        extra.write(out / "interactive.html", title)
    write_summary_csv(builder.summary_rows, out / "summary.csv")
    write_runs_csv(runs, builder.method_of_run, builder.files, out / "runs.csv")
    return md


def parse_tag(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--tag wants key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="compare.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Comparison report (Markdown, self-contained HTML, LaTeX tables, CSV) from MLflow stores or "
                    "folders of run dirs.",
        epilog="examples:\n  compare.py --tracking-uri sqlite:////abs/logs/mlflow.db --experiment report-synthetic "
               "--out experiments/report_synthetic\n  compare.py --runs-dir logs/multiruns/2026-12-01 --out /tmp/report\n"
               "  compare.py --tracking-uri sqlite:////a/mlflow.db --tracking-uri sqlite:////b/mlflow.db --out cross")
    parser.add_argument("--tracking-uri", action="append", default=None,
                        help="MLflow store (repeatable; default without --runs-dir: sqlite:///<abs logs>/mlflow.db, "
                             "or $SEGLAB_LOG_DIR's)")
    parser.add_argument("--runs-dir", action="append", default=None,
                        help="a folder of run dirs (any depth; e.g. a logger=none sweep's multirun dir; repeatable)")
    parser.add_argument("--experiment", action="append", default=None, help="experiment name (repeatable)")
    parser.add_argument("--sweep-id", action="append", default=None,
                        help="keep runs of this multirun (its sweep dir, or the dir's trailing part; repeatable)")
    parser.add_argument("--tag", action="append", type=parse_tag, default=[], help="keep runs with tag key=value")
    parser.add_argument("--out", required=True, help="output folder (report.md, report.html, figures/, *.csv)")
    parser.add_argument("--title", default=None)
    parser.add_argument("--note", default=None, help="a paragraph for the report's header (how the runs were made)")
    parser.add_argument("--no-embedding", action="store_true", help="skip the re-computed 2-D embedding views")
    parser.add_argument("--projections", default="pca,tsne,umap",
                        help="2-D projections of the embedding views (umap needs the umap extra: pip install \"seglab[umap]\")")
    parser.add_argument("--max-points", type=int, default=2000, help="customers shown in the 2-D views (sampled)")
    parser.add_argument("--interactive", action="store_true",
                        help="also interactive.html: Plotly embeddings and profiles (report extra; report.html stays static)")
    args = parser.parse_args(argv)
    uri = args.tracking_uri
    if uri is None and not args.runs_dir:
        import os

        from seglab.tracking import default_tracking_uri

        uri = default_tracking_uri(os.environ.get("SEGLAB_LOG_DIR", "logs"))
    command = "python scripts/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        md = make_report(uri, args.out, args.experiment, args.sweep_id, dict(args.tag), runs_dirs=args.runs_dir,
                         title=args.title,
                         command=command, note=args.note, embedding=not args.no_embedding,
                         projections=tuple(p.strip() for p in args.projections.split(",") if p.strip()),
                         max_points=args.max_points, interactive=args.interactive)
    except (ValueError, SeglabError) as err:
        print(f"compare.py: {err}", file=sys.stderr)
        return 2
    print(f"wrote {md} and {md.with_suffix('.html')}")
    return 0


__all__ = ["main", "make_report"]
