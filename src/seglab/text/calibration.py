"""Temperature scaling and expected calibration error for the sentiment classifiers.

Why: a fine-tuned classifier's probabilities are usually over-confident; a review score built
from them (P(positive) - P(negative)) is only meaningful as a probability if it is calibrated.
Temperature scaling (Guo et al., 2017) divides the logits by one scalar T fitted by maximum
likelihood on held-out labelled data: it changes confidence, never the predicted class.
"""

from __future__ import annotations

import numpy as np


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of integer labels ``y`` under softmax(``logits``)."""
    lp = _log_softmax(np.asarray(logits, dtype=np.float64))
    return float(-lp[np.arange(len(y)), np.asarray(y, dtype=int)].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The T > 0 minimising ``nll(logits / T, y)`` (a 1-D convex problem in log T)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    res = minimize_scalar(lambda lt: nll(logits / np.exp(lt), y), bounds=np.log(bounds), method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))


def expected_calibration_error(logits: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """ECE: |accuracy - confidence| of the predicted class, averaged over ``n_bins`` equal-width
    confidence bins weighted by their share of samples (the usual definition)."""
    lp = _log_softmax(np.asarray(logits, dtype=np.float64))
    proba = np.exp(lp)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y, dtype=int)).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)
