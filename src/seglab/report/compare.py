"""Comparison report from the tracking store: ``make_report`` and the ``compare.py`` CLI.

    python scripts/compare.py --tracking-uri sqlite:////abs/logs/mlflow.db \\
        [--experiment seglab-synthetic ...] [--sweep-id ID ...] [--tag key=value ...] \\
        --out experiments/report_synthetic

writes into ``--out``:

- ``report.md`` (figures in ``figures/``) and ``report.html`` (self-contained: figures as base64
  PNG, no scripts, nothing fetched),
- ``summary.csv``: every table cell as numbers (dataset, method, kind, n_runs, metric, mean, std, n),
- ``runs.csv``: every selected run (status, seed, method, metrics, command, run dir).

What the numbers mean is defined in ``seglab.report.table`` and repeated in the report.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.report import document as doc
from seglab.report import plots
from seglab.report.embedding import project_2d, rebuild_embedding, sample_indices, umap_available
from seglab.report.forecast import forecast_blocks
from seglab.report.runs import METRIC, PARAM, TAG, RunFiles, load_runs
from seglab.report.table import (
    EXTRA_METRICS,
    RANKED_METRICS,
    Method,
    MetricSpec,
    _display_key,
    available_metrics,
    best_classical,
    build_methods,
    compare_to_classical,
    decimals_for,
    format_cell,
    primary_metric,
    ranks,
    representative_run,
    short_model_name,
)
from seglab.report.table import __doc__ as DEFINITIONS

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
    col = TAG + "seglab.command"
    if col not in runs:
        return []
    out = []
    for cmd in runs[col].dropna().unique():
        argv = str(cmd).split()
        if "-m" in argv or "--multirun" in argv:
            out.append("python " + str(cmd))
    return sorted(out)


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() else "_" for ch in text)
    return "_".join(filter(None, keep.split("_")))[:80]


def _sample_note(n: int, max_points: int) -> str:
    return f"{min(n, max_points):,} of {n:,} customers (seeded uniform sample)" if n > max_points else f"all {n:,} customers"


class ReportBuilder:
    def __init__(self, tracking_uri: str, runs: pd.DataFrame, out: Path, *, embedding: bool = True,
                 projections: tuple[str, ...] = ("pca", "tsne", "umap"), max_points: int = 2000,
                 seed: int = 0) -> None:
        self.tracking_uri = tracking_uri
        self.runs = runs
        self.out = out
        self.embedding = embedding
        self.projections = tuple(projections)
        self.max_points = max_points
        self.seed = seed
        self.files = RunFiles(tracking_uri)
        self.blocks: list = []
        self.summary_rows: list[dict] = []
        self.method_of_run: dict[str, str] = {}
        self._fig = 0

    def image(self, png: bytes | None, name: str, caption: str) -> None:
        if png is None:
            return
        self._fig += 1
        self.blocks.append(doc.Image(f"fig{self._fig:02d}_{_slug(name)}.png", png, f"Figure {self._fig}. {caption}"))

    # --- one dataset -------------------------------------------------------------------
    def dataset_section(self, dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> None:
        B = self.blocks
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

        extras = [s for s in EXTRA_METRICS if METRIC + s.key in finished]
        decimals = {s.key: decimals_for(methods, s) for s in metrics + extras}
        rank_of = {s.key: ranks(methods, s) for s in metrics}
        header = ["Method", "kind", "n", "seeds"] + [s.label + (" ↑" if s.higher_is_better else " ↓") for s in metrics]
        header += [s.label for s in extras]
        rows = []
        for m in methods:
            row = [m.label, "deep" if m.is_deep else "classical", str(m.n_runs), ",".join(m.seeds) or "–"]
            for s in metrics:
                cell = format_cell(m.stats[s.key], m.n_runs, decimals[s.key])
                row.append(f"**{cell}**" if rank_of[s.key].get(m.label) == 1 else cell)
            for s in extras:
                stats = m.stats[s.key]
                row.append(format_cell(stats, m.n_runs, decimals[s.key]))
            rows.append(row)
            for s in metrics + extras:
                mean, std, n = m.stats[s.key]
                self.summary_rows.append({"dataset": dataset, "method": m.label, "kind": "deep" if m.is_deep else "classical",
                                          "n_runs": m.n_runs, "metric": s.key, "mean": mean, "std": std, "n": n})
        B.append(doc.Heading(3, "Methods × metrics (mean ± std over seeds)"))
        B.append(doc.Table(header, rows))
        B.append(doc.Para("Bold: best mean in the column. Silhouette, Calinski-Harabasz and Davies-Bouldin are "
                          "computed on the preprocessed features, the one space every method shares (deep models' "
                          "latent-space values are in `runs.csv`, not ranked: each latent space is different)."))

        B.append(doc.Heading(3, "Ranks"))
        rank_rows = []
        for m in methods:
            rs = [rank_of[s.key].get(m.label) for s in metrics]
            valid = [r for r in rs if r is not None]
            rank_rows.append([m.label] + [str(r) if r is not None else "–" for r in rs]
                             + [f"{np.mean(valid):.2f}" if valid else "–"])
        rank_rows.sort(key=lambda r: float(r[-1]) if r[-1] != "–" else np.inf)
        B.append(doc.Table(["Method"] + [s.label for s in metrics] + ["mean rank"], rank_rows))

        deep = [m for m in methods if m.is_deep]
        classical = [m for m in methods if not m.is_deep]
        B.append(doc.Heading(3, "Deep methods against the best classical baseline"))
        if deep and classical:
            wl_rows = []
            ks = {m.k for m in deep}
            baselines = [best_classical(methods, s, next(iter(ks)) if len(ks) == 1 else None) for s in metrics]
            for m in deep:
                outcomes = [compare_to_classical(m, methods, s) for s in metrics]
                cells = [(f"{o.result} ({o.delta:+.{decimals[s.key]}f}" + ("" if len(ks) == 1 else f" vs {o.baseline}")
                          + ")") if o.result != "n/a" else "n/a" for o, s in zip(outcomes, metrics, strict=True)]
                counts = {r: sum(o.result == r for o in outcomes) for r in ("win", "tie", "loss")}
                wl_rows.append([m.label] + cells + [f"{counts['win']}/{counts['tie']}/{counts['loss']}"])
                self.wins.setdefault(m.label, {})[dataset] = counts
            B.append(doc.Table(["Deep method"] + [f"{s.label} vs {b.label if b else '–'}" if len(ks) == 1 else s.label
                                                  for s, b in zip(metrics, baselines, strict=True)] + ["W/T/L"],
                               wl_rows))
            B.append(doc.Para("Per metric the baseline is the classical method with the best mean on this dataset "
                              "among those with the deep method's k; the signed number is deep mean − baseline mean. "
                              "Win/loss only when the gap exceeds the larger of the two seed stds; otherwise tie."))
        else:
            B.append(doc.Para("Not applicable: this dataset has " + ("no classical" if deep else "no deep") + " method."))

        self.sweep_figures(dataset, methods, metrics)
        self.run_figures(dataset, methods, metrics)
        self.blocks.extend(forecast_blocks(methods))
        self.reproduce(dataset, methods)

    def sweep_figures(self, dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> None:
        keys = []
        for m in methods:
            keys += [k for k in m.params if k not in keys]
        k_keys = [k for k in keys if k in ("n_clusters", "model.n_clusters")]
        other = [k for k in keys if k not in k_keys]
        if other:
            self.blocks.append(doc.Heading(3, "Metrics against swept values"))
        for key in other:
            png = plots.metric_vs_param(methods, key, metrics, f"{dataset}: metrics against {_display_key(key, [])}")
            self.image(png, f"{dataset}_vs_{key}",
                       f"`{dataset}`: each metric (mean ± std over seeds) against `{key}`; dashed lines: "
                       "methods with the same k that do not sweep it, at their mean.")
        if k_keys:
            png = plots.metric_vs_param(methods, k_keys[0], metrics, f"{dataset}: criteria against k")
            if png is not None:
                self.blocks.append(doc.Heading(3, "Criteria against the number of segments k"))
                self.image(png, f"{dataset}_vs_k", f"`{dataset}`: each criterion (mean ± std over seeds) against k.")

    def run_figures(self, dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> None:
        B = self.blocks
        prim = primary_metric(metrics)
        featured: list[tuple[Method, pd.Series]] = []
        for group in ([m for m in methods if m.is_deep], [m for m in methods if not m.is_deep]):
            if featured and any(m.k == featured[0][0].k for m in group):  # classical at the deep method's k
                group = [m for m in group if m.k == featured[0][0].k]
            scored = [m for m in group if np.isfinite(m.stats[prim.key][0])]
            if scored:
                best = (max if prim.higher_is_better else min)(scored, key=lambda m: m.stats[prim.key][0])
                featured.append((best, representative_run(best, prim)))
        B.append(doc.Heading(3, "Representative runs"))
        B.append(doc.Para(
            f"Figures below show, for the deep method with the best mean {prim.label} and the best classical method "
            f"at its k, the run "
            f"whose {prim.label} is the median of that method's seeds (a typical run, not the luckiest)."))
        B.append(doc.Bullets([f"{m.label}: run `{r['run_id']}` (seed {r.get(PARAM + 'seed', '?')}, "
                              f"{prim.label} {r.get(METRIC + prim.key, float('nan')):.3f})" for m, r in featured]))
        for m, run in featured:
            self.embedding_figure(dataset, m, run)
        for m, run in featured:
            path = self.files.path(run, "profiles.csv")
            if path is None:
                B.append(doc.Para(f"No `profiles.csv` for {m.label} run `{run['run_id']}`."))
                continue
            profiles = pd.read_csv(path)
            dev_path = self.files.path(run, "profile_deviations.csv")
            deviations = pd.read_csv(dev_path, index_col=0) if dev_path is not None else None
            png = plots.profile_heatmap(profiles, f"{dataset} · {m.label} · segment profiles", deviations)
            what = ("each segment's mean against the population, (mean − population mean) / population std"
                    if deviations is not None else
                    "segment means z-scored across segments (relative to the other segments, so a feature whose "
                    "segments differ little still spans the colours: read the numbers)")
            self.image(png, f"{dataset}_{m.label}_profiles",
                       f"Segment profiles of {m.label} (run `{run['run_id']}`): colour = {what}; numbers = segment "
                       "means in original units; rows = segment (share); at most the 24 features with the largest |z|.")
            self.business_table(m, profiles)
        shares = {}
        for m in methods:
            run = representative_run(m, prim)
            path = self.files.path(run, "profiles.csv")
            if path is not None:
                prof = pd.read_csv(path)
                prof = prof[prof["segment"].astype(str) != "all"]
                shares[m.label] = prof["share"].to_numpy(dtype=float)
        png = plots.segment_sizes(shares, f"{dataset}: segment sizes (representative run per method)")
        self.image(png, f"{dataset}_sizes", f"Segment shares of each method's representative run (median {prim.label} seed).")

    def business_table(self, method: Method, profiles: pd.DataFrame) -> None:
        cols = [c for c in ("name", "size", "share", "revenue_share", "aov", "purchases_per_year", "churn_share",
                            "clv", "mean_sentiment", "top_categories") if c in profiles]
        if len(cols) <= 3:
            return
        rows = []
        for _, r in profiles.iterrows():
            cells = [str(r["segment"])]
            for c in cols:
                v = r[c]
                if isinstance(v, (float, np.floating)):
                    cells.append("–" if not np.isfinite(v) else f"{v:.1%}" if c in ("share", "revenue_share",
                                                                                    "churn_share") else f"{v:,.3g}")
                else:
                    cells.append(str(v))
            rows.append(cells)
        self.blocks.append(doc.Table(["segment"] + cols, rows, caption=f"Segments of {method.label} (same run): "
                                     "business indicators from `profiles.csv` (see `seglab.evaluate.profiles`).",
                                     css_class="segments"))

    def embedding_figure(self, dataset: str, method: Method, run: pd.Series) -> None:
        if not self.embedding:
            self.blocks.append(doc.Para(f"2-D view of {method.label} not drawn (`--no-embedding`)."))
            return
        need = {n: self.files.path(run, n) for n in ("config.yaml", "preprocessor.joblib", "model.ckpt", "segments.parquet")}
        missing = [n for n, p in need.items() if p is None]
        if missing:
            self.blocks.append(doc.Para(f"2-D view of {method.label} not drawn: run `{run['run_id']}` has no "
                                        + ", ".join(f"`{n}`" for n in missing) + "."))
            return
        try:
            t0 = time.perf_counter()
            emb = rebuild_embedding(need["config.yaml"], need["preprocessor.joblib"], need["model.ckpt"],
                                    need["segments.parquet"])
            idx = sample_indices(len(emb.Z), self.max_points, self.seed)
            projections = [p for p in self.projections if p != "umap" or umap_available()] or ["pca"]
            names = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
            coords = {names[p]: project_2d(emb.Z[idx], p, self.seed) for p in projections}
            elapsed = time.perf_counter() - t0
        except Exception as err:
            self.blocks.append(doc.Para(f"2-D view of {method.label} not drawn: {err}"))
            return
        png = plots.embedding_views(coords, emb.labels[idx], f"{dataset} · {method.label} · {emb.space}")
        self.image(png, f"{dataset}_{method.label}_embedding",
                   f"{method.label} (run `{run['run_id']}`) in the space it clustered, the {emb.space}, re-computed "
                   f"by loading the run's saved preprocessor and model on the rebuilt features of "
                   f"{_sample_note(len(emb.Z), self.max_points)}; colour = the run's saved segment. The saved model's "
                   f"predictions on the rebuilt data agree with its saved segments for {emb.label_agreement:.1%} of "
                   f"customers. Projections: " + ", ".join(coords)
                   + (f" (t-SNE: scikit-learn, perplexity ≤ 30, seed {self.seed})" if "t-SNE" in coords else "")
                   + ("; UMAP not installed" if "umap" in self.projections and not umap_available() else "")
                   + f"; {elapsed:.0f} s.")

    def reproduce(self, dataset: str, methods: list[Method]) -> None:
        B = self.blocks
        B.append(doc.Heading(3, "Reproduce every row"))
        B.append(doc.Para("Each run is `python train.py` with its own overrides (from the run's "
                          "`.hydra/overrides.yaml`, else its `seglab.overrides` tag). The resolved config of "
                          "each method's representative run follows; its runs differ only in the seed."))
        for m in methods:
            blocks: list = []
            sweeps = sweep_commands(m.runs)
            if sweeps:
                blocks.append(doc.Para("Launched by: " + "; ".join(f"`{c}`" for c in sweeps)))
            rows = []
            for _, run in m.runs.sort_values(PARAM + "seed" if PARAM + "seed" in m.runs else "start_time").iterrows():
                cmd = run_command(run, self.files)
                self.method_of_run[run["run_id"]] = m.label
                rows.append([str(run.get(PARAM + "seed", "?")), cmd, str(run["run_id"])])
            blocks.append(doc.Table(["seed", "command", "MLflow run"], rows, css_class="commands"))
            run = representative_run(m, primary_metric(available_metrics(m.runs)) if available_metrics(m.runs)
                                     else RANKED_METRICS[0])
            cfg = self.files.path(run, "config.yaml")
            text = cfg.read_text() if cfg is not None else "\n".join(
                f"{c[len(PARAM):]}: {run[c]}" for c in m.runs.columns if c.startswith(PARAM) and pd.notna(run[c]))
            blocks.append(doc.Details(f"resolved config of run {run['run_id']}", [doc.Code(text, "yaml")]))
            B.append(doc.Details(f"{m.label}: {m.n_runs} runs", blocks))

    # --- whole report ------------------------------------------------------------------
    def build(self, header: list) -> list:
        self.wins: dict[str, dict[str, dict[str, int]]] = {}
        runs = self.runs
        finished = runs[runs["status"] == "FINISHED"]
        self.blocks = list(header)
        self.blocks.append(doc.Details("Definitions: methods, mean ± std, ranks, wins/losses",
                                       [doc.Code(DEFINITIONS.strip().split("\n\n", 1)[1])]))
        all_methods = build_methods(finished, list(RANKED_METRICS) + list(EXTRA_METRICS)) if not finished.empty else []
        for dataset in sorted({m.dataset for m in all_methods}):
            methods = [m for m in all_methods if m.dataset == dataset]
            ds_runs = pd.concat([m.runs for m in methods])
            metrics = available_metrics(ds_runs)
            self.dataset_section(dataset, methods, metrics)
        if len({m.dataset for m in all_methods}) > 1 and self.wins:
            datasets = sorted({m.dataset for m in all_methods})
            rows = [[label] + [(f"{c['win']}/{c['tie']}/{c['loss']}" if (c := per.get(d)) else "–") for d in datasets]
                    for label, per in self.wins.items()]
            self.blocks.append(doc.Heading(2, "Wins/ties/losses against the best classical baseline, per dataset"))
            self.blocks.append(doc.Table(["Deep method"] + [f"`{d}`" for d in datasets], rows))
        not_ok = runs[runs["status"] != "FINISHED"]
        if len(not_ok):
            self.blocks.append(doc.Heading(2, "Runs left out (failed or unfinished)"))
            self.blocks.append(doc.Para("These runs are in the store but in no table or figure."))
            rows = [[str(r["status"]), str(r["dataset"]), short_model_name(str(r["model"])),
                     run_command(r, self.files), str(r["run_id"])] for _, r in not_ok.iterrows()]
            self.blocks.append(doc.Table(["status", "dataset", "model", "command", "MLflow run"], rows, css_class="commands"))
        if finished.empty:
            self.blocks.append(doc.Para("**No finished runs matched the filters.**"))
        return self.blocks


def make_report(tracking_uri: str, out: str | Path, experiments: list[str] | None = None,
                sweep_ids: list[str] | None = None, tags: dict[str, str] | None = None, *,
                title: str | None = None, command: str | None = None, note: str | None = None,
                embedding: bool = True,
                projections: tuple[str, ...] = ("pca", "tsne", "umap"), max_points: int = 2000,
                seed: int = 0) -> Path:
    """Build the comparison report into ``out``; returns the path of ``report.md``."""
    out = Path(out)
    runs = load_runs(tracking_uri, experiments, sweep_ids, tags)
    if runs.empty:
        raise ValueError(f"no runs in {tracking_uri} match experiments={experiments} sweep_ids={sweep_ids} tags={tags}")
    title = title or "seglab comparison: " + ", ".join(sorted(runs["experiment"].astype(str).unique()))
    filters = [f"experiments: {', '.join(experiments)}" if experiments else "all experiments"]
    if sweep_ids:
        filters.append("sweeps: " + ", ".join(sweep_ids))
    if tags:
        filters.append("tags: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
    header = [doc.Heading(1, title),
              doc.Para(f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')} from `{tracking_uri}` ({'; '.join(filters)}): "
                       f"{len(runs)} runs, {int((runs['status'] == 'FINISHED').sum())} finished."),
              ]
    if note:
        header.append(doc.Para(note))
    if command:
        header.append(doc.Para("Report made by:"))
        header.append(doc.Code(command, "bash"))
    builder = ReportBuilder(tracking_uri, runs, out, embedding=embedding, projections=projections,
                            max_points=max_points, seed=seed)
    blocks = builder.build(header)
    md, _ = doc.write(blocks, out, title)
    pd.DataFrame(builder.summary_rows).to_csv(out / "summary.csv", index=False)
    cols = ["run_id", "experiment", "status", "dataset", "model"]
    cols += [c for c in runs.columns if c.startswith(PARAM) and c[len(PARAM):] in ("seed", "n_clusters")]
    cols += sorted(c for c in runs.columns if c.startswith(METRIC + "eval/") or c.startswith(METRIC + "time/"))
    table = runs[cols].copy()
    table.insert(4, "method", table["run_id"].map(builder.method_of_run))
    table["command"] = [run_command(r, builder.files) for _, r in runs.iterrows()]
    table["run_dir"] = runs.get(TAG + "seglab.run_dir")
    table.to_csv(out / "runs.csv", index=False)
    return md


def parse_tag(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--tag wants key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compare.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow store (default: sqlite:///<abs logs>/mlflow.db, or $SEGLAB_LOG_DIR's)")
    parser.add_argument("--experiment", action="append", default=None, help="experiment name (repeatable)")
    parser.add_argument("--sweep-id", action="append", default=None,
                        help="keep runs of this multirun (its sweep dir, or the dir's trailing part; repeatable)")
    parser.add_argument("--tag", action="append", type=parse_tag, default=[], help="keep runs with tag key=value")
    parser.add_argument("--out", required=True, help="output folder (report.md, report.html, figures/, *.csv)")
    parser.add_argument("--title", default=None)
    parser.add_argument("--note", default=None, help="a paragraph for the report's header (how the runs were made)")
    parser.add_argument("--no-embedding", action="store_true", help="skip the re-computed 2-D embedding views")
    parser.add_argument("--projections", default="pca,tsne,umap",
                        help="2-D projections of the embedding views (umap only when umap-learn is installed)")
    parser.add_argument("--max-points", type=int, default=2000, help="customers shown in the 2-D views (sampled)")
    args = parser.parse_args(argv)
    uri = args.tracking_uri
    if uri is None:
        import os

        from seglab.tracking import default_tracking_uri

        uri = default_tracking_uri(os.environ.get("SEGLAB_LOG_DIR", "logs"))
    command = "python scripts/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        md = make_report(uri, args.out, args.experiment, args.sweep_id, dict(args.tag), title=args.title,
                         command=command, note=args.note, embedding=not args.no_embedding,
                         projections=tuple(p.strip() for p in args.projections.split(",") if p.strip()),
                         max_points=args.max_points)
    except ValueError as err:
        print(f"compare.py: {err}", file=sys.stderr)
        return 2
    print(f"wrote {md} and {md.with_suffix('.html')}")
    return 0


__all__ = ["main", "make_report", "split_overrides"]
