"""Skip a test whose system requirement is missing on a user's machine, but FAIL it in CI.

A test that needs Java (Spark), a browser (chromium) or TeX should not fail for a user who lacks
them, yet must never pass silently in CI, where ``.ci/run`` installs them::

    from requirements import require

    def test_spark_features():
        require(java_available(), "Spark needs Java (apt-get install openjdk-17-jre-headless)")

With ``CI`` set to ``true`` (or ``1``) ``require`` fails the test with the reason; otherwise it
skips it with the reason.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip (on a user's machine) or fail (in CI) the calling test unless ``condition``."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the CI machine must provide this)", pytrace=False)
    pytest.skip(reason)


def require_module(module: str, how: str) -> None:
    """``require`` that ``module`` is importable; ``how`` says how to install it."""
    import importlib.util

    require(importlib.util.find_spec(module) is not None, f"needs the Python package {module!r} ({how})")
