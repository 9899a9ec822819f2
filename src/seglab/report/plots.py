"""The report's figures, drawn with matplotlib's Agg canvas (no display, no global backend change).

Every function returns PNG bytes; the renderers write them to files (Markdown) or embed them
as base64 (HTML).
"""

from __future__ import annotations

import io
from collections import defaultdict

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seglab.report.table import Method, MetricSpec, _as_number, _display_key, _sort_key, short_model_name

DPI = 110


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(n, max_cols)
    return int(np.ceil(n / cols)), cols


def metric_vs_param(methods: list[Method], key: str, metrics: list[MetricSpec], title: str) -> bytes | None:
    """Mean ± std (over seeds) of each metric against the swept value ``key``, one line per model
    and setting of its other swept values; methods that do not sweep ``key`` are dashed
    horizontal lines at their mean (the reference they are compared with). None when no model
    has two values of ``key``."""
    lines: dict[str, list[tuple[object, Method]]] = defaultdict(list)
    flat: list[Method] = []
    for m in methods:
        if key in m.params:
            rest = {k: v for k, v in m.params.items() if k != key}
            name = short_model_name(m.model)
            if rest:
                name += "(" + ", ".join(f"{_display_key(k, list(rest))}={v}" for k, v in rest.items()) + ")"
            lines[name].append((m.params[key], m))
        else:
            flat.append(m)
    lines = {k: sorted(v, key=lambda p: _sort_key(p[0])) for k, v in lines.items() if len(v) >= 2}
    if not lines:
        return None
    # Reference lines only where comparable: never against k itself, else at the lines' k.
    line_ks = {m.k for pts in lines.values() for _, m in pts}
    flat = [] if key in ("n_clusters", "model.n_clusters") else [m for m in flat if m.k in line_ks]
    values = sorted({v for pts in lines.values() for v, _ in pts}, key=_sort_key)
    numeric = all(_as_number(v) is not None for v in values)
    pos = {v: (_as_number(v) if numeric else i) for i, v in enumerate(values)}
    rows, cols = _grid(len(metrics))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    colors = {name: f"C{i % 10}" for i, name in enumerate(list(lines) + [m.label for m in flat])}
    for ax, spec in zip(axes, metrics, strict=False):
        for name, pts in lines.items():
            xs = [pos[v] for v, _ in pts]
            means = np.array([m.stats[spec.key][0] for _, m in pts])
            stds = np.nan_to_num(np.array([m.stats[spec.key][1] for _, m in pts]))
            if not np.isfinite(means).any():
                continue
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=colors[name], label=name)
        for m in flat:
            mean = m.stats[spec.key][0]
            if np.isfinite(mean):
                ax.axhline(mean, linestyle="--", linewidth=1, color=colors[m.label], label=m.label)
        ax.set_title(spec.label + (" (↑)" if spec.higher_is_better else " (↓)"), fontsize=10)
        ax.set_xlabel(_display_key(key, []))
        if not numeric:
            ax.set_xticks(list(pos.values()), [str(v) for v in values])
        ax.grid(alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(1, len(labels))), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.03 * ((len(labels) - 1) // 4)))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.06 + 0.03 * ((len(labels) - 1) // 4), 1, 0.97))
    return to_png(fig)


def embedding_views(coords: dict[str, np.ndarray], labels: np.ndarray, title: str) -> bytes:
    """One scatter panel per projection, points coloured by segment."""
    fig = Figure(figsize=(4.6 * len(coords), 4.4))
    axes = fig.subplots(1, len(coords), squeeze=False).ravel()
    segments = sorted(np.unique(labels))
    for ax, (name, xy) in zip(axes, coords.items(), strict=True):
        for i, seg in enumerate(segments):
            mask = labels == seg
            ax.scatter(xy[mask, 0], xy[mask, 1], s=5, alpha=0.6, color=f"C{i % 10}" if seg >= 0 else "grey",
                       label=f"segment {seg}" if seg >= 0 else "noise", rasterized=True)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(markerscale=3, fontsize=8, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return to_png(fig)


#: profiles.csv columns that are not per-feature means (business indicators, sizes, names).
PROFILE_META = {"segment", "name", "size", "share", "soft_size", "mean_confidence", "revenue", "revenue_share",
                "aov", "purchase_frequency", "purchases_per_year", "churn_share", "clv", "mean_sentiment",
                "top_categories"}


def profile_matrix(profiles: pd.DataFrame, deviations: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(z, means, what z is) for the segments of a run (population and noise rows dropped).

    With ``profile_deviations.csv`` (evaluate's ``segment_deviations``) z is each segment's mean
    against the population, ``(segment mean - population mean) / population std``. Without it z
    is computed from ``profiles.csv`` alone, across segment means (relative to the other
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
                    max_features: int = 24) -> bytes | None:
    """Segment × feature heatmap (colour: z, see ``profile_matrix``), annotated with the segment
    means in original units; above ``max_features`` the features with the largest |z| are kept."""
    z, values, what = profile_matrix(profiles, deviations)
    if z.empty or z.shape[1] == 0:
        return None
    if z.shape[1] > max_features:
        keep = set(z.abs().max(axis=0).sort_values(ascending=False).index[:max_features])
        cols = [c for c in z.columns if c in keep]
        z, values = z[cols], values[cols]
    n_seg, n_feat = z.shape
    meta = profiles.assign(segment=profiles["segment"].astype(str)).set_index("segment")
    ylabels = [f"{s} ({meta['share'].get(s, float('nan')):.0%})" for s in z.index]
    fig = Figure(figsize=(max(6.0, 0.5 * n_feat + 2.5), 0.5 * n_seg + 2.8))
    ax = fig.subplots()
    lim = max(1.0, float(np.nanmax(np.abs(z.to_numpy()))))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_yticks(range(n_seg), ylabels, fontsize=8)
    ax.set_xticks(range(n_feat), list(z.columns), rotation=60, ha="right", fontsize=8)
    if n_seg * n_feat <= 450:
        for i in range(n_seg):
            for j in range(n_feat):
                v = values.iat[i, j]
                text = f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if abs(z.iat[i, j]) > 0.6 * lim else "black")
    fig.colorbar(im, ax=ax, label="z", shrink=0.8)
    ax.set_title(f"{title}\ncolour: {what}", fontsize=9)
    fig.tight_layout()
    return to_png(fig)


def segment_sizes(shares: dict[str, np.ndarray], title: str) -> bytes | None:
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
    return to_png(fig)
