"""The bad-input corpus (``bad_input_corpus.py``) through ``seglab.train.run``: every case ends
in its specific one-line ``seglab error`` with no ``metrics.json`` (no run looks successful), or
runs with its repair counted in the ``data/*`` metrics and warned about."""

from __future__ import annotations

import re

import pytest

from bad_input_corpus import CASES, run_case

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path):
    got = run_case(case, tmp_path)
    if case.error is not None:
        assert got["outcome"] == "error", got
        assert re.search(case.error, got["message"]), got["message"]
        assert "\n" not in got["message"] and not got["metrics_json"]
        return
    assert got["outcome"] == "ran" and got["metrics_json"], got
    for key, value in case.counts.items():
        assert got["metrics"].get(key) == value, (key, got["metrics"])
        if value and not key.endswith("_utc"):  # a conversion to UTC is counted, not warned about
            assert any(key in w for w in got["warnings"]), got["warnings"]
