"""The light check of ``POST /assign`` bodies (`seglab.serve.app.feature_rows`): plain feature rows
pass without pydantic, anything else is left to the full schema."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from seglab.serve.app import feature_rows  # noqa: E402

ROW = {"customer_id": "c1", "features": {"a": 1.0, "b": None, "c": 3}}


def test_plain_feature_rows_pass():
    assert feature_rows(ROW) == ([ROW], None)
    assert feature_rows({"customers": [ROW, {**ROW, "customer_id": 7}], "reference_date": "2025-01-01"}) == (
        [ROW, {**ROW, "customer_id": 7}], "2025-01-01")


@pytest.mark.parametrize("body", [
    {"customerid": "c1", "features": {"a": 1.0}},                 # misspelt id
    {"customer_id": True, "features": {"a": 1.0}},                # a bool is no id
    {"customer_id": "c1", "features": {"a": "1.0"}},              # a string value: the schema decides
    {"customer_id": "c1", "features": {"a": 1.0}, "events": []},  # features and events
    {"customer_id": "c1"},
    {"customers": []},
    {"customers": [ROW], "extra": 1},
    {"customers": [ROW], "reference_date": 20250101},
    [ROW],
])
def test_anything_else_goes_to_the_schema(body):
    assert feature_rows(body) is None
