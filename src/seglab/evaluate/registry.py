"""The one registry of metric specs: every place that names, orders, ranks or formats a metric
reads it from here.

A ``MetricSpec`` says what a metric is called (``key``, the ``stage/name`` the tracker stores,
and ``label``, what tables print), which way is better (``higher_is_better``: True, False or
None for counts and shares that are neither), which ``family`` it belongs to (``sizes``,
``internal``, ``latent``, ``external``, ``stability``, ``explain``, ``time``), how many
``decimals`` tables print (None: chosen from the values), and where it is shown: ``summary``
(the console summary of a run) and ``report`` (``"rank"``: a ranked column of the comparison
table; ``"info"``: shown beside it, never ranked).

A spec with ``compute`` is evaluated by ``seglab.evaluate.evaluate_clustering``: ``compute``
takes the ``ClusteringInputs`` of one labelling and returns a float (NaN = undefined), and
``needs`` (``"truth"`` or ``"latent"``) skips it when that input is absent. A spec without
``compute`` describes a metric another stage measures (fit time, stability, explanations).

The console summary (``seglab.train.print_summary``), the report tables
(``seglab.report.table``) and the benchmark scripts read the registry when they run, so a
metric registered once (``@metric(...)`` in ``seglab.evaluate.metrics``) is computed, tracked,
printed and tabulated with no other edit. The registry's order is the order of columns.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

FAMILIES = ("sizes", "internal", "latent", "external", "stability", "explain", "time", "other")
REPORT_PLACES = (None, "rank", "info")
NEEDS = (None, "truth", "latent")


@dataclass(frozen=True)
class MetricSpec:
    """How to name, compare and show one metric (see the module docstring)."""

    key: str  # the tracker's key, ``stage/name``
    label: str  # what tables print
    higher_is_better: bool | None = None  # None: neither way is better (counts, shares)
    decimals: int | None = None  # None: chosen from the values (``decimals_for``)
    family: str = "other"
    summary: bool = False  # printed in a run's console summary
    report: str | None = None  # "rank" | "info" | None: its place in the comparison report
    compute: Callable[[Any], float] | None = None  # ClusteringInputs -> float
    needs: str | None = None  # "truth" | "latent": skipped without that input

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"metric {self.key}: family {self.family!r} is not one of {FAMILIES}")
        if self.report not in REPORT_PLACES:
            raise ValueError(f"metric {self.key}: report={self.report!r} is not one of {REPORT_PLACES}")
        if self.needs not in NEEDS:
            raise ValueError(f"metric {self.key}: needs={self.needs!r} is not one of {NEEDS}")
        if self.report == "rank" and self.higher_is_better is None:
            raise ValueError(f"metric {self.key}: a ranked metric needs a direction (higher_is_better)")

    @property
    def name(self) -> str:
        """The key without its stage: ``eval/silhouette`` -> ``silhouette``."""
        return self.key.split("/", 1)[-1]

    @property
    def arrow(self) -> str:
        """``↑`` (higher is better), ``↓`` (lower is better) or empty."""
        return {True: "↑", False: "↓", None: ""}[self.higher_is_better]

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` (never, for a metric without direction)."""
        if self.higher_is_better is None:
            return False
        return a > b if self.higher_is_better else a < b


_REGISTRY: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    """Add ``spec``; a key registered twice is an error (two definitions of one number)."""
    if "/" not in spec.key:
        raise ValueError(f"metric key {spec.key!r} must read 'stage/name' (eval/..., time/...)")
    if spec.key in _REGISTRY:
        raise ValueError(f"metric {spec.key!r} is already registered")
    _REGISTRY[spec.key] = spec
    return spec


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


@contextlib.contextmanager
def registered(spec: MetricSpec) -> Iterator[MetricSpec]:
    """``spec`` registered for the duration of a ``with`` block (tests, experiments)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.key)


def metric(key: str, label: str, **fields: Any) -> Callable[[Callable[[Any], float]], Callable[[Any], float]]:
    """Decorator: register the function as the ``compute`` of a new spec (fields as ``MetricSpec``)."""

    def wrap(fn: Callable[[Any], float]) -> Callable[[Any], float]:
        register(MetricSpec(key, label, compute=fn, **fields))
        return fn

    return wrap


def metric_specs(*, family: str | None = None, computed: bool | None = None) -> list[MetricSpec]:
    """Registered specs in registration order, optionally of one family / computed or not."""
    out = list(_REGISTRY.values())
    if family is not None:
        out = [s for s in out if s.family == family]
    if computed is not None:
        out = [s for s in out if (s.compute is not None) == computed]
    return out


def get_spec(key: str) -> MetricSpec:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"no metric {key!r} is registered; known: {sorted(_REGISTRY)}") from None


def summary_specs() -> list[MetricSpec]:
    """The metrics a run's console summary prints, in order."""
    return [s for s in _REGISTRY.values() if s.summary]


def report_specs(place: str) -> list[MetricSpec]:
    """The metrics of the comparison table: ``"rank"`` (ranked columns) or ``"info"``."""
    return [s for s in _REGISTRY.values() if s.report == place]


def decimals_for(spec: MetricSpec, values: Iterable[float]) -> int:
    """``spec.decimals``, else 3, or 1 for metrics in the hundreds and above (Calinski-Harabasz)."""
    if spec.decimals is not None:
        return spec.decimals
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 1 if finite and max(finite) >= 100 else 3
