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


@pytest.mark.slow  # a subprocess and a fresh MLflow store: in CI's `reliability and slow` group
def test_a_bad_input_exits_2_with_one_line_and_its_tracker_run_failed(tmp_path):
    """What a user sees: `python train.py` on rows without a customer id exits 2 with one
    `seglab error:` line naming the option, and the MLflow run is FAILED, not FINISHED."""
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    from bad_input_corpus import ROOT, transactions
    from seglab.tracking import default_tracking_uri

    frame = transactions().astype({"customer_id": object})
    frame.loc[[2, 9], "customer_id"] = None
    frame.to_csv(tmp_path / "tx.csv", index=False)
    proc = subprocess.run([sys.executable, "train.py", "data=transactions", f"data.path={tmp_path / 'tx.csv'}",
                           "text=none", "model=kmeans", "n_clusters=2", f"log_dir={tmp_path / 'logs'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("seglab error:")]
    assert len(lines) == 1 and "missing customer id (2 row(s))" in lines[0] and "data.missing_customer=drop" in lines[0]
    assert "Traceback" not in proc.stderr
    client = MlflowClient(default_tracking_uri(tmp_path / "logs"))
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_repairs_reach_metrics_json_and_the_tracker(tmp_path):
    import json

    from mlflow.tracking import MlflowClient

    from bad_input_corpus import compose
    from seglab.data.retail_log import write_retail_log
    from seglab.train import run

    planted = write_retail_log(tmp_path / "retail.csv", n_lines=2000, seed=5)
    cfg = compose(["model=kmeans", "text=none", "explain.enabled=false", "data=retail",
                   f"data.path={tmp_path / 'retail.csv'}"], tmp_path / "logs")
    result = run(cfg, run_dir=tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "metrics.json").read_text())
    tracked = MlflowClient(result.tracking_uri).get_run(result.mlflow_run_id).data.metrics
    for name, n in (("data/n_rows_without_customer_dropped", planted["rows_without_customer_dropped"]),
                    ("data/n_returns_unmatched", planted["returns_unmatched"]),
                    ("data/n_duplicates_dropped", planted["transactions_duplicates_dropped"])):
        assert summary["metrics"][name] == tracked[name] == n
    assert any("data/n_rows_without_customer_dropped" in w for w in summary["warnings"])
