"""Figures of holdout forecasts: calibration by purchase frequency and cumulative gains.

``calibration_frame`` is the table behind Fader, Hardie & Lee's (2005) conditional-expectation
figure: customers grouped by their repeat purchases in the calibration period (0, 1, ...,
``max_bucket``+), the mean actual holdout purchases beside each model's mean forecast.
``gains_frame`` is the cumulative gains curve: customers ranked by a model's probability of a
purchase, the share of all holdout buyers found in the top share of customers (a random
ranking follows the diagonal; lift = gain / share).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seglab.predict.scores import Forecast


def calibration_frame(x: np.ndarray, purchases: np.ndarray, forecasts: dict[str, Forecast],
                      max_bucket: int = 7) -> pd.DataFrame:
    """Mean actual and forecast holdout purchases per calibration-frequency bucket."""
    x = np.asarray(x, dtype=float)
    bucket = np.minimum(x, max_bucket).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "actual": np.asarray(purchases, float)})
    for name, fc in forecasts.items():
        frame[name] = fc.expected_purchases
    out = frame.groupby("bucket").mean()
    out.insert(0, "n_customers", frame.groupby("bucket").size())
    out.index = [f"{b}+" if b == max_bucket else str(b) for b in out.index]
    out.index.name = "repeat_purchases_in_calibration"
    return out


def gains_frame(purchases: np.ndarray, forecasts: dict[str, Forecast], n_points: int = 101) -> pd.DataFrame:
    """Share of holdout buyers captured when targeting the top ``share`` of customers."""
    buyers = (np.asarray(purchases, float) > 0).astype(float)
    n = len(buyers)
    share = np.linspace(0.0, 1.0, n_points)
    out = pd.DataFrame({"share_targeted": share})
    total = max(buyers.sum(), 1.0)
    for name, fc in forecasts.items():
        order = np.argsort(-fc.p_purchase, kind="stable")
        captured = np.concatenate([[0.0], np.cumsum(buyers[order])]) / total
        out[name] = captured[np.round(share * n).astype(int)]
    return out


def plot_calibration(calib: pd.DataFrame, segment_totals: pd.DataFrame, path: Path, unit: str) -> None:
    """Left: calibration by frequency bucket; right: total predicted vs actual per segment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    pos = np.arange(len(calib))
    ax.plot(pos, calib["actual"], "k-o", lw=2, label="actual")
    for name in [c for c in calib.columns if c not in ("n_customers", "actual")]:
        ax.plot(pos, calib[name], "--", marker=".", label=name)
    ax.set_xticks(pos, calib.index)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel(f"mean purchases in the holdout ({unit})")
    ax.set_title("Conditional expectations: forecast vs actual")
    ax.legend(fontsize=8)
    seg = segment_totals
    pos = np.arange(len(seg))
    models = [c for c in seg.columns if c != "actual"]
    width = 0.8 / (len(models) + 1)
    bx.bar(pos, seg["actual"], width, color="k", label="actual")
    for i, name in enumerate(models, start=1):
        bx.bar(pos + i * width, seg[name], width, label=name)
    bx.set_xticks(pos + 0.4 - width / 2, [str(s) for s in seg.index])
    bx.set_xlabel("segment")
    bx.set_ylabel("holdout purchases (total)")
    bx.set_title("Per segment: forecast vs actual")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gains(gains: pd.DataFrame, path: Path) -> None:
    """Cumulative gains (left) and lift (right) of each model's ranking."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    share = gains["share_targeted"].to_numpy()
    ax.plot(share, share, color="grey", ls=":", label="random")
    bx.axhline(1.0, color="grey", ls=":", label="random")
    inner = share > 0
    for name in [c for c in gains.columns if c != "share_targeted"]:
        ax.plot(share, gains[name], label=name)
        bx.plot(share[inner], gains[name].to_numpy()[inner] / share[inner], label=name)
    ax.set_xlabel("share of customers targeted (highest P(purchase) first)")
    ax.set_ylabel("share of holdout buyers captured")
    ax.set_title("Cumulative gains")
    bx.set_xlabel("share of customers targeted")
    bx.set_ylabel("lift")
    bx.set_title("Lift")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
