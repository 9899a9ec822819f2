"""Unfitted copies of a fitted model: what the stability diagnostics refit.

A diagnostic that refits gets the run's fitted model, not a recipe for building one: the copy
has the same constructor parameters (scikit-learn's ``get_params``/``clone`` contract, which
every seglab model follows), another ``random_state``, and any parameters the caller overrides
for refits (a run passes Lightning trainer settings without its loggers, so refits do not mix
into the run's training curves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.base import clone


def unfitted_copy(model: Any, seed: int | None = None, overrides: Mapping[str, Any] | None = None) -> Any:
    """A new, unfitted estimator with ``model``'s parameters, ``random_state=seed`` (when the
    model has one and ``seed`` is given) and ``overrides`` applied.

    The overrides are applied before copying, so parameters that must not be deep-copied (a
    trainer's live loggers) can be replaced rather than cloned.
    """
    params = dict(model.get_params(deep=False))
    unknown = sorted(set(overrides or {}) - set(params))
    if unknown:
        raise ValueError(f"{type(model).__name__} has no parameter(s) {unknown} to override for refits")
    params.update(overrides or {})
    if seed is not None and "random_state" in params:
        params["random_state"] = int(seed)
    return clone(type(model)(**params))
