"""Clustering models on one estimator protocol (see `seglab.models.base`).

Configs name each model by its full path (``_target_: seglab.models.kmeans.KMeansModel``), so
this package imports nothing heavy at import time.
"""

from seglab.models.base import ClusterModel

__all__ = ["ClusterModel"]
