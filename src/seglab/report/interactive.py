"""The interactive companion of a report (``compare.py --interactive``): ``interactive.html``
with each featured embedding view and profile heatmap as a Plotly figure (zoom, hover a
customer's segment, a cell's value). Plotly's JavaScript is embedded in the file (nothing is
fetched); the static ``report.html`` stays script-free. Needs the report extra (plotly)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd


def _plotly():
    try:
        import plotly.graph_objects as go
    except ImportError as err:
        from seglab.errors import SeglabError

        raise SeglabError('--interactive needs the report extra: pip install "seglab[report]"') from err
    return go


class InteractiveFigures:
    """Collects figures while a report is built; ``write`` puts them in one HTML file."""

    def __init__(self) -> None:
        self.figures: list[tuple[str, object]] = []
        _plotly()

    def embedding(self, title: str, xy: np.ndarray, labels: np.ndarray, names: dict[str, str] | None = None) -> None:
        go = _plotly()
        fig = go.Figure()
        for seg in sorted(np.unique(labels)):
            mask = labels == seg
            name = "noise" if seg < 0 else f"{seg}: {names[str(seg)]}" if names and str(seg) in names else f"segment {seg}"
            fig.add_trace(go.Scattergl(x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name,
                                       marker={"size": 4, "opacity": 0.7}))
        fig.update_layout(title=title, height=560, legend={"font": {"size": 10}})
        self.figures.append((title, fig))

    def profiles(self, title: str, z: pd.DataFrame, values: pd.DataFrame, clip: float = 3.0) -> None:
        go = _plotly()
        from seglab.plots import human

        text = values.map(human).to_numpy()
        fig = go.Figure(go.Heatmap(z=np.clip(z.to_numpy(), -clip, clip), x=list(z.columns), y=list(z.index),
                                   zmid=0, zmin=-clip, zmax=clip, colorscale="RdBu_r", text=text,
                                   texttemplate="%{text}", customdata=z.to_numpy(),
                                   hovertemplate="%{y} · %{x}<br>mean %{text}<br>z %{customdata:.2f}<extra></extra>"))
        fig.update_layout(title=title, height=120 + 40 * len(z.index))
        self.figures.append((title, fig))

    def write(self, path: Path, title: str) -> Path | None:
        if not self.figures:
            return None
        parts = []
        for i, (_, fig) in enumerate(self.figures):
            parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
        path.write_text("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                        f"{html.escape(title)} (interactive)</title></head><body style=\"max-width:1200px;margin:auto\">"
                        f"<h1>{html.escape(title)}: interactive figures</h1>" + "\n".join(parts) + "</body></html>")
        return path
