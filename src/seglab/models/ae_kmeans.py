"""AE+k-means: pretrain an MLP autoencoder, run k-means (``n_init`` restarts) on its latent space.

This is also the start of DEC and IDEC (`seglab.models.dec` extends it with the self-training
phase), so the k-means start exists once. The estimator, its settings and the pretraining are
`seglab.models.deep.DeepClusterModel`'s; the clustering settings are
`seglab.models.settings.LatentKMeans`: ``n_init`` restarts, on a seeded sample of
``kmeans_sample_size`` rows above that many and every row then assigned
(`seglab.models.centres`), and ``alpha``, the Student-t kernel behind ``predict_proba``.
"""

from __future__ import annotations

import time

import numpy as np

from seglab.models.centres import kmeans_centres
from seglab.models.deep import DeepClusterModel


class AEKMeans(DeepClusterModel):
    """Autoencoder pretraining followed by k-means in the latent space.

    ``predict_proba`` is DEC's Student-t kernel (``alpha``) around the centres: a soft score whose
    argmax is the nearest centre, i.e. ``predict``. ``init_labels_`` keeps the k-means labels.
    """

    def _cluster_latent(self, X: np.ndarray) -> None:
        t1 = time.perf_counter()
        Z = self._latent(X)
        self.init_labels_, self.cluster_centers_, inertia = self._initial_partition(X, Z)
        self._report["fit/kmeans_inertia"] = inertia
        self._report["fit/kmeans_seconds"] = time.perf_counter() - t1
        self.labels_ = self.init_labels_

    def _initial_partition(self, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(labels, latent centres, inertia)``: k-means on the latent code ``Z``."""
        c = self._settings("clustering")
        return kmeans_centres(Z, int(self.n_clusters), n_init=int(c.n_init), random_state=self.random_state,
                              sample_size=c.kmeans_sample_size, label="k-means on the latent")
