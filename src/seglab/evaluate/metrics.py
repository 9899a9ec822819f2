"""seglab's clustering metrics, each registered once, and ``evaluate_clustering`` applying them.

Every metric below is a function of one ``ClusteringInputs`` (``seglab.evaluate.inputs``: the
checked labelling, its sizes, the clustered points of each space, the points with a ground
truth) registered with ``@metric(key, label, ...)`` (``seglab.evaluate.registry``); the
decorator's fields say which way is better, the family, the decimals and where the metric is
shown. ``evaluate_clustering`` builds the inputs and applies every registered metric whose
inputs exist, so adding a metric here is the whole change: the run's ``metrics.json``, the
tracker, the console summary, the report tables and the benchmark scripts all follow the
registry. The conventions (noise, undefined values, sampling) are in ``seglab.evaluate.inputs``.

Families: ``sizes`` (from the labels alone), ``internal`` (on the preprocessed features every
model shares), ``latent`` (the same on a deep model's embedding: not comparable across models),
``external`` (against a ground truth). The specs at the end describe numbers other stages
measure (fit time, stability, explanations) so that they are shown the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.metrics.cluster import contingency_matrix

from seglab.evaluate.inputs import NOISE, ClusteringInputs, Space, as_labels, encode
from seglab.evaluate.registry import MetricSpec, metric, metric_specs, register

__all__ = ["NOISE", "cluster_sizes", "clustering_accuracy", "evaluate_clustering"]

NAN = float("nan")


def cluster_sizes(labels: Sequence[int] | np.ndarray, n_clusters: int | None = None) -> dict[int, int]:
    """Number of points per label, sorted by label; noise appears as key ``-1``.

    With ``n_clusters`` every cluster id in ``0..n_clusters-1`` is listed, empty ones as 0.
    """
    labels = as_labels(labels)
    values, counts = np.unique(labels, return_counts=True)
    sizes = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    if n_clusters is not None:
        for c in range(int(n_clusters)):
            sizes.setdefault(c, 0)
    return dict(sorted(sizes.items()))


def clustering_accuracy(truth: Sequence | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Unsupervised clustering accuracy: the best one-to-one map of clusters to classes.

    Builds the contingency matrix (clusters x classes) and finds the assignment maximising the
    matched count with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``).
    Works when the number of clusters differs from the number of classes: unmatched clusters
    (or classes) count as errors. Noise (``-1``) is treated as one more cluster.
    """
    truth_codes = encode(truth)
    label_codes = encode(labels)
    if truth_codes.shape != label_codes.shape:
        raise ValueError(
            f"truth and labels differ in length: {truth_codes.shape[0]} vs {label_codes.shape[0]}"
        )
    n = truth_codes.shape[0]
    if n == 0:
        return float("nan")
    table = contingency_matrix(label_codes, truth_codes)  # rows: clusters, columns: classes
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / n)


# --- sizes ---------------------------------------------------------------------------------
@metric("eval/n_clusters", "segments", decimals=1, family="sizes")
def n_clusters(inputs: ClusteringInputs) -> float:
    """Non-empty clusters, noise excluded."""
    return float(np.count_nonzero(inputs.sizes))


@metric("eval/min_cluster_share", "min share", decimals=3, family="sizes")
def min_cluster_share(inputs: ClusteringInputs) -> float:
    """Smallest share of all points over clusters ``0..k-1`` (an empty one counts as 0)."""
    return float(inputs.shares[: inputs.k].min()) if inputs.k else NAN


@metric("eval/max_cluster_share", "max share", decimals=3, family="sizes")
def max_cluster_share(inputs: ClusteringInputs) -> float:
    return float(inputs.shares.max()) if inputs.sizes.size else NAN


@metric("eval/noise_share", "noise", decimals=3, family="sizes")
def noise_share(inputs: ClusteringInputs) -> float:
    return float(inputs.is_noise.mean())


# --- internal: on the features every model shares, and on a deep model's latent space ---------
@metric("eval/silhouette_sampled", "silhouette sampled", decimals=0, family="internal")
def silhouette_sampled(inputs: ClusteringInputs) -> float:
    """1.0 when the silhouette is estimated on a seeded sample (above ``silhouette_sample_size``)."""
    if inputs.n_clustered > inputs.silhouette_sample_size:
        inputs.warn(f"silhouette is estimated on a seeded sample of {inputs.silhouette_sample_size} of "
                    f"{inputs.n_clustered} points.")
        return 1.0
    return 0.0


def _silhouette(space: Space, inputs: ClusteringInputs) -> float:
    X, labels = (space.X, space.labels) if space.sample is None else (space.X[space.sample],
                                                                      space.labels[space.sample])
    n_labels = np.unique(labels).size
    if 2 <= n_labels <= len(labels) - 1:
        return float(silhouette_score(X, labels))
    inputs.warn(f"silhouette on {space.description}: the seeded sample of {len(labels)} points holds "
                f"{n_labels} cluster(s); NaN.")
    return NAN


def _calinski_harabasz(space: Space, inputs: ClusteringInputs) -> float:
    return float(calinski_harabasz_score(space.X, space.labels))


def _davies_bouldin(space: Space, inputs: ClusteringInputs) -> float:
    return float(davies_bouldin_score(space.X, space.labels))


def _on(inputs: ClusteringInputs, space_name: str, formula) -> float:
    """``formula(space, inputs)`` on the clustered points of one space; NaN where undefined."""
    space = inputs.space(space_name)
    return formula(space, inputs) if space.defined else NAN


