"""The figures every run writes in its run dir (``figures.*`` in the config): the space the model
clustered in, projected to 2-D, Rousseeuw's silhouette plot and the segments' sizes and business
indicators, drawn by `seglab.plots` on a seeded sample of customers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.plots import embedding_views, save, segment_kpis, silhouette_plot


def write_run_figures(run_dir: str | Path, X: np.ndarray, labels: np.ndarray, profiles: pd.DataFrame, *,
                      latent: np.ndarray | None = None, formats: Sequence[str] = ("png",),
                      max_points: int = 3000, umap: bool = False, random_state: int = 0) -> dict[str, float]:
    """The per-run figures (``embedding``, ``silhouette``, ``segments`` in each of ``formats``):
    the space the model clustered (``latent``, else the features ``X``) projected to 2-D (PCA;
    UMAP too with ``umap=True`` when installed), Rousseeuw's silhouette plot on ``X`` (where the
    run's silhouette metric is computed) and the segments' sizes and business indicators.
    Points are a seeded sample of ``max_points``; returns ``time/figures_s`` and
    ``time/figures_cpu_s`` (this process's CPU seconds: their cost to the run, whatever the load)."""
    import time

    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_samples

    t0, c0 = time.perf_counter(), time.process_time()
    run_dir = Path(run_dir)
    labels = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(random_state)
    n = len(labels)
    idx = np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    lab = labels[idx]
    names = dict(zip(profiles["segment"].astype(str), profiles["name"].astype(str), strict=True)) \
        if "name" in profiles else None
    Z = np.asarray(latent if latent is not None else X, dtype=float)[idx]
    space = "latent space" if latent is not None else "preprocessed features"
    coords = {"PCA": PCA(n_components=2, random_state=random_state).fit_transform(Z) if Z.shape[1] > 2 else Z[:, :2]}
    if umap:
        try:
            import umap as umap_lib

            coords["UMAP"] = umap_lib.UMAP(random_state=random_state, n_jobs=1).fit_transform(Z)
        except ImportError:
            pass
    save(embedding_views(coords, lab, f"segments in the {space} (2-D)", names), run_dir / "embedding.png", formats, tight=False)
    kept = lab >= 0
    if len(np.unique(lab[kept])) >= 2 and kept.sum() > len(np.unique(lab[kept])):
        Xs = np.asarray(X, dtype=float)[idx][kept]
        save(silhouette_plot(silhouette_samples(Xs, lab[kept]), lab[kept],
                             "silhouette per customer (preprocessed features)", names),
             run_dir / "silhouette.png", formats, tight=False)
    kpis = segment_kpis(profiles, "segments")
    if kpis is not None:
        save(kpis, run_dir / "segments.png", formats, tight=False)
    return {"time/figures_s": time.perf_counter() - t0, "time/figures_cpu_s": time.process_time() - c0}
