"""What a config value may be, in scikit-learn's vocabulary, and the one-line message when it is not.

seglab states allowed values the way scikit-learn estimators do (``_parameter_constraints``:
``Interval``, ``StrOptions``, a type, ``None``, ``"boolean"``), so a model that wraps a
scikit-learn estimator reuses that estimator's constraints as they are, and every other object
or config group uses the same words. Two additions: `Choice` (options matched case-insensitively,
listed in the order given, with unlisted aliases such as ``off`` for ``none``), `ListOf` and `Date`.

For a class, keys its ``_parameter_constraints`` does not list get their type from the
constructor's annotations (``int``, ``float | None``, ``list[str]``...), so a new argument is
type-checked from the day it is added; ranges and choices are what a class declares.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    _Booleans,
    _Constraint,
    _InstancesOf,
    _NoneConstraint,
    _RandomStates,
    make_constraint,
)

from seglab.errors import ConfigError
from seglab.models.params import Items
from seglab.plain import plain

__all__ = ["Choice", "Date", "Integral", "Interval", "ListOf", "Options", "Real", "StrOptions", "constraints_of", "describe",
           "bad_values", "problems", "require", "show"]


def _make(constraint: Any) -> _Constraint:
    return constraint if isinstance(constraint, _Constraint) else make_constraint(constraint)


class Choice(StrOptions):
    """One of ``options`` (case-insensitive; listed in this order), or one of the unlisted ``aliases``."""

    def __init__(self, *options: str, aliases: Iterable[str] = ()):
        super().__init__(set(options) | set(aliases))
        self.listed = tuple(options)

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and val.lower() in {o.lower() for o in self.options}

    def __str__(self) -> str:
        return "one of " + ", ".join(self.listed) if len(self.listed) > 1 else self.listed[0]


class ListOf(_Constraint):
    """A list (or tuple) whose every element satisfies one of ``constraints`` (any list if none)."""

    def __init__(self, *constraints: Any):
        super().__init__()
        self.constraints = [_make(c) for c in constraints]

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, (list, tuple)) and (
            not self.constraints or all(any(_satisfies(c, v) for c in self.constraints) for v in val))

    def __str__(self) -> str:
        return f"a list of {_plural(describe(self.constraints))}" if self.constraints else "a list"


class Date(_Constraint):
    """A calendar date as text (``2024-12-31``), as pandas reads it."""

    def is_satisfied_by(self, val: Any) -> bool:
        import pandas as pd

        try:
            return isinstance(val, str) and pd.Timestamp(val) is not pd.NaT
        except (ValueError, TypeError):
            return False

    def __str__(self) -> str:
        return "a date (YYYY-MM-DD)"


def _plural(text: str) -> str:
    for one, many in (("an integer", "integers"), ("a number", "numbers"), ("a string", "strings")):
        if text.startswith(one):
            return many + text[len(one):]
    return text


def _satisfies(constraint: _Constraint, value: Any) -> bool:
    if isinstance(value, bool):  # an int to Python, but in a config only where a boolean is meant
        return isinstance(constraint, _Booleans) or (
            isinstance(constraint, _InstancesOf | Options) and constraint.is_satisfied_by(value)
            and getattr(constraint, "type", None) in (bool, object))
    return constraint.is_satisfied_by(value)


_TYPE_WORDS = {Integral: "an integer", int: "an integer", Real: "a number", float: "a number", str: "a string",
               list: "a list", dict: "a mapping", bool: "true or false"}


def _describe_one(c: _Constraint) -> str:
    if isinstance(c, Interval):
        kind = "an integer" if c.type is Integral else "a number"
        lo = None if c.left is None else (">=" if c.closed in ("left", "both") else ">", c.left)
        hi = None if c.right is None else ("<=" if c.closed in ("right", "both") else "<", c.right)
        if lo and hi:
            return f"{kind} in {'[' if lo[0] == '>=' else '('}{c.left}, {c.right}{']' if hi[0] == '<=' else ')'}"
        bound = lo or hi
        return f"{kind} {bound[0]} {bound[1]}" if bound else kind
    if isinstance(c, Choice | ListOf | Date | Items):
        return str(c)
    if isinstance(c, Options):
        shown = sorted(c.options, key=str) if isinstance(c.options, set) else list(c.options)
        return ("one of " if len(shown) > 1 else "") + ", ".join(show(o) for o in shown)
    if isinstance(c, _NoneConstraint):
        return "null"
    if isinstance(c, _Booleans):
        return "true or false"
    if isinstance(c, _RandomStates):
        return "an integer seed"
    if isinstance(c, _InstancesOf):
        return _TYPE_WORDS.get(c.type, f"a {c.type.__name__}")
    return str(c)


def describe(constraints: Sequence[Any]) -> str:
    """``[Interval(Integral, 1, None, closed="left"), None]`` -> ``an integer >= 1 or null``."""
    shown = [_describe_one(c) for c in (_make(c) for c in constraints) if not c.hidden]
    shown = list(dict.fromkeys(shown))
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def show(value: Any) -> str:
    """A value as a Hydra command line writes it (``null``, ``true``, ``[1, 2]``, strings bare)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


