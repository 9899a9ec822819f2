"""Evaluation: pure metrics of a clustering and profiles of its segments, as plain numbers.

Labels and features in, numbers out: nothing here fits or probes a model (that is
``seglab.diagnostics``), writes files or draws (``seglab.plots``).

- ``evaluate_clustering(X, labels, truth=..., latent=...)`` -> ``(metrics, warnings)``: every
  metric of the registry (``seglab.evaluate.registry``) applied to one labelling;
- ``metric_specs()``, ``MetricSpec``: the registry, read by the console summary, the report
  tables and the benchmark scripts;
- ``cluster_sizes(labels)``, ``clustering_accuracy(truth, labels)`` (Hungarian ACC);
- ``segment_profiles(features, labels, proba=...)`` -> one row per segment plus population.
"""

from seglab.evaluate.metrics import cluster_sizes, clustering_accuracy, evaluate_clustering
from seglab.evaluate.profiles import segment_deviations, segment_profiles
from seglab.evaluate.registry import (
    MetricSpec,
    get_spec,
    metric,
    metric_specs,
    register,
    registered,
    report_specs,
    summary_specs,
)

__all__ = [
    "MetricSpec",
    "cluster_sizes",
    "clustering_accuracy",
    "evaluate_clustering",
    "get_spec",
    "metric",
    "metric_specs",
    "register",
    "registered",
    "report_specs",
    "segment_deviations",
    "segment_profiles",
    "summary_specs",
]
