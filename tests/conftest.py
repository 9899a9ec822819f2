"""Shared pytest fixtures.

Tests that read the real datasets are marked ``shared_data`` and take the ``shared_data_dir``
fixture: it points at ``../shared/data`` beside the checkout (or ``$SEGLAB_SHARED_DATA``) and
FAILS, never skips, when the folder is missing, so a missing dataset cannot pass silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real datasets folder; fails loudly when it is absent."""
    path = Path(os.environ.get("SEGLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")).resolve()
    if not path.is_dir():
        pytest.fail(
            f"real datasets not found at {path}: tests marked shared_data need ../shared/data beside the "
            "checkout (or SEGLAB_SHARED_DATA pointing at it); deselect them with -m 'not shared_data'",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def single_threaded_blas():
    """One BLAS/OpenMP thread in tests: tiny scikit-learn fits on a busy 2-core machine were up
    to 100x slower with OpenMP threads fighting each other (measured on the choose_k tests)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session", autouse=True)
def shared_text_cache(tmp_path_factory):
    """One text cache (and CTranslate2 conversion) for the whole session: runs with the default
    text=minilm on the same synthetic reviews encode them once, not once per test log_dir."""
    if "SEGLAB_TEXT_CACHE" in os.environ:
        yield
        return
    os.environ["SEGLAB_TEXT_CACHE"] = str(tmp_path_factory.mktemp("text_cache"))
    yield
    os.environ.pop("SEGLAB_TEXT_CACHE", None)
