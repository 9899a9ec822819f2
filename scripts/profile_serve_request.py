"""Where one single-customer ``POST /assign`` (feature row) spends its server CPU, stage by stage.

In process, one thread, on the run of ``scripts/bench_serve.py`` (``--run``): the whole request
through the ASGI app (no socket: ``httpx.ASGITransport``, the in-process client's own share
subtracted), then its parts alone -- JSON decode, the general path (``assign_records``:
DataFrame, fitted ``Preprocessor.transform``, ``assign_matrix``, answer dicts) split into those
parts, and the compiled fast path (`seglab.pipeline.fast`); then the same for one customer's raw
events (``--events`` made-up purchases before the run's reference date): the whole request with
and without the events fast path (`seglab.pipeline.fast_events`), the data source's checks and
the spec's feature building of the general path, and the fast path's feature building. Prints CPU microseconds per request
(median of ``--repeat`` rounds of ``--n`` calls) with the load average; ``--write`` appends the
table to ``experiments/serve_profile.md``, which ``scripts/bench_serve.py`` puts into
``experiments/serve.md``.

    python scripts/profile_serve_request.py --run logs/bench_serve/dec_tabular_20000 --write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

from benchlib import ROOT, git_commit, load_average

PROFILE = ROOT / "experiments" / "serve_profile.md"


def cpu_us(fn, n: int, repeat: int) -> float:
    """Median over ``repeat`` rounds of the CPU microseconds of one call of ``fn``."""
    rounds = []
    for _ in range(repeat):
        c0 = time.process_time()
        for _ in range(n):
            fn()
        rounds.append((time.process_time() - c0) / n * 1e6)
    return float(np.median(rounds))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--events", type=int, default=20, help="purchases of the raw-events customer")
    p.add_argument("--write", action="store_true", help=f"append the table to {PROFILE.name}")
    args = p.parse_args()

    import httpx
    import pandas as pd
    import torch

    from seglab.pipeline import load_run
    from seglab.pipeline.fast import compile_pipeline
    from seglab.serve.app import create_app
    from seglab.serve.assign import _answers, assign_records

    torch.set_num_threads(1)
    run_dir = Path(args.run)
    pipe = load_run(run_dir)
    columns = pipe.feature_columns
    row = {c: 1.0 for c in columns}
    record = {"customer_id": "c1", "features": row}
    raw = json.dumps(record).encode()
    fast = compile_pipeline(pipe)
    app = create_app(run_dir)
    n_app = 50

    async def post_many(transport) -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as c:
            for _ in range(n_app):
                r = await c.post("/assign", content=raw, headers={"content-type": "application/json"})
                r.raise_for_status()

    def canned(request):
        return httpx.Response(200, content=b'{"assignments": []}')

    client = cpu_us(lambda: asyncio.run(post_many(httpx.MockTransport(canned))), 1, args.repeat) / n_app
    whole = cpu_us(lambda: asyncio.run(post_many(httpx.ASGITransport(app=app))), 1, args.repeat) / n_app - client
    from seglab.serve import assign as serve_assign

    compiled, compiled_events = serve_assign.fast_path, serve_assign.fast_events
    serve_assign.fast_path = lambda pipe: None  # the same app with the fast path off
    try:
        whole_general = cpu_us(lambda: asyncio.run(post_many(httpx.ASGITransport(app=app))), 1, args.repeat) / n_app \
            - client
        general_records = cpu_us(lambda: assign_records(pipe, [record]), args.n, args.repeat)
    finally:
        serve_assign.fast_path = compiled

    events_record = made_up_events(pipe, args.events)
    raw = json.dumps(events_record).encode()
    whole_events = cpu_us(lambda: asyncio.run(post_many(httpx.ASGITransport(app=app))), 1, args.repeat) / n_app - client
    serve_assign.fast_events = lambda pipe: None  # raw events through the general path
    try:
        whole_events_general = cpu_us(lambda: asyncio.run(post_many(httpx.ASGITransport(app=app))), 1, 1) / n_app \
            - client
    finally:
        serve_assign.fast_events = compiled_events
    from seglab.serve.assign import fast_events, record_frames
    from seglab.serve.inputs import events_to_data

    _, tx, _ = record_frames([events_record])
    data = events_to_data(tx, None, "<request>")
    events_fast = fast_events(pipe)

    def frame_of() -> pd.DataFrame:
        return pd.DataFrame(np.asarray([[row[c] for c in columns]]), columns=columns,
                            index=pd.Index(["c1"], name="customer_id"))

    frame = frame_of()
    X = pipe.preprocessor_.transform(frame)
    out = pipe.assign_matrix(X, frame.index).reset_index()
    out["error"] = ""
    n, r = args.n, args.repeat
    stages = {
        "whole request through the ASGI app, fast path (routing, body, assignment, response)": whole,
        "whole request through the ASGI app, fast path off": whole_general,
        "  json.loads of the body": cpu_us(lambda: json.loads(raw), n, r),
        "  general path: assign_records (the four lines below and the frames around them)": general_records,
        "    DataFrame of the row": cpu_us(frame_of, n, r),
        "    Preprocessor.transform (scikit-learn steps through pandas)": cpu_us(
            lambda: pipe.preprocessor_.transform(frame), n, r),
        "    assign_matrix (encoder, soft assignment, distance, result frame)": cpu_us(
            lambda: pipe.assign_matrix(X, frame.index), n, r),
        "    answer dicts from the result frame": cpu_us(lambda: _answers(out), n, r),
    }
    if fast is not None:
        stages["  fast path: assign_records"] = cpu_us(lambda: assign_records(pipe, [record]), n, r)
        stages["    compiled preprocessor + model (FastPipeline.assign_rows)"] = cpu_us(
            lambda: fast.assign_rows(["c1"], [row]), n, r)
    few = max(n // 10, 5)
    stages[f"whole request through the ASGI app, raw events ({args.events} purchases), fast paths"] = whole_events
    stages["whole request through the ASGI app, raw events, events fast path off"] = whole_events_general
    stages["  general path: events_to_data (the data source's checks)"] = cpu_us(
        lambda: events_to_data(tx, None, "<request>"), few, r)
    stages["  general path: pipeline.features (FeatureSpec.build)"] = cpu_us(lambda: pipe.features(data), few, r)
    if events_fast is not None:
        stages["  fast path: event features (EventFeatures.features)"] = cpu_us(
            lambda: events_fast.features([events_record]), n, r)
    text = [f"Commit `{git_commit()}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
            f"{load_average()[0]:.2f} (shared machine), run `{run_dir.name}` ({type(pipe.model_).__name__}), "
            f"{len(columns)} feature columns, one thread:", "", "| stage | server CPU us / request |", "|---|---:|"]
    text += [f"| {name} | {us:,.0f} |" for name, us in stages.items()]
    print("\n".join(text))
    if args.write:
        with PROFILE.open("a") as fh:
            fh.write("\n".join(["", *text, ""]))
        print(f"appended to {PROFILE}")


def made_up_events(pipe, n: int) -> dict:
    """One customer's ``n`` purchases, every 9 days up to the run's reference date, in its categories."""
    import pandas as pd

    end = pd.Timestamp(pipe.spec_.reference_date or pd.Timestamp.today()) - pd.Timedelta(days=1)
    categories = pipe.spec_.categories or ["unknown"]
    return {"customer_id": "c1", "events": [
        {"timestamp": (end - pd.Timedelta(days=9 * i, minutes=37 * i)).strftime("%Y-%m-%d %H:%M:%S"),
         "amount": round(12.5 + 3.1 * (i % 7), 2), "quantity": float(1 + i % 3), "category": categories[i % len(categories)]}
        for i in range(n)]}


if __name__ == "__main__":
    main()
