"""The figures of one dataset's section: metrics against swept values and k, and for the
representative runs the 2-D embedding, the profile heatmap, the business table and the segment
sizes. The numbers come from ``seglab.report.table``'s methods and the runs' files; the drawing
is ``seglab.plots``'."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pandas as pd
import yaml

from seglab import plots
from seglab.evaluate.profiles import segment_names
from seglab.evaluate.registry import MetricSpec
from seglab.report import document as doc
from seglab.report.embedding import load_embedding, project_2d, sample_indices, umap_available
from seglab.report.runs import METRIC, PARAM, RunFiles
from seglab.report.table import (
    Method,
    as_number,
    display_key,
    primary_metric,
    representative_run,
    short_model_name,
    sort_key,
)
from seglab.rundir import CONFIG, EMBEDDING

K_KEYS = ("n_clusters", "model.n_clusters")
BUSINESS = ("name", "size", "share", "revenue_share", "aov", "purchases_per_year", "churn_share", "clv",
            "mean_sentiment", "top_categories")
PERCENT = ("share", "revenue_share", "churn_share")


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() else "_" for ch in text)
    return "_".join(filter(None, keep.split("_")))[:80]


def _sample_note(n: int, max_points: int) -> str:
    return f"{min(n, max_points):,} of {n:,} customers (seeded uniform sample)" if n > max_points else f"all {n:,} customers"


def metric_vs_param_png(methods: list[Method], key: str, metrics: list[MetricSpec], title: str):
    """Mean ± std (over seeds) of each metric against the swept value ``key``, one line per model
    and setting of its other swept values; methods that do not sweep ``key`` are dashed
    horizontal lines at their mean (the reference they are compared with), never against k
    itself. None when no model has two values of ``key``."""
    points: dict[str, list[tuple[object, Method]]] = defaultdict(list)
    flat: list[Method] = []
    for m in methods:
        if key in m.params:
            rest = {k: v for k, v in m.params.items() if k != key}
            name = short_model_name(m.model)
            if rest:
                name += "(" + ", ".join(f"{display_key(k, list(rest))}={v}" for k, v in rest.items()) + ")"
            points[name].append((m.params[key], m))
        else:
            flat.append(m)
    points = {k: sorted(v, key=lambda p: sort_key(p[0])) for k, v in points.items() if len(v) >= 2}
    if not points:
        return None
    line_ks = {m.k for pts in points.values() for _, m in pts}
    flat = [] if key in K_KEYS else [m for m in flat if m.k in line_ks]
    values = sorted({v for pts in points.values() for v, _ in pts}, key=sort_key)
    numeric = all(as_number(v) is not None for v in values)
    pos = {v: (as_number(v) if numeric else i) for i, v in enumerate(values)}
    lines = {name: ([pos[v] for v, _ in pts],
                    {s.key: ([m.stats[s.key][0] for _, m in pts], [m.stats[s.key][1] for _, m in pts])
                     for s in metrics})
             for name, pts in points.items()}
    references = {m.label: {s.key: m.stats[s.key][0] for s in metrics} for m in flat}
    panels = [(s.key, f"{s.label} ({s.arrow})" if s.arrow else s.label) for s in metrics]
    ticks = None if numeric else [(pos[v], str(v)) for v in values]
    return plots.metric_vs_param(lines, references, panels, display_key(key, []), title, ticks)


class DatasetFigures:
    """Numbered figure blocks of one report (the numbering runs across datasets)."""

    def __init__(self, files: RunFiles, *, embedding: bool = True, projections: tuple[str, ...] = ("pca", "tsne", "umap"),
                 max_points: int = 2000, seed: int = 0, interactive=None) -> None:
        self.files = files
        self.interactive = interactive  # seglab.report.interactive.InteractiveFigures, or None
        self.embedding = embedding
        self.projections = tuple(projections)
        self.max_points = max_points
        self.seed = seed
        self.count = 0

    def image(self, blocks: list, fig, name: str, caption: str) -> None:
        """Number the figure and render it: PNG (the HTML's), SVG and PDF (for papers)."""
        if fig is None:
            return
        self.count += 1
        blocks.append(doc.Image(f"fig{self.count:02d}_{_slug(name)}.png", plots.render(fig, "png"),
                                f"Figure {self.count}. {caption}",
                                {fmt: plots.render(fig, fmt) for fmt in ("svg", "pdf")}))

    def sweeps(self, dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> list:
        """Each metric against every swept value, then against k."""
        blocks: list = []
        keys: list[str] = []
        for m in methods:
            keys += [k for k in m.params if k not in keys]
        k_keys = [k for k in keys if k in K_KEYS]
        other = [k for k in keys if k not in k_keys]
        if other:
            blocks.append(doc.Heading(3, "Metrics against swept values"))
        for key in other:
            png = metric_vs_param_png(methods, key, metrics, f"{dataset}: metrics against {display_key(key, [])}")
            self.image(blocks, png, f"{dataset}_vs_{key}",
                       f"`{dataset}`: each metric (mean ± std over seeds) against `{key}`; dashed lines: "
                       "methods with the same k that do not sweep it, at their mean.")
        if k_keys:
            png = metric_vs_param_png(methods, k_keys[0], metrics, f"{dataset}: criteria against k")
            if png is not None:
                blocks.append(doc.Heading(3, "Criteria against the number of segments k"))
                self.image(blocks, png, f"{dataset}_vs_k", f"`{dataset}`: each criterion (mean ± std over seeds) against k.")
        return blocks

    def representative_runs(self, dataset: str, methods: list[Method], metrics: list[MetricSpec]) -> list:
        """The best deep method and the best classical one at its k, each by its median-seed run."""
        blocks: list = []
        prim = primary_metric(metrics)
        featured: list[tuple[Method, pd.Series]] = []
        for group in ([m for m in methods if m.is_deep], [m for m in methods if not m.is_deep]):
            if featured and any(m.k == featured[0][0].k for m in group):  # classical at the deep method's k
                group = [m for m in group if m.k == featured[0][0].k]
            scored = [m for m in group if np.isfinite(m.stats[prim.key][0])]
            if scored:
                best = (max if prim.higher_is_better else min)(scored, key=lambda m: m.stats[prim.key][0])
                featured.append((best, representative_run(best, prim)))
        blocks.append(doc.Heading(3, "Representative runs"))
        blocks.append(doc.Para(
            f"Figures below show, for the deep method with the best mean {prim.label} and the best classical method "
            f"at its k, the run "
            f"whose {prim.label} is the median of that method's seeds (a typical run, not the luckiest)."))
        blocks.append(doc.Bullets([f"{m.label}: run `{r['run_id']}` (seed {r.get(PARAM + 'seed', '?')}, "
                                   f"{prim.label} {r.get(METRIC + prim.key, float('nan')):.3f})" for m, r in featured]))
        for m, run in featured:
            blocks += self.embedding_view(dataset, m, run)
        for m, run in featured:
            blocks += self.profiles(dataset, m, run)
        shares = {}
        for m in methods:
            path = self.files.path(representative_run(m, prim), "profiles.csv")
            if path is not None:
                prof = pd.read_csv(path)
                shares[m.label] = prof.loc[prof["segment"].astype(str) != "all", "share"].to_numpy(dtype=float)
        png = plots.segment_sizes(shares, f"{dataset}: segment sizes (representative run per method)")
        self.image(blocks, png, f"{dataset}_sizes",
                   f"Segment shares of each method's representative run (median {prim.label} seed).")
        return blocks

    def feature_labels(self, run: pd.Series) -> dict[str, str]:
        """The run's business words for features, as the run used them: its data config's
        ``feature_labels`` overridden by ``profiles.feature_labels`` (from its saved config)."""
        path = self.files.path(run, CONFIG)
        if path is None:
            return {}
        cfg = yaml.safe_load(path.read_text()) or {}
        return {**((cfg.get("data") or {}).get("feature_labels") or {}),
                **((cfg.get("profiles") or {}).get("feature_labels") or {})}

    def profiles(self, dataset: str, method: Method, run: pd.Series) -> list:
        """The run's profile heatmap and its business indicators."""
        path = self.files.path(run, "profiles.csv")
        if path is None:
            return [doc.Para(f"No `profiles.csv` for {method.label} run `{run['run_id']}`.")]
        blocks: list = []
        profiles = pd.read_csv(path)
        dev_path = self.files.path(run, "profile_deviations.csv")
        deviations = pd.read_csv(dev_path, index_col=0) if dev_path is not None else None
        labels = self.feature_labels(run)
        if deviations is not None and "name" in profiles:  # names in today's words (feature labels)
            names = segment_names(deviations, labels=labels)
            seg = profiles["segment"].astype(str)
            profiles["name"] = [names.get(s, old) for s, old in zip(seg, profiles["name"], strict=True)]
        png = plots.profile_heatmap(profiles, f"{dataset} · {method.label} · segment profiles", deviations,
                                    labels=labels)
        if self.interactive is not None:
            z, values, _ = plots.profile_matrix(profiles, deviations)
            self.interactive.profiles(f"{dataset} · {method.label} · segment profiles (run {run['run_id']})", z, values)
        what = ("each segment's mean against the population, (mean − population mean) / population std"
                if deviations is not None else
                "segment means z-scored across segments (relative to the other segments, so a feature whose "
                "segments differ little still spans the colours: read the numbers)")
        self.image(blocks, png, f"{dataset}_{method.label}_profiles",
                   f"Segment profiles of {method.label} (run `{run['run_id']}`): colour = {what}; numbers = segment "
                   "means in original units; rows = segment (share); at most the 24 features with the largest |z|.")
        cols = [c for c in BUSINESS if c in profiles]
        if len(cols) > 3:
            rows = []
            for _, r in profiles.iterrows():
                cells = [str(r["segment"])]
                for c in cols:
                    v = r[c]
                    if isinstance(v, (float, np.floating)):
                        cells.append("–" if not np.isfinite(v) else f"{v:.1%}" if c in PERCENT else plots.human(v))
                    else:
                        cells.append(str(v))
                rows.append(cells)
            blocks.append(doc.Table(["segment"] + cols, rows, caption=f"Segments of {method.label} (same run): "
                                    "business indicators from `profiles.csv` (see `seglab.evaluate.profiles`).",
                                    css_class="segments"))
        return blocks

    def embedding_view(self, dataset: str, method: Method, run: pd.Series) -> list:
        """The run's clustering space, as the run saved it (``embedding.parquet``), in 2-D."""
        if not self.embedding:
            return [doc.Para(f"2-D view of {method.label} not drawn (`--no-embedding`).")]
        path = self.files.path(run, EMBEDDING)
        if path is None:
            return [doc.Para(f"2-D view of {method.label} not drawn: run `{run['run_id']}` has no `{EMBEDDING}` "
                             "here (a per-customer file: it stays in the run dir unless privacy.upload_segments=true).")]
        try:
            t0 = time.perf_counter()
            emb = load_embedding(path)
            idx = sample_indices(len(emb.Z), self.max_points, self.seed)
            projections = [p for p in self.projections if p != "umap" or umap_available()] or ["pca"]
            names = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
            coords = {names[p]: project_2d(emb.Z[idx], p, self.seed) for p in projections}
            elapsed = time.perf_counter() - t0
        except Exception as err:
            return [doc.Para(f"2-D view of {method.label} not drawn: {err}")]
        blocks: list = []
        png = plots.embedding_views(coords, emb.labels[idx], f"{dataset} · {method.label} · {emb.space}")
        if self.interactive is not None:
            for proj, xy in coords.items():
                self.interactive.embedding(f"{dataset} · {method.label} · {emb.space} · {proj} (run {run['run_id']})",
                                           xy, emb.labels[idx])
        self.image(blocks, png, f"{dataset}_{method.label}_embedding",
                   f"{method.label} (run `{run['run_id']}`) in the space it clustered, the {emb.space}, as the run "
                   f"saved it ({EMBEDDING}), for {_sample_note(len(emb.Z), self.max_points)}; colour = the run's "
                   f"segment. Projections: " + ", ".join(coords)
                   + (f" (t-SNE: scikit-learn, perplexity ≤ 30, seed {self.seed})" if "t-SNE" in coords else "")
                   + ('; UMAP not drawn: it needs the umap extra, pip install "seglab[umap]"'
                      if "umap" in self.projections and not umap_available() else "")
                   + f"; {elapsed:.0f} s.")
        return blocks
