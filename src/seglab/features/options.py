"""Checks of ``features.build`` options (``build_features``' keyword arguments), so a bad value
is a one-line ``seglab error`` naming the option rather than a failure deep in a group-by."""

from __future__ import annotations

import numpy as np

from seglab.errors import ConfigError

#: Values of ``features.build.attributes``.
ATTRIBUTE_MODES = ("auto", "cluster", "profile", "none")


def attribute_mode(attributes: str, include_attributes: bool | None) -> str:
    """Resolve ``attributes`` and the deprecated ``include_attributes`` to one mode."""
    mode = str(attributes).lower() if attributes is not None else "none"
    if mode in ("false", "off", "null"):
        mode = "none"
    if mode not in ATTRIBUTE_MODES:
        raise ConfigError(
            f"features.build.attributes: unknown value {attributes!r}; choose one of {', '.join(ATTRIBUTE_MODES)}"
        )
    if include_attributes is None:
        return mode
    if not isinstance(include_attributes, (bool, np.bool_)):
        raise ConfigError(
            f"features.build.include_attributes must be true, false or null, got {include_attributes!r}"
        )
    if not include_attributes:
        return "none"
    if mode == "none":
        raise ConfigError("features.build: include_attributes=true contradicts attributes=none; set only attributes")
    # the boolean's old meaning was "attributes are clustering inputs"
    return "cluster" if mode == "auto" else mode


def check_options(top_categories, trend_window_days, max_category_levels, max_unique_share, category_weight):
    if not (isinstance(top_categories, (int, np.integer)) and top_categories >= 0):
        raise ConfigError(f"features.build.top_categories must be an integer >= 0, got {top_categories!r}")
    if not (isinstance(max_category_levels, (int, np.integer)) and max_category_levels >= 1):
        raise ConfigError(
            f"features.build.max_category_levels must be an integer >= 1, got {max_category_levels!r}"
        )
    if not (isinstance(trend_window_days, (int, float)) and trend_window_days > 0):
        raise ConfigError(f"features.build.trend_window_days must be a number > 0, got {trend_window_days!r}")
    if not (isinstance(max_unique_share, (int, float)) and 0 < max_unique_share <= 1):
        raise ConfigError(f"features.build.max_unique_share must be in (0, 1], got {max_unique_share!r}")
    if category_weight not in ("count", "amount"):
        raise ConfigError(
            f"features.build.category_weight must be 'count' or 'amount', got {category_weight!r}"
        )
