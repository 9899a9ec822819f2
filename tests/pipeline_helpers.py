"""Small fitted pipelines shared by the pipeline, bundle, CLI and serve tests."""

from __future__ import annotations

import dataclasses

import pandas as pd

from seglab.data.synthetic import SyntheticSource

SENTINEL = "SENTINEL-ZX81"  # part of every customer id: it must never appear in a bundle file
QUIET_TRAINER = {"accelerator": "cpu", "logger": False, "enable_progress_bar": False,
                 "enable_checkpointing": False, "enable_model_summary": False}


def synthetic(n: int = 240, k: int = 4, seed: int = 0):
    """Synthetic customers whose ids are strings holding `SENTINEL`."""
    data = SyntheticSource(n_customers=n, n_segments=k, seed=seed).load()
    rename = {cid: f"{SENTINEL}-{cid}" for cid in data.customers["customer_id"]}

    def relabel(frame):
        if frame is None:
            return None
        frame = frame.copy()
        frame["customer_id"] = frame["customer_id"].map(rename)
        return frame

    return dataclasses.replace(data, customers=relabel(data.customers), transactions=relabel(data.transactions),
                               reviews=relabel(data.reviews))


def make_model(name: str, k: int = 4):
    if name == "kmeans":
        from seglab.models.kmeans import KMeansModel

        return KMeansModel(n_clusters=k, n_init=2)
    if name == "gmm":
        from seglab.models.classical.mixture import GMMModel

        return GMMModel(n_clusters=k, n_init=1)
    if name == "dec":
        from seglab.models.dec import DEC

        return DEC.from_config(n_clusters=k, max_epochs=3, cluster_max_epochs=2, n_init=2, num_threads=1,
                               trainer_kwargs=QUIET_TRAINER)
    if name == "hierarchical":
        from seglab.models.classical.hierarchical import HierarchicalModel

        return HierarchicalModel(n_clusters=k, assign="knn")  # keeps its training points (kNN)
    raise ValueError(name)


def fitted(name: str, text: bool, data=None):
    from seglab.pipeline import SegmentationPipeline

    data = synthetic() if data is None else data
    return SegmentationPipeline(make_model(name), text={"name": "minilm"} if text else None).fit(data), data


def transactions_frame(data) -> pd.DataFrame:
    """The transactions of ``data`` as a user's raw log would hold them."""
    return data.transactions[["customer_id", "timestamp", "amount", "quantity", "category"]].copy()
