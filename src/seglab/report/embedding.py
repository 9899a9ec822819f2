"""A run's embedding for the 2-D views in a report, read from what the run saved.

A run saves the space its model clustered in (``embedding.parquet``: the latent code of deep
models, the preprocessed features of classical ones) with the customers' segments, so a report
draws it from the run dir without reading the data again, re-encoding review text or loading
the model. ``embedding.parquet`` holds the user's customer ids, so like ``segments.parquet`` it
stays in the run dir unless ``privacy.upload_segments=true``: a report on another machine says
the view was not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Embedding:
    Z: np.ndarray  # (n, d) the space the model clustered in
    labels: np.ndarray  # the run's segments, aligned with Z
    space: str  # "latent space (d=10)" or "preprocessed features (d=17)"


def load_embedding(path: Path) -> Embedding:
    """The embedding a run saved (``seglab.rundir.EMBEDDING``)."""
    frame = pd.read_parquet(path)
    z = frame[[c for c in frame.columns if str(c).startswith("z_")]].to_numpy(dtype=np.float64)
    space = str(frame.attrs.get("space", f"embedding (d={z.shape[1]})"))
    return Embedding(z, frame["segment"].to_numpy().astype(int), space)


def project_2d(Z: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """2-D coordinates by PCA, t-SNE (scikit-learn) or UMAP (the ``umap`` extra; callers fall back to PCA
    without it, `umap_available`)."""
    if Z.shape[1] <= 2 and method == "pca":
        return np.pad(Z, ((0, 0), (0, 2 - Z.shape[1])))
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(Z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(5.0, (len(Z) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(Z)
    if method == "umap":
        import umap  # optional

        return umap.UMAP(n_components=2, random_state=seed, n_jobs=1).fit_transform(Z)
    raise ValueError(f"unknown projection {method!r}")


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except Exception:
        return False
    return True


def sample_indices(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
