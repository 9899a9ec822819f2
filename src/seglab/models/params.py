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
    Options,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)

from seglab.errors import ConfigError


class AnyCase(StrOptions):
    """One of ``options``, whatever its letter case (the code reads these values lower-cased)."""

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and val.lower() in self.options


class Items(Options):
    """A list (or tuple) of at least ``min_len`` items, each satisfying ``item`` (a constraint);
    ``words`` names the items in messages ("integers >= 1"). An ``Options`` only because
    scikit-learn's ``validate_parameter_constraints`` accepts no other custom kind."""

    def __init__(self, item: Any, words: str, min_len: int = 0):
        super().__init__(object, set())
        self.item, self.words, self.min_len = make_constraint(item), words, min_len

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, (list, tuple)) and len(val) >= self.min_len and all(
            not isinstance(v, bool) and self.item.is_satisfied_by(v) for v in val)

    def __str__(self) -> str:
        return f"a {'non-empty ' if self.min_len else ''}list of {self.words}"


def widths(min_len: int = 0) -> Items:
    """Layer widths: integers >= 1, at least ``min_len`` of them (a zero-width layer, or a branch
    that needs a layer and has none, cannot be built)."""
    return Items(at_least(1), "integers >= 1", min_len)


def at_least(low: int | float, kind: type = Integral) -> Interval:
    """An ``Integral`` (or ``Real``) ``>= low``."""
    return Interval(kind, low, None, closed="left")


POSITIVE = Interval(Real, 0, None, closed="neither")
SHARE = Interval(Real, 0, 1, closed="left")
WIDTHS: list[Any] = [list, tuple]  # any list; layer widths are `widths()`
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
