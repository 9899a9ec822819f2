"""Per-customer features and their fitted preprocessing.

``seglab.train.run`` uses exactly this::

    df = build_features(data, **cfg.features.build)          # float, indexed by customer_id
    pre = Preprocessor(**cfg.features.preprocess)
    X = pre.fit_transform(df)                                 # float32 model matrix

``df`` is in original units (profiles use it); ``pre.report_`` says what preprocessing did.
"""

from seglab.features.build import TRANSACTION_FEATURES, build_features
from seglab.features.preprocess import Preprocessor
from seglab.features.transformers import CorrelationFilter, IQRClipper, IsolationForestFlagger, log1p_columns

__all__ = [
    "TRANSACTION_FEATURES",
    "CorrelationFilter",
    "IQRClipper",
    "IsolationForestFlagger",
    "Preprocessor",
    "build_features",
    "log1p_columns",
]
