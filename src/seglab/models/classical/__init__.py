"""Classical baselines on seglab's estimator protocol (`seglab.models.base.ClusterModel`).

Every model wraps scikit-learn's implementation (nothing is re-implemented), one family per
module: ``centroid`` (mini-batch k-means, PCA+k-means), ``mixture`` (GMM), ``hierarchical``
(Ward and other linkages, spectral), ``density`` (DBSCAN, HDBSCAN; noise labelled -1),
``consensus`` (evidence accumulation); ``sampling`` fits the O(n²) ones on a sample at large N.
k-means itself is `seglab.models.kmeans.KMeansModel`. Configs name them through this package
(``_target_: seglab.models.classical.GMMModel``).
"""

from seglab.models.classical.centroid import MiniBatchKMeansModel, PCAKMeansModel
from seglab.models.classical.consensus import ConsensusModel, co_association
from seglab.models.classical.density import DBSCANModel, HDBSCANModel, kdistance_eps
from seglab.models.classical.hierarchical import HierarchicalModel, SpectralModel
from seglab.models.classical.mixture import GMMModel

__all__ = [
    "ConsensusModel",
    "DBSCANModel",
    "GMMModel",
    "HDBSCANModel",
    "HierarchicalModel",
    "MiniBatchKMeansModel",
    "PCAKMeansModel",
    "SpectralModel",
    "co_association",
    "kdistance_eps",
]
