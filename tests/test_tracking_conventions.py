"""MLflow conventions: system tags from MLflow's own context providers, the data as a dataset input."""

import numpy as np
import pandas as pd
import pytest

from seglab.tracking import Tracker, dataset_summary


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    t = Tracker(f"sqlite:///{root / 'mlflow.db'}", "conventions", root / "artifacts", tags={"seglab.dataset": "toy"})
    yield t
    t.finish(True)


def test_new_run_carries_mlflow_system_tags(tracker):
    tags = tracker.client.get_run(tracker.run_id).data.tags
    for key in ("mlflow.user", "mlflow.source.name", "mlflow.source.type"):
        assert tags.get(key), key
    assert tags["seglab.dataset"] == "toy"
    assert "seglab.heartbeat" in tags


def test_dataset_input_is_a_summary_not_customer_rows(tracker):
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"recency_days": rng.integers(0, 400, 300).astype(float),
                             "segment_hint": rng.choice(["a", "b"], 300)},
                            index=pd.Index([f"c{i}" for i in range(300)], name="customer_id"))
    features.iloc[:7, 0] = np.nan
    summary, digest = dataset_summary(features)
    assert list(summary["column"]) == ["recency_days", "segment_hint"]
    assert summary.set_index("column").loc["recency_days", "missing"] == 7
    assert dataset_summary(features.iloc[::-1].iloc[::-1])[1] == digest
    assert dataset_summary(features.assign(recency_days=features["recency_days"] + 1))[1] != digest
    tracker.log_dataset(summary, name="toy", source="seglab.data.synthetic.SyntheticSource(seed=0)", digest=digest)
    inputs = tracker.client.get_run(tracker.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.name == "toy" and ds.digest == digest[:36]
    assert "c1" not in ds.profile + ds.schema  # no customer id reaches the store
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
