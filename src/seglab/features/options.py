"""What ``features.build`` options (``build_features``' keyword arguments) may be, so a bad value is
a one-line ``seglab error`` naming the option rather than a failure deep in a group-by. The same
table serves `build_features` and the check of a whole config before any data is read
(`seglab.config.check_config`)."""

from __future__ import annotations

from typing import Any

from sklearn.utils._param_validation import Hidden

from seglab.config.constraints import Choice, Integral, Interval, Options, Real, require

#: Values of ``features.build.attributes`` (``false``, ``off`` and ``null`` also mean ``none``).
ATTRIBUTE_MODES = ("auto", "cluster", "profile", "none")

BUILD_CONSTRAINTS: dict[str, list[Any]] = {
    "top_categories": [Interval(Integral, 0, None, closed="left")],
    "trend_window_days": [Interval(Real, 0, None, closed="neither")],
    "include_transactions": ["boolean"],
    "attributes": [Choice(*ATTRIBUTE_MODES, aliases=("false", "off", "null")), Hidden(None),
                   Hidden(Options(bool, {False}))],
    "max_category_levels": [Interval(Integral, 1, None, closed="left")],
    "max_unique_share": [Interval(Real, 0, 1, closed="right")],
    "category_weight": [Choice("count", "amount")],
}


def check_options(**options: Any) -> None:
    """Raise `ConfigError` for any ``features.build`` option outside `BUILD_CONSTRAINTS`."""
    require(BUILD_CONSTRAINTS, options, "features.build.")


def attribute_mode(attributes: str | bool | None) -> str:
    """``features.build.attributes`` as one of `ATTRIBUTE_MODES` (spellings of none folded)."""
    mode = "none" if attributes is None or attributes is False else str(attributes).lower()
    return "none" if mode in ("false", "off", "null") else mode
