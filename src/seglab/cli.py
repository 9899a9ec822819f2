"""The ``seglab`` command: ``seglab train|assign|serve|drift|report``.

- ``seglab train [overrides]``: ``python train.py [overrides]`` (Hydra; the config folder is
  ``./conf``, else ``$SEGLAB_CONF``, else the one beside the installed sources);
- ``seglab assign --run RUN_DIR --input new.parquet --output out.parquet``: segments of new
  customers from a feature table or raw transactions (+ ``--reviews``); ``--stream``: JSON lines
  on stdin, one answer line each on stdout (`seglab.serve.assign`); ``--update --state STATE``:
  fold new transactions into per-customer running aggregates and re-assign (`seglab.serve.state`);
- ``seglab serve --run RUN_DIR --host 127.0.0.1 --port 8000``: the HTTP API (`seglab.serve.app`);
- ``seglab drift --run RUN_DIR --input new.parquet --out drift/``: segment shares and feature
  PSI against the training population (`seglab.serve.drift`);
- ``seglab report ...``: the comparison report (``scripts/compare.py``'s options).

A seglab error (bad input, a refused bundle) is one ``seglab error: ...`` line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from seglab.errors import SeglabError


def _conf_dir() -> Path:
    for candidate in (os.environ.get("SEGLAB_CONF"), "conf", Path(__file__).resolve().parents[2] / "conf"):
        if candidate and (Path(candidate) / "config.yaml").is_file():
            return Path(candidate).resolve()
    raise SeglabError("seglab train needs the config folder (conf/ with config.yaml): run it from the repository, "
                      "or set SEGLAB_CONF=/path/to/conf")


def train(argv: list[str]) -> int:
    import hydra

    from seglab.rundir import register_resolvers
    from seglab.train import main_entry

    register_resolvers()
    main = hydra.main(config_path=str(_conf_dir()), config_name="config", version_base="1.3")(main_entry)
    sys.argv = ["seglab train", *argv]
    main()
    return 0


def _load(run_dir: str):
    from seglab.pipeline import load_run

    return load_run(run_dir)


def assign(args: argparse.Namespace) -> int:
    from seglab.serve.assign import assign_file, stream

    pipe = _load(args.run)
    if args.stream:
        counts = stream(pipe, sys.stdin, sys.stdout, reference_date=args.reference_date)
        print(f"seglab assign: {counts['assigned']} assigned, {counts['rejected']} rejected", file=sys.stderr)
        return 0
    if not args.input or not args.output:
        raise SeglabError("seglab assign needs --input and --output (or --stream)")
    if args.update:
        return assign_update(pipe, args)
    report = assign_file(pipe, args.input, args.output, args.reviews, args.reference_date)
    line = (f"seglab assign: {report['n_assigned']:,} customers assigned from {report['kind']} {args.input} "
            f"-> {args.output}")
    if report["n_rejected"]:
        reasons = "; ".join(f"{n} {why}" for why, n in sorted(report["reasons"].items(), key=lambda kv: -kv[1]))
        line += f"; {report['n_rejected']:,} rows rejected (segment -1, reason in 'error'): {reasons}"
    print(line, file=sys.stderr)
    return 0


def assign_update(pipe, args: argparse.Namespace) -> int:
    """``--update --state STATE``: fold the input's transactions into STATE, re-assign their customers."""
    from seglab.serve.assign import write_table
    from seglab.serve.inputs import events_to_data, read_table
    from seglab.serve.state import features_from_state, fold, read_state, write_state

    if not args.state:
        raise SeglabError("seglab assign --update needs --state STATE.parquet (created on first use)")
    data = events_to_data(read_table(args.input), None, args.input)
    state = fold(pipe, read_state(args.state), data.transactions)
    write_state(state, args.state)
    ids = data.customer_ids
    features = features_from_state(pipe, state.loc[ids], args.reference_date)
    out = pipe.assign(features).reset_index()
    write_table(out, args.output)
    print(f"seglab assign --update: {len(ids):,} customers updated and re-assigned, {len(state):,} in {args.state}",
          file=sys.stderr)
    return 0


def serve(args: argparse.Namespace) -> int:
    from seglab.serve.app import run_server

    run_server(args.run, host=args.host, port=args.port, workers=1)
    return 0


def drift(args: argparse.Namespace) -> int:
    from seglab.serve.drift import drift_report

    summary = drift_report(_load(args.run), args.input, args.out, reviews_path=args.reviews,
                           threshold=args.threshold, reference_date=args.reference_date)
    print(summary["text"])
    return 0


def report(argv: list[str]) -> int:
    from seglab.report.compare import main as compare_main

    return compare_main(argv)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seglab", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train and evaluate one run (Hydra overrides follow)", add_help=False)
    sub.add_parser("report", help="comparison report of tracked runs (scripts/compare.py's options)", add_help=False)
    a = sub.add_parser("assign", help="segments of new customers from a run's pipeline")
    a.add_argument("--run", required=True, help="the run dir (holds bundle/)")
    a.add_argument("--input", help="feature table or raw transactions (.parquet, .csv, .jsonl)")
    a.add_argument("--reviews", help="reviews of the customers in --input (raw events only)")
    a.add_argument("--output", help="where the segments go (.parquet, .csv, .jsonl)")
    a.add_argument("--stream", action="store_true", help="JSON lines on stdin -> JSON lines on stdout")
    a.add_argument("--reference-date", default=None,
                   help="recency measured against: the run's date (default), 'data' (the input's own) or YYYY-MM-DD; "
                        "with --update: the day after the newest event in the state (default) or YYYY-MM-DD")
    a.add_argument("--update", action="store_true",
                   help="fold --input's transactions into --state (running per-customer aggregates) and re-assign")
    a.add_argument("--state", help="the state file of --update (Parquet, yours; created on first use)")
    s = sub.add_parser("serve", help="HTTP API: POST /assign, GET /health, GET /segments, /docs")
    s.add_argument("--run", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    d = sub.add_parser("drift", help="segment shares and feature PSI of new customers vs the training population")
    d.add_argument("--run", required=True)
    d.add_argument("--input", required=True)
    d.add_argument("--reviews", default=None)
    d.add_argument("--out", default="drift", help="folder for drift.csv, drift_segments.csv, drift.json, drift.png")
    d.add_argument("--threshold", type=float, default=0.25, help="PSI above which a feature is flagged (default 0.25)")
    d.add_argument("--reference-date", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        if argv and argv[0] == "train":
            return train(argv[1:])
        if argv and argv[0] == "report":
            return report(argv[1:])
        args = parser().parse_args(argv)
        return {"assign": assign, "serve": serve, "drift": drift}[args.command](args)
    except SeglabError as err:
        print(f"seglab error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
