"""Raw events of a few customers without pandas (`seglab.pipeline.fast_events`) give the features
``SegmentationPipeline.features`` builds from the same events (within 1e-9, NaN where it gives
NaN), on seeded random customers: one purchase, same-day and same-instant purchases, zero
amounts and quantities, unseen and missing categories, every reference-date mode; and the same
segments through ``assign_records``. What it does not reproduce is left to the general path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import make_model, synthetic
from seglab.errors import SeglabError
from seglab.pipeline import SegmentationPipeline
from seglab.pipeline.fast_events import EventFeatures, compile_events
from seglab.serve import assign as serve_assign
from seglab.serve.assign import assign_records, record_frames
from seglab.serve.inputs import events_to_data

BUILDS = {  # name -> features.build options
    "default": {},
    "amount_shares_other_attributes": {"category_weight": "amount", "top_categories": 3, "trend_window_days": 30,
                                       "attributes": "cluster"},
}
SHAPES = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")
CATEGORIES = ("groceries", "home", "beauty", "fashion", "electronics", "sports", "toys", " home ", "", None)


@pytest.fixture(scope="module", params=sorted(BUILDS))
def pipe(request):
    return SegmentationPipeline(make_model("kmeans"), build=BUILDS[request.param]).fit(synthetic(n=200))


def random_request(rng: np.random.Generator, n_customers: int) -> list[dict]:
    """Event records of ``n_customers`` random customers, in one timestamp shape (as a client sends)."""
    shape = SHAPES[rng.integers(len(SHAPES))]
    with_quantity = rng.random() < 0.7
    records = []
    for _ in range(n_customers):
        n = int(rng.choice([1, 1, 2, 3, 5, 12, 40]))
        days = rng.integers(0, 700, size=n)
        if n > 2:
            days[1] = days[0]  # same day, another time
        stamps = pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D") + pd.to_timedelta(
            rng.integers(0, 86_400 * 10**6, size=n), unit="us")
        if n > 3:
            stamps = stamps.insert(0, stamps[2])  # the same instant twice: one purchase
        events = []
        for ts in stamps:
            text = ts.strftime(shape)
            amount = 0.0 if rng.random() < 0.1 else float(np.round(rng.gamma(2.0, 20.0), 2))
            event = {"timestamp": text, "amount": int(amount) if rng.random() < 0.1 else amount}
            if with_quantity:
                event["quantity"] = float(rng.integers(0, 4))
            category = CATEGORIES[rng.integers(len(CATEGORIES))]
            if category is not None:
                event["category"] = category
            events.append(event)
        cid = int(rng.integers(10**6)) if rng.random() < 0.3 else f"c{rng.integers(10**6)}"
        records.append({"customer_id": cid, "events": events})
    return records


def reference_features(pipe, records: list[dict], reference_date) -> pd.DataFrame:
    _, tx, rv = record_frames(records)
    return pipe.features(events_to_data(tx, rv, "<request>"), reference_date=reference_date)[pipe.feature_columns]


@pytest.mark.parametrize("reference_date", [None, "data", "2024-06-30", "2023-03-01"])
def test_event_features_equal_the_pipelines(pipe, reference_date):
    fast = compile_events(pipe)
    assert fast is not None
    rng = np.random.default_rng(7)
    n_rows = 0
    for _ in range(40):
        records = random_request(rng, int(rng.choice([1, 1, 2, 5])))
        got = fast.features(records, reference_date)
        assert got is not None, records
        ids, rows = got
        expected = reference_features(pipe, records, reference_date)
        assert ids == [str(c) for c in expected.index]
        want = expected.to_numpy()
        np.testing.assert_array_equal(np.isnan(rows), np.isnan(want))
        np.testing.assert_allclose(rows, want, rtol=1e-9, atol=1e-9)
        n_rows += len(ids)
    assert n_rows > 60


def test_assign_records_gives_the_general_paths_segments(pipe, monkeypatch):
    rng = np.random.default_rng(3)
    requests = [random_request(rng, int(rng.choice([1, 3]))) for _ in range(30)]
    how: dict = {}
    fast = [assign_records(pipe, r, None, how) for r in requests]
    assert how["path"] == "fast"
    monkeypatch.setattr(serve_assign, "fast_events", lambda pipe: None)
    general = [assign_records(pipe, r, None, how) for r in requests]
    assert how["path"] == "general"
    flat = lambda answers: [a for request in answers for a in request]  # noqa: E731
    assert [a["customer_id"] for a in flat(fast)] == [a["customer_id"] for a in flat(general)]
    assert [a["segment"] for a in flat(fast)] == [a["segment"] for a in flat(general)]
    assert len({a["segment"] for a in flat(general)}) > 1
    np.testing.assert_allclose([a["probabilities"] for a in flat(fast)], [a["probabilities"] for a in flat(general)],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose([a["distance"] for a in flat(fast)], [a["distance"] for a in flat(general)], rtol=1e-6)


def test_a_customer_split_over_records_is_one_customer(pipe):
    fast = compile_events(pipe)
    records = random_request(np.random.default_rng(1), 1) * 1
    half = len(records[0]["events"]) // 2 or 1
    split = [{"customer_id": "s", "events": records[0]["events"][:half]},
             {"customer_id": "s", "events": records[0]["events"][half:]}]
    split = [r for r in split if r["events"]]
    ids, rows = fast.features(split)
    assert ids == ["s"]
    np.testing.assert_allclose(rows, reference_features(pipe, split, None).to_numpy(), rtol=1e-9, atol=1e-9)


EVENT = {"timestamp": "2024-05-01 10:00:00", "amount": 10.0, "quantity": 1.0, "category": "home"}
DEFERRED = {  # what the fast path leaves to the general path -> does the general path refuse it?
    "negative amount": ([{**EVENT, "amount": -5.0}], True),
    "amount as text": ([{**EVENT, "amount": "10"}], False),  # read as a number by the data source
    "unparsable date": ([{**EVENT, "timestamp": "2024-02-30"}], True),
    "date in the future": ([{**EVENT, "timestamp": "2200-01-01"}], True),  # within the parsed range, after today
    "two timestamp shapes": ([EVENT, {**EVENT, "timestamp": "2024-05-02"}], True),
    "quantity on some events only": ([EVENT, {k: v for k, v in EVENT.items() if k != "quantity"}], True),
    "a time zone": ([{**EVENT, "timestamp": "2024-05-01T10:00:00+02:00"}], False),
    "before 1970": ([{**EVENT, "timestamp": "1969-12-31 10:00:00"}], False),
}


@pytest.mark.parametrize("case", sorted(DEFERRED))
def test_what_the_fast_path_leaves_to_the_general_path(pipe, case):
    events, refused = DEFERRED[case]
    assert compile_events(pipe).features([{"customer_id": "a", "events": events}]) is None
    if refused:
        with pytest.raises(SeglabError):
            assign_records(pipe, [{"customer_id": "a", "events": events}])
    else:
        assert assign_records(pipe, [{"customer_id": "a", "events": events}])[0]["segment"] >= 0


def test_warm_up_compiles_both_fast_paths(pipe):
    pytest.importorskip("fastapi")
    from seglab.serve.app import warm_up

    fresh = SegmentationPipeline(make_model("kmeans"))
    fresh.spec_, fresh.preprocessor_, fresh.model_ = pipe.spec_, pipe.preprocessor_, pipe.model_
    assert "_fast_events" not in fresh.__dict__
    warm_up(fresh)
    assert fresh.__dict__["_fast_path"] is not None and fresh.__dict__["_fast_events"] is not None


def test_other_requests_and_runs_the_fast_path_does_not_take(pipe):
    fast = compile_events(pipe)
    assert fast.features([{"customer_id": "a", "events": [EVENT], "reviews": [{"text": "fine"}]}]) is None
    assert fast.features([{"customer_id": " a", "events": [EVENT]}]) is None  # the data source strips ids
    assert fast.features([{"customer_id": "a", "events": [EVENT] * 3}], reference_date="someday") is None
    small = EventFeatures(pipe.spec_, pipe.feature_columns, max_events=2)
    assert small.features([{"customer_id": "a", "events": [EVENT] * 3}]) is None
    assert small.features([{"customer_id": "a", "events": [EVENT] * 2}]) is not None
    table = SegmentationPipeline(make_model("kmeans"))
    table.spec_ = type(pipe.spec_)(options={}, precomputed=True)
    assert compile_events(table) is None and "precomputed" in table.__dict__["_fast_events_off"]