def bad_values(constraints: Mapping[str, Sequence[Any]], values: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(key, value, what is allowed)`` for each value no constraint of its key allows; keys
    without constraints (and the ``"no_validation"`` ones) are not checked."""
    found = []
    for key, value in values.items():
        value = plain(value)  # OmegaConf's lists and dicts, numpy scalars
        allowed = constraints.get(key)
        if allowed is None or allowed == "no_validation":
            continue
        if not any(_satisfies(_make(c), value) for c in allowed):
            found.append((key, value, describe(allowed)))
    return found


def problems(constraints: Mapping[str, Sequence[Any]], values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``<prefix><key>=<value>: <what is allowed>`` for each bad value (see `bad_values`)."""
    return [f"{prefix}{key}={show(value)}: {allowed}" for key, value, allowed in bad_values(constraints, values)]


def require(constraints: Mapping[str, Sequence[Any]], values: Mapping[str, Any], prefix: str = "") -> None:
    """Raise `ConfigError` (one line, every bad value) unless ``values`` satisfy ``constraints``."""
    found = problems(constraints, values, prefix)
    if found:
        raise ConfigError("; ".join(found))


def _from_annotation(annotation: Any) -> list[Any] | None:
    """Constraints for a type annotation (``int | None`` -> ``[Integral, None]``); None = unknown."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [_from_annotation(a) for a in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else [c for p in parts for c in p]
    if origin is typing.Literal:
        return [Options(object, set(typing.get_args(annotation)))]
    base = origin or annotation
    if base is type(None):
        return [None]
    if base is bool:
        return ["boolean"]
    if base in (int, float, str):
        return [{int: Integral, float: Real, str: str}[base]]
    if isinstance(base, type) and issubclass(base, Mapping):
        return [dict]
    if isinstance(base, type) and issubclass(base, Sequence | set):
        return [ListOf()]
    return None


def constraints_of(cls: type) -> dict[str, list[Any]]:
    """Constraints of ``cls``'s constructor (or factory function's) arguments: its ``_parameter_constraints``, and for the
    other arguments the types their annotations give."""
    try:
        hints = typing.get_type_hints(cls.__init__ if isinstance(cls, type) else cls)  # a class or a factory function
    except Exception:  # an annotation that cannot be evaluated: no types from annotations
        hints = {}
    found: dict[str, list[Any]] = {}
    for name in inspect.signature(cls).parameters:
        from_hint = _from_annotation(hints.get(name, Any))
        if from_hint is not None:
            found[name] = from_hint
    found.update(getattr(cls, "_parameter_constraints", None) or {})
    return found
