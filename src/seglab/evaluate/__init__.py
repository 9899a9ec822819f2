"""Evaluation: metrics of a clustering and profiles of its segments, as plain numbers.

- ``evaluate_clustering(X, labels, truth=..., latent=...)`` -> ``(metrics, warnings)``
- ``cluster_sizes(labels)``, ``clustering_accuracy(truth, labels)`` (Hungarian ACC)
- ``segment_profiles(features, labels, proba=...)`` -> one row per segment plus population
"""

from seglab.evaluate.metrics import cluster_sizes, clustering_accuracy, evaluate_clustering
from seglab.evaluate.profiles import segment_profiles

__all__ = ["cluster_sizes", "clustering_accuracy", "evaluate_clustering", "segment_profiles"]