@metric("eval/silhouette", "Silhouette", higher_is_better=True, family="internal", summary=True, report="rank")
def silhouette(inputs: ClusteringInputs) -> float:
    return _on(inputs, "features", _silhouette)


@metric("eval/calinski_harabasz", "Calinski-Harabasz", higher_is_better=True, family="internal", summary=True,
        report="rank")
def calinski_harabasz(inputs: ClusteringInputs) -> float:
    return _on(inputs, "features", _calinski_harabasz)


@metric("eval/davies_bouldin", "Davies-Bouldin", higher_is_better=False, family="internal", summary=True,
        report="rank")
def davies_bouldin(inputs: ClusteringInputs) -> float:
    return _on(inputs, "features", _davies_bouldin)


@metric("eval/latent_silhouette", "latent silhouette", higher_is_better=True, family="latent", summary=True,
        needs="latent")
def latent_silhouette(inputs: ClusteringInputs) -> float:
    return _on(inputs, "latent", _silhouette)


@metric("eval/latent_calinski_harabasz", "latent Calinski-Harabasz", higher_is_better=True, family="latent",
        needs="latent")
def latent_calinski_harabasz(inputs: ClusteringInputs) -> float:
    return _on(inputs, "latent", _calinski_harabasz)


@metric("eval/latent_davies_bouldin", "latent Davies-Bouldin", higher_is_better=False, family="latent",
        needs="latent")
def latent_davies_bouldin(inputs: ClusteringInputs) -> float:
    return _on(inputs, "latent", _davies_bouldin)


# --- external: against a ground truth (all points, noise as one more label) --------------------
def _against_truth(inputs: ClusteringInputs, formula) -> float:
    known = inputs.external()
    return NAN if known is None else float(formula(*known))


@metric("eval/acc", "ACC", higher_is_better=True, family="external", summary=True, report="rank", needs="truth")
def acc(inputs: ClusteringInputs) -> float:
    """Hungarian clustering accuracy (``clustering_accuracy``)."""
    return _against_truth(inputs, clustering_accuracy)


@metric("eval/nmi", "NMI", higher_is_better=True, family="external", summary=True, report="rank", needs="truth")
def nmi(inputs: ClusteringInputs) -> float:
    return _against_truth(inputs, normalized_mutual_info_score)


@metric("eval/ari", "ARI", higher_is_better=True, family="external", summary=True, report="rank", needs="truth")
def ari(inputs: ClusteringInputs) -> float:
    return _against_truth(inputs, adjusted_rand_score)


# --- measured by other stages: declared here so every table shows them the same way ----------
register(MetricSpec("time/fit_s", "fit time (s)", False, decimals=1, family="time", summary=True, report="info"))
register(MetricSpec("stability/seed_ari_mean", "seed ARI", True, family="stability"))
register(MetricSpec("stability/bootstrap_ari_mean", "bootstrap ARI", True, family="stability"))
register(MetricSpec("stability/min_segment_jaccard", "min segment Jaccard", True, family="stability"))
register(MetricSpec("stability/time_share_moved", "moved over time", None, family="stability"))
register(MetricSpec("explain/surrogate_fidelity", "surrogate fidelity", True, family="explain"))


def evaluate_clustering(
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    truth: Sequence | np.ndarray | None = None,
    latent: np.ndarray | None = None,
    silhouette_sample_size: int = 10000,
    small_cluster_share: float = 0.01,
    random_state: int = 0,
    n_clusters: int | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Every registered metric whose inputs exist, for one labelling.

    Args:
        X: the preprocessed feature matrix the model was given, shape (n, d).
        labels: cluster id per row, ``-1`` for noise (DBSCAN/HDBSCAN).
        truth: optional ground-truth segment per row (any hashable values); adds ACC/NMI/ARI.
        latent: optional embedding (deep models' ``transform``), shape (n, m); adds
            ``eval/latent_*`` internal metrics.
        silhouette_sample_size: silhouette on a seeded uniform sample above this many points.
        small_cluster_share: warn when a cluster holds fewer than this share of all points.
        random_state: seed of the silhouette sample.
        n_clusters: the k the model was asked for; clusters ``0..k-1`` that came out empty are
            warned about. Defaults to ``max(label) + 1``.

    Returns:
        ``(metrics, warnings)``: ``metrics`` maps ``eval/<name>`` to float (NaN = undefined):
        ``n_clusters`` (non-empty clusters, noise excluded), ``min_cluster_share`` and
        ``max_cluster_share`` (over clusters ``0..k-1``, empty ones count as 0, shares of all
        points), ``noise_share``, ``silhouette``, ``silhouette_sampled`` (1.0/0.0),
        ``calinski_harabasz``, ``davies_bouldin``; ``latent_*`` of the last three when
        ``latent`` is given; ``acc``, ``nmi``, ``ari`` when ``truth`` is given; plus any metric
        registered since. ``warnings`` are sentences a person should read.
    """
    inputs = ClusteringInputs(X, labels, truth=truth, latent=latent, silhouette_sample_size=silhouette_sample_size,
                              small_cluster_share=small_cluster_share, random_state=random_state,
                              n_clusters=n_clusters)
    present = {None: True, "truth": inputs.has_truth, "latent": inputs.has_latent}
    metrics = {spec.key: float(spec.compute(inputs)) for spec in metric_specs(computed=True) if present[spec.needs]}
    return metrics, inputs.warnings
