"""``seglab assign`` (file and --stream) against finished runs: the same customers get the run's
segments and probabilities; bad rows are reported; refused bundles are one ``seglab error`` line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from run_helpers import RUNS, instantiate_data, seglab, segments_of, train_run, write_events
from seglab.pipeline import load_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished runs by name, each trained once for the module."""
    cache = {}

    def get(name):
        if name not in cache:
            root = tmp_path_factory.mktemp(name)
            cache[name] = (name, *train_run(name, root), root)
        return cache[name]

    return get


@pytest.fixture(params=sorted(RUNS))
def finished(request, runs):
    return runs(request.param)


def same_as_run(out: pd.DataFrame, run_dir) -> None:
    seg = segments_of(run_dir)
    seg.index = seg.index.astype(str)  # raw events are read as the transactions source reads ids: as text
    out = out.assign(customer_id=out["customer_id"].astype(str)).set_index("customer_id")
    assert sorted(out.index.tolist()) == sorted(seg.index.tolist())
    out = out.loc[seg.index]
    np.testing.assert_array_equal(out["segment"].to_numpy(), seg["segment"].to_numpy())
    probs = out[[c for c in out.columns if c.startswith("prob_")]].to_numpy()
    np.testing.assert_allclose(probs, seg.filter(like="prob_").to_numpy(), atol=1e-6)


def test_assign_batch_and_stream_give_the_runs_segments(finished):
    name, run_dir, data, root = finished
    tx, rv = write_events(data, root)
    features = root / "features.parquet"
    load_run(run_dir).features(data).reset_index().to_parquet(features, index=False)

    for source, extra in ((tx, ["--reviews", str(rv)] if rv else []), (features, [])):
        out = root / f"out_{source.stem}.parquet"
        done = seglab("assign", "--run", str(run_dir), "--input", str(source), "--output", str(out), *extra)
        assert done.returncode == 0, done.stderr
        assert f"{data.n_customers:,} customers assigned" in done.stderr
        result = pd.read_parquet(out)
        assert (result["error"] == "").all()
        same_as_run(result, run_dir)

    # the stream: one line per customer (half as feature rows, half as raw events), one answer each
    table = pd.read_parquet(features)
    lines = []
    for i, row in enumerate(table.to_dict(orient="records")):
        cid = row.pop("customer_id")
        if i % 2:
            lines.append(json.dumps({"customer_id": cid, "features": {k: (None if v != v else v) for k, v in row.items()}}))
        else:
            events = data.transactions[data.transactions["customer_id"] == cid]
            reviews = [] if data.reviews is None else data.reviews[data.reviews["customer_id"] == cid]
            lines.append(json.dumps({
                "customer_id": cid,
                "events": [{"timestamp": str(e.timestamp), "amount": e.amount, "quantity": e.quantity,
                            "category": e.category} for e in events.itertuples()],
                "reviews": [{"text": r.text, "timestamp": str(r.timestamp), "rating": r.rating}
                            for r in getattr(reviews, "itertuples", lambda: [])()]}))
    done = seglab("assign", "--run", str(run_dir), "--stream", stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(lines)
    frame = pd.DataFrame({"customer_id": [a["customer_id"] for a in answers],
                          "segment": [a["segment"] for a in answers],
                          **{f"prob_{j}": [a["probabilities"][j] for a in answers]
                             for j in range(len(answers[0]["probabilities"]))}})
    same_as_run(frame, run_dir)


def test_bad_rows_are_reported_not_dropped(runs, tmp_path):
    _, run_dir, data, _ = runs("kmeans")
    table = load_run(run_dir).features(data).reset_index().astype({"frequency": object, "customer_id": object})
    table.loc[4, "frequency"] = "many"
    table.loc[9, "customer_id"] = None
    table.loc[12, "customer_id"] = table.loc[11, "customer_id"]
    table.to_csv(tmp_path / "in.csv", index=False)
    done = seglab("assign", "--run", str(run_dir), "--input", str(tmp_path / "in.csv"),
                  "--output", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert "3 rows rejected" in done.stderr and "1 frequency is not a number" in done.stderr
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert len(out) == len(table)
    rejected = out[out["segment"] == -1]
    assert sorted(rejected["error"]) == ["customer_id repeated (first row kept)", "frequency is not a number",
                                         "missing customer_id"]
    # a stream line that is not JSON is answered with an error and the stream goes on
    done = seglab("assign", "--run", str(run_dir), "--stream", stdin="{oops\n")
    assert json.loads(done.stdout)["error"].startswith("JSONDecodeError")


def test_refused_bundle_is_one_error_line(runs, tmp_path):
    _, run_dir, _, _ = runs("kmeans")
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "bundle" / "model.skops").write_bytes(b"PK\x03\x04 not the model")
    done = seglab("assign", "--run", str(copy), "--input", "x.parquet", "--output", "y.parquet")
    assert done.returncode == 2
    assert done.stderr.startswith("seglab error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "sha256 differs" in done.stderr


def test_train_and_report_verbs(tmp_path):
    """``seglab train`` is ``python train.py`` (Hydra overrides, a run dir with its bundle);
    ``seglab report`` is ``scripts/compare.py``."""
    run_dir = tmp_path / "run"
    done = seglab("train", "model=kmeans", "text=none", "data.n_customers=150", "logger.mlflow=false",
                  "explain.enabled=false", f"log_dir={tmp_path}", f"hydra.run.dir={run_dir}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run_dir / "metrics.json").is_file() and (run_dir / "bundle" / "manifest.json").is_file()
    pipe = load_run(run_dir)
    assert len(pipe.assign(pipe.features(instantiate_data(run_dir)))) == 150
    done = seglab("report", "--help")
    assert done.returncode == 0 and "--tracking-uri" in done.stdout
    done = seglab("train", "model=nonsense", f"log_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'bad'}")
    assert done.returncode != 0
