"""``seglab assign --update --state``: two batches folded into the state give the features and
segments of all the transactions at once; older purchases and unsupported runs are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import fitted
from seglab.cli import main
from seglab.errors import ConfigError, DataValidationError
from seglab.serve.inputs import events_to_data
from seglab.serve.state import features_from_state, fold, trend_window

CUT = pd.Timestamp("2024-06-30")
REFERENCE = "2025-01-15"


@pytest.fixture(scope="module")
def pipe_and_tx():
    pipe, data = fitted("kmeans", text=False)
    return pipe, data.transactions[["customer_id", "timestamp", "amount", "quantity", "category"]]


def test_two_batches_equal_all_at_once(pipe_and_tx, tmp_path):
    pipe, tx = pipe_and_tx
    pipe.save(tmp_path / "bundle")
    first, second = tx[tx["timestamp"] <= CUT], tx[tx["timestamp"] > CUT]
    assert len(first) and len(second)
    first.to_parquet(tmp_path / "b1.parquet", index=False)
    second.to_parquet(tmp_path / "b2.parquet", index=False)
    for batch in ("b1", "b2"):
        assert main(["assign", "--run", str(tmp_path), "--update", "--state", str(tmp_path / "state.parquet"),
                     "--input", str(tmp_path / f"{batch}.parquet"), "--output", str(tmp_path / f"out_{batch}.parquet"),
                     "--reference-date", REFERENCE]) == 0
    state = pd.read_parquet(tmp_path / "state.parquet").set_index("customer_id")
    incremental = features_from_state(pipe, state, REFERENCE).sort_index()
    whole = pipe.features(events_to_data(tx), reference_date=REFERENCE)[pipe.feature_columns].sort_index()
    pd.testing.assert_frame_equal(incremental, whole.loc[incremental.index], check_exact=False, rtol=1e-9,
                                  check_names=False)
    out = pd.read_parquet(tmp_path / "out_b2.parquet").set_index("customer_id")
    expected = pipe.assign(whole)
    np.testing.assert_array_equal(out["segment"].to_numpy(), expected.loc[out.index, "segment"].to_numpy())
    # the state keeps only the purchases spend_trend can still use
    window = trend_window(pipe)
    oldest = min(min(t) for t in state["recent_ts"] if len(t))
    assert oldest > tx["timestamp"].max() - pd.Timedelta(days=2 * window)


def test_older_purchases_and_unsupported_runs_are_refused(pipe_and_tx):
    pipe, tx = pipe_and_tx
    canonical = events_to_data(tx).transactions
    state = fold(pipe, None, canonical)
    with pytest.raises(DataValidationError, match="at or before the customer's last purchase"):
        fold(pipe, state, canonical.iloc[:5])
    text_pipe, _ = fitted("kmeans", text=True)
    with pytest.raises(ConfigError, match="folds transactions only"):
        fold(text_pipe, None, canonical)
