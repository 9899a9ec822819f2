"""Every figure seglab draws, for a run dir and for a comparison report, in one place.

Each function takes plain data (frames, arrays, the diagnostics' result objects) and returns a
``matplotlib.figure.Figure`` drawn on the Agg canvas (no pyplot, no display, no global backend
change); ``save`` writes it to a run dir in the formats asked for (PNG at ``DPI`` for browsers,
SVG and PDF for papers), ``render`` gives the bytes to a report. Nothing here computes a
statistic: callers pass what to draw.

- run dirs: ``profile_heatmap`` (``profiles.*``), ``k_selection`` (``k_selection.*``),
  ``transitions`` (``transitions.*``), and the figures `seglab.run_figures` writes for every
  run: ``embedding_views``, ``silhouette_plot``, ``segment_kpis``;
- reports: ``profile_heatmap`` again (the same figure), ``metric_vs_param``,
  ``embedding_views``, ``segment_sizes``.

Numbers printed on figures go through ``human`` (``1969``, ``12,345``, ``1.2M``, never
``1.97e+03``); colour scales of z-scores are clipped (``Z_CLIP``) and centred on 0, so one
near-empty segment far from the rest cannot wash out every other cell.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

DPI = 300  # report figures (``render``)
#: Run-dir figures (``save``): a run pays for them, so lighter by default (their budget: at most
#: 10% of the default run's time; measured by scripts/bench_run_cost.py).
RUN_DPI = 150
#: The formats ``save`` writes when it is not told otherwise.
FORMATS = ("png", "svg", "pdf")
#: Colour limit of z-score heatmaps: |z| above it takes the end colour (the cell's number still says).
Z_CLIP = 3.0

#: profiles.csv columns that are not per-feature means (business indicators, sizes, names).
PROFILE_META = {"segment", "name", "size", "share", "soft_size", "mean_confidence", "revenue", "revenue_share",
                "aov", "purchase_frequency", "purchases_per_year", "churn_share", "clv", "mean_sentiment",
                "top_categories"}


def human(value: float) -> str:
    """A number as a person writes it: 3 significant digits below 1,000, whole numbers with
    thousands separators up to a million (a year stays ``1969``), then ``1.2M``/``3.4B``."""
    if value is None or not np.isfinite(value):
        return "–"
    v = float(value)
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.1f}B"
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v:,.0f}"
    if a >= 1e3:
        return f"{v:.0f}"
    if a == 0:
        return "0"
    if a < 1e-3:
        return f"{v:.1e}"
    return f"{v:.3g}"


def render(fig: Figure, fmt: str = "png", dpi: int | None = None, tight: bool = True) -> bytes:
    """The figure as ``fmt`` bytes (``png`` at ``dpi``, default ``DPI``; ``svg``, ``pdf``).
    ``tight``: crop to the drawn content (``bbox_inches="tight"``, which draws the figure twice);
    False for figures already laid out by ``tight_layout``, where it only costs CPU."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi or DPI, bbox_inches="tight" if tight else None, facecolor="white",
                metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def to_png(fig: Figure) -> bytes:
    return render(fig, "png")


