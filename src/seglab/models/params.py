"""What model parameters may be, stated once, scikit-learn's way (``_parameter_constraints``).

Every seglab model and settings object declares its constraints in the class; ``check_params``
applies them when a model is fitted (a `ConfigError` naming the parameter, the value and what is
allowed), and `seglab.config` applies the same ones to a composed config before a run reads any
data. Models that wrap a scikit-learn estimator reuse that estimator's constraints
(``wrapped_constraints``) instead of restating them.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)

from seglab.errors import ConfigError


class AnyCase(StrOptions):
    """One of ``options``, whatever its letter case (the code reads these values lower-cased)."""

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and val.lower() in self.options


def at_least(low: int | float, kind: type = Integral) -> Interval:
    """An ``Integral`` (or ``Real``) ``>= low``."""
    return Interval(kind, low, None, closed="left")


POSITIVE = Interval(Real, 0, None, closed="neither")
SHARE = Interval(Real, 0, 1, closed="left")
WIDTHS: list[Any] = [list, tuple]
SEED: list[Any] = [Interval(Integral, 0, 2**32 - 1, closed="both"), None]
#: ``max_samples`` of the models fitted on a sample at large N, and how the rest are assigned.
SAMPLING: dict[str, list[Any]] = {"max_samples": [at_least(1), None], "assign": [StrOptions({"centroid", "knn"})],
                                  "assign_neighbors": [at_least(1)], "random_state": SEED}


def wrapped_constraints(estimator: type, *names: str, **renamed: str) -> dict[str, list[Any]]:
    """The constraints of a wrapped scikit-learn ``estimator``'s parameters ``names``, and of
    ``renamed`` ones (``n_clusters="n_components"``: ours is called n_clusters)."""
    own = estimator._parameter_constraints
    return {**{name: own[name] for name in names}, **{ours: own[theirs] for ours, theirs in renamed.items()}}


def check_params(obj: Any) -> None:
    """Raise `ConfigError` when a parameter of ``obj`` (an estimator or settings object) breaks
    its class's ``_parameter_constraints``."""
    try:
        validate_parameter_constraints(type(obj)._parameter_constraints, obj.get_params(deep=False),
                                       caller_name=type(obj).__name__)
    except InvalidParameterError as err:
        raise ConfigError(str(err)) from None
