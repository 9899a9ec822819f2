"""Re-compute a run's embedding from what the run saved, for the 2-D views in a report.

A run dir holds the resolved ``config.yaml``, the fitted ``preprocessor.joblib`` and
``model.ckpt``, and the labels it produced (``segments.parquet``). ``rebuild_embedding`` loads
the data source named in the config again, builds the same features, applies the saved
preprocessor and the saved model's ``transform`` (the latent space for deep models, the
preprocessed features for classical ones), so the picture shows the space the model clustered
in. Points are coloured by the run's own saved labels, and the saved model's ``predict`` on the
rebuilt matrix is compared with them (``label_agreement``): 1.0 means the rebuild is faithful.
Nothing is re-trained. When the data cannot be loaded again (moved files, another machine) the
caller gets a ``RuntimeError`` saying why, and the report says the view was not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Embedding:
    Z: np.ndarray  # (n, d) the space the model clustered in
    labels: np.ndarray  # the run's saved segments, aligned with Z
    label_agreement: float  # share of customers where model.predict(rebuilt X) == saved segment
    space: str  # "latent space (d=10)" or "preprocessed features (d=17)"


def rebuild_embedding(config_path: Path, preprocessor_path: Path, model_path: Path,
                      segments_path: Path) -> Embedding:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from seglab.features import Preprocessor
    from seglab.models.base import ClusterModel
    from seglab.train import customer_features

    try:
        cfg = OmegaConf.load(config_path)
        data = instantiate(cfg.data, _convert_="all").load()
        features = customer_features(cfg, data)
    except Exception as err:
        raise RuntimeError(f"could not rebuild the run's features from {config_path}: "
                           f"{type(err).__name__}: {err}") from err
    pre = Preprocessor.load(preprocessor_path)
    model = ClusterModel.load(model_path)
    X = pre.transform(features)
    Z = np.asarray(model.transform(X), dtype=np.float64)
    segments = pd.read_parquet(segments_path)
    ids = pd.Index(data.customer_ids)
    saved = segments.set_index("customer_id")["segment"].reindex(ids)
    if saved.isna().any():
        raise RuntimeError(f"{int(saved.isna().sum())} rebuilt customers are missing from {segments_path}")
    labels = saved.to_numpy().astype(int)
    agreement = float(np.mean(np.asarray(model.predict(X)).astype(int) == labels))
    kind = "latent space" if getattr(model, "has_embedding", False) else "preprocessed features"
    return Embedding(Z, labels, agreement, f"{kind} (d={Z.shape[1]})")


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
