"""The skip-or-fail rule of ``tests/requirements.py``: a missing system requirement skips a test
on a user's machine and fails it in CI."""

from __future__ import annotations

import pytest

from requirements import require


def test_missing_requirement_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs a thing"):
        require(False, "needs a thing")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_missing_requirement_fails_in_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="needs a thing.*CI=true"):
        require(False, "needs a thing")


def test_present_requirement_does_nothing(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
