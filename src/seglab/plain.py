"""`plain`: numpy, pandas and OmegaConf values as the plain Python values that JSON, error
messages, config checks and pickles take. One helper for the data sources (values quoted in
errors), the preprocessing report and the models' saved trainer settings."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python scalars, a missing value (``None``, NaN, ``pd.NA``,
    ``NaT``) as ``None``, timestamps as text (``2024-01-31 00:00:00``, so every engine quotes a
    date the same way), and mappings, lists and tuples (OmegaConf's included, interpolations
    resolved) as dicts and lists of plain values. Anything else (a logger object) is returned as is."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if isinstance(value, (datetime.datetime, np.datetime64)):
        return str(pd.Timestamp(value))
    if isinstance(value, np.generic):
        return value.item()
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return plain(OmegaConf.to_container(value, resolve=True))
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