def save(fig: Figure | bytes, path: str | Path, formats: Sequence[str] | None = None, dpi: int = RUN_DPI,
         tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` and, for a Figure, the same stem in each of ``formats`` (default:
    only ``path``'s own suffix; PNG at ``dpi``; ``tight`` as in ``render``). PNG bytes are written
    as they are. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(fig, (bytes, bytearray)):
        path.write_bytes(fig)
        return path
    for fmt in dict.fromkeys([path.suffix.lstrip(".") or "png", *(formats or ())]):
        path.with_suffix("." + fmt).write_bytes(render(fig, fmt, dpi, tight))
    return path


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(n, max_cols))
    return int(math.ceil(n / cols)), cols


# --- segment profiles ---------------------------------------------------------------------------
def profile_matrix(profiles: pd.DataFrame, deviations: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(z, means, what z is) for the segments of a run (population and noise rows dropped).

    With ``profile_deviations.csv`` (``seglab.evaluate.segment_deviations``) z is each segment's
    mean against the population, ``(segment mean - population mean) / population std``. Without
    it z is computed from ``profiles.csv`` alone, across segment means (relative to the other
    segments: a feature whose segments differ little still spans the colours)."""
    seg = profiles[~profiles["segment"].astype(str).isin(["all", "noise"])].copy()
    seg.index = seg["segment"].astype(str)
    feats = [c for c in seg.columns if c not in PROFILE_META and pd.api.types.is_numeric_dtype(seg[c])]
    means = seg[feats].astype(float)
    if deviations is not None and not deviations.empty:
        dev = deviations.copy()
        dev.index = dev.index.astype(str)
        cols = [c for c in dev.columns if c in means.columns]
        z = dev.loc[[s for s in means.index if s in dev.index], cols].astype(float)
        return z, means.loc[z.index, cols], "segment mean vs population: (mean − population mean) / population std"
    spread = means.std(axis=0, ddof=0)
    means = means.loc[:, spread > 0]
    z = (means - means.mean(axis=0)) / means.std(axis=0, ddof=0)
    return z, means, "segment mean z-scored across segments (relative to the other segments)"


def profile_heatmap(profiles: pd.DataFrame, title: str, deviations: pd.DataFrame | None = None,
                    max_features: int = 24, labels: Mapping[str, str] | None = None) -> Figure | None:
    """Segment × feature heatmap (colour: z, see ``profile_matrix``, clipped at ±``Z_CLIP`` on a
    diverging palette centred on 0), annotated with the segment means in original units
    (``human``); rows are named by segment, descriptive name (when ``profiles`` has one) and
    share; columns by ``labels`` (feature -> words) where given; above ``max_features`` the
    features with the largest |z| are kept. None when there is nothing to draw."""
    z, values, what = profile_matrix(profiles, deviations)
    if z.empty or z.shape[1] == 0:
        return None
    if z.shape[1] > max_features:
        keep = set(z.abs().max(axis=0).sort_values(ascending=False).index[:max_features])
        cols = [c for c in z.columns if c in keep]
        z, values = z[cols], values[cols]
    n_seg, n_feat = z.shape
    meta = profiles.assign(segment=profiles["segment"].astype(str)).set_index("segment")
    names = meta["name"] if "name" in meta else pd.Series(dtype=object)
    ylabels = [f"{s}" + (f": {names[s]}" if s in names.index else "") + f" ({meta['share'].get(s, float('nan')):.0%})"
               for s in z.index]
    fig = Figure(figsize=(max(6.0, 0.5 * n_feat + 2.5), 0.5 * n_seg + 2.8))
    ax = fig.subplots()
    finite = np.abs(z.to_numpy()[np.isfinite(z.to_numpy())])
    lim = float(np.clip(finite.max() if finite.size else 1.0, 1.0, Z_CLIP))
    im = ax.imshow(np.clip(z.to_numpy(), -lim, lim), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_yticks(range(n_seg), ylabels, fontsize=8)
    from seglab.evaluate.profiles import feature_label

    xlabels = [feature_label(c, dict(labels or {})) for c in z.columns]
    ax.set_xticks(range(n_feat), xlabels, rotation=60, ha="right", fontsize=8)
    if n_seg * n_feat <= 450:
        for i in range(n_seg):
            for j in range(n_feat):
                ax.text(j, i, human(values.iat[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if abs(z.iat[i, j]) > 0.6 * lim else "black")
    clipped = bool(finite.size and finite.max() > lim)
    fig.colorbar(im, ax=ax, label=f"z (clipped at ±{lim:g})" if clipped else "z", shrink=0.8,
                 extend="both" if clipped else "neither")
    ax.set_title(f"{title}\ncolour: {what}", fontsize=9)
    fig.tight_layout()
    return fig


# --- diagnostics of one run -----------------------------------------------------------------------
K_PANELS = {"inertia": "inertia (elbow)", "silhouette": "silhouette (max)", "calinski_harabasz": "Calinski-Harabasz (max)",
            "davies_bouldin": "Davies-Bouldin (min)", "gap": "gap statistic", "bic": "GMM BIC (min)"}


def k_selection(sel: Any, title: str | None = None) -> Figure:
    """One panel per criterion of a ``seglab.diagnostics.choose_k.KSelection`` against k, each
    criterion's pick starred, the chosen k dashed."""
    cols = [c for c in K_PANELS if c in sel.table.columns]
    nrow, ncol = math.ceil(len(cols) / 3), 3
    fig = Figure(figsize=(4 * ncol, 3 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    ks = list(sel.table["k"].to_numpy())
    for ax, col in zip(axes, cols, strict=False):
        y = sel.table[col].to_numpy(dtype=float)
        if col == "gap":
            ax.errorbar(ks, y, yerr=sel.table["gap_sk"].to_numpy(dtype=float), marker="o", capsize=3)
        else:
            ax.plot(ks, y, marker="o")
        pick = sel.picks.get("elbow" if col == "inertia" else col)
        if pick is not None and pick in ks:
            ax.plot([pick], [y[ks.index(pick)]], marker="*", markersize=16, color="tab:red", label=f"picks {pick}")
            ax.legend(loc="best", fontsize=8)
        ax.axvline(sel.k, color="grey", linestyle="--", linewidth=1)
        ax.set_title(K_PANELS[col], fontsize=10)
        ax.set_xlabel("k")
        ax.set_xticks(ks)
    for ax in axes[len(cols):]:
        ax.axis("off")
    fig.suptitle(title or f"choosing k: rule {sel.rule!r} -> k = {sel.k}", fontsize=11)
    fig.tight_layout()
    return fig


def transitions(temporal: Any) -> Figure:
    """The row-normalised transition matrix of a ``seglab.diagnostics.temporal.TemporalResult``."""
    rates = temporal.rates
    fig = Figure(figsize=(1.0 + 0.7 * len(rates.columns), 1.0 + 0.6 * len(rates.index)))
    ax = fig.subplots()
    im = ax.imshow(rates.to_numpy(), vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(rates.columns)), [str(c) for c in rates.columns])
    ax.set_yticks(range(len(rates.index)), [str(c) for c in rates.index])
    for i in range(rates.shape[0]):
        for j in range(rates.shape[1]):
            v = rates.iat[i, j]
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white" if v > 0.6 else "black", fontsize=8)
    ax.set_xlabel("segment at end")
    ax.set_ylabel("segment at cut-off")
    ax.set_title(f"moved: {temporal.share_moved:.1%} of {temporal.n_customers}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


# --- comparison reports ---------------------------------------------------------------------------
def metric_vs_param(lines: Mapping[str, tuple[Sequence[float], Mapping[str, tuple[Sequence[float], Sequence[float]]]]],
                    references: Mapping[str, Mapping[str, float]], panels: Sequence[tuple[str, str]],
                    xlabel: str, title: str, ticks: Sequence[tuple[float, str]] | None = None) -> Figure:
    """One panel per metric: each line (name -> (x positions, {metric key: (means, stds)})) with
    error bars, each reference (label -> {metric key: mean}) as a dashed horizontal line.
    ``panels``: (metric key, panel title); ``ticks``: (position, label) for categorical x."""
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    colors = {name: f"C{i % 10}" for i, name in enumerate(list(lines) + list(references))}
    for ax, (key, panel_title) in zip(axes, panels, strict=False):
        for name, (xs, by_metric) in lines.items():
            means = np.asarray(by_metric[key][0], dtype=float)
            if not np.isfinite(means).any():
                continue
            stds = np.nan_to_num(np.asarray(by_metric[key][1], dtype=float))
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=colors[name], label=name)
        for label, by_metric in references.items():
            if np.isfinite(by_metric[key]):
                ax.axhline(by_metric[key], linestyle="--", linewidth=1, color=colors[label], label=label)
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel(xlabel)
        if ticks is not None:
            ax.set_xticks([p for p, _ in ticks], [t for _, t in ticks])
        ax.grid(alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(1, len(labels))), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.03 * ((len(labels) - 1) // 4)))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.06 + 0.03 * ((len(labels) - 1) // 4), 1, 0.97))
    return fig


def embedding_views(coords: Mapping[str, np.ndarray], labels: np.ndarray, title: str,
                    names: Mapping[str, str] | None = None) -> Figure:
    """One scatter panel per projection, points coloured by segment (noise grey); the legend
    gives each segment's name when ``names`` (segment string -> name) has it."""
    fig = Figure(figsize=(4.6 * len(coords), 4.4))
    axes = fig.subplots(1, len(coords), squeeze=False).ravel()
    segments = sorted(np.unique(labels))
    for ax, (name, xy) in zip(axes, coords.items(), strict=True):
        for i, seg in enumerate(segments):
            mask = labels == seg
            ax.scatter(xy[mask, 0], xy[mask, 1], s=5, alpha=0.6, color=f"C{i % 10}" if seg >= 0 else "grey",
                       label=(f"{seg}: {names[str(seg)]}" if names and str(seg) in names else f"segment {seg}")
                       if seg >= 0 else "noise", rasterized=True)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(markerscale=3, fontsize=8, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def segment_sizes(shares: Mapping[str, np.ndarray], title: str) -> Figure | None:
    """One horizontal bar per method, split into its segments' shares (largest first)."""
    if not shares:
        return None
    names = list(shares)
    fig = Figure(figsize=(8.5, 0.45 * len(names) + 1.6))
    ax = fig.subplots()
    for row, name in enumerate(names):
        left = 0.0
        for i, share in enumerate(sorted(shares[name], reverse=True)):
            ax.barh(row, share, left=left, color=f"C{i % 10}", edgecolor="white")
            if share >= 0.06:
                ax.text(left + share / 2, row, f"{share:.0%}", ha="center", va="center", fontsize=7, color="white")
            left += share
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of customers (segments sorted by size)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def drift(features: pd.DataFrame, segments: pd.DataFrame, threshold: float, title: str) -> bytes:
    """Drift of new customers (``seglab drift``): per-feature PSI (bars, the warning threshold as
    a line) beside the segments' training and new shares."""
    fig = Figure(figsize=(11, max(3.0, 0.28 * len(features) + 1.5)))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    order = features.sort_values("psi")
    colors = ["C3" if w else "C0" for w in order["warning"]]
    ax.barh(order["feature"].astype(str), order["psi"], color=colors)
    ax.axvline(threshold, color="C3", linestyle="--", linewidth=1, label=f"warning threshold {threshold:g}")
    ax.set_xlabel("population stability index vs training")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8, loc="lower right")
    pos = np.arange(len(segments))
    bx.bar(pos - 0.2, segments["train_share"], width=0.4, label="training")
    bx.bar(pos + 0.2, segments["new_share"], width=0.4, label="new")
    bx.set_xticks(pos, [str(s) for s in segments["segment"]])
    bx.set_xlabel("segment")
    bx.set_ylabel("share of customers")
    bx.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return to_png(fig)


# --- per-run figures ------------------------------------------------------------------------------
#: Business indicators of ``profiles.csv`` drawn by ``segment_kpis`` (column -> panel title, percent?).
KPI_PANELS = {"share": ("share of customers", True), "revenue_share": ("share of revenue", True),
              "aov": ("average order value", False), "purchases_per_year": ("purchases per year", False),
              "churn_share": ("share churned", True), "clv": ("customer lifetime value", False),
              "mean_sentiment": ("review sentiment", False)}


def silhouette_plot(values: np.ndarray, labels: np.ndarray, title: str, names: Mapping[str, str] | None = None) -> Figure:
    """Rousseeuw's silhouette plot: each point's silhouette, sorted within its segment, one band
    per segment; the dashed line is the mean."""
    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.subplots()
    y = 0
    for i, seg in enumerate(sorted(np.unique(labels))):
        v = np.sort(values[labels == seg])
        ax.fill_betweenx(np.arange(y, y + len(v)), 0, v, color=f"C{i % 10}" if seg >= 0 else "grey", alpha=0.8)
        label = f"{seg}: {names[str(seg)]}" if names and str(seg) in names else str(seg)
        ax.text(-0.02, y + len(v) / 2, label if seg >= 0 else "noise", ha="right", va="center", fontsize=7)
        y += len(v) + 10
    ax.axvline(float(np.mean(values)), color="black", linestyle="--", linewidth=1,
               label=f"mean {np.mean(values):.3f}")
    ax.set_xlabel("silhouette (feature space)")
    ax.set_yticks([])
    ax.set_xlim(min(-0.1, float(values.min()) - 0.05), 1)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def segment_kpis(profiles: pd.DataFrame, title: str) -> Figure | None:
    """One bar panel per business indicator in ``profiles`` (``KPI_PANELS``), one bar per segment,
    the population value dashed. None without any of them."""
    cols = [c for c in KPI_PANELS if c in profiles and pd.to_numeric(profiles[c], errors="coerce").notna().any()]
    seg = profiles[~profiles["segment"].astype(str).isin(["all"])]
    if not cols or seg.empty:
        return None
    pop = profiles[profiles["segment"].astype(str) == "all"]
    rows, ncol = _grid(len(cols), 4)
    fig = Figure(figsize=(3.2 * ncol, 2.6 * rows + 0.6))
    axes = fig.subplots(rows, ncol, squeeze=False).ravel()
    ticks = [str(s) for s in seg["segment"]]
    for ax, col in zip(axes, cols, strict=False):
        panel, percent = KPI_PANELS[col]
        vals = pd.to_numeric(seg[col], errors="coerce").to_numpy(dtype=float)
        bars = ax.bar(range(len(vals)), np.nan_to_num(vals), color=[f"C{i % 10}" for i in range(len(vals))])
        for bar, v in zip(bars, vals, strict=True):
            ax.annotate(f"{v:.0%}" if percent else human(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
        if len(pop) and col != "share" and np.isfinite(pd.to_numeric(pop[col], errors="coerce")).all():
            ax.axhline(float(pop[col].iloc[0]), color="black", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(vals)), ticks, fontsize=8)
        ax.set_title(panel, fontsize=9)
        ax.margins(y=0.15)
        ax.yaxis.set_major_formatter((lambda v, _: f"{v:.0%}") if percent else (lambda v, _: human(v)))
    for ax in axes[len(cols):]:
        ax.set_visible(False)
    fig.suptitle(title + " (dashed: all customers)", fontsize=10)
    fig.tight_layout()
    return fig
