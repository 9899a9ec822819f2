"""Assign new customers with a run's pipeline: a file at once (``seglab assign``) or JSON lines
(``seglab assign --stream``).

Batch: the input is read (`seglab.serve.inputs`), assigned in chunks of ``chunk_rows`` customers
(a progress line per chunk through `seglab.progress`) and written as Parquet, CSV or JSON lines:
``customer_id`` (as given), ``segment``, ``prob_0..``, ``distance`` and ``error`` (empty for
assigned rows; rejected rows have ``segment = -1`` and the reason). The counts, and the reasons
of rejected rows, are returned (the CLI prints them on stderr).

Stream: each input line is one JSON object, answered by one output line, flushed at once:

- a feature row: ``{"customer_id": "c1", "recency_days": 3.0, ...}`` or the features under
  ``"features"``;
- raw events: ``{"customer_id": "c1", "events": [{"timestamp": "...", "amount": 9.5, ...}],
  "reviews": [{"text": "...", "timestamp": "..."}]}``.

An answer is ``{"customer_id", "segment", "probabilities": [...], "distance"}``, or
``{"customer_id", "error"}`` for a line that cannot be assigned (bad JSON, bad values): the
stream goes on.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from seglab.errors import SeglabError
from seglab.pipeline.fast import is_number
from seglab.progress import Progress
from seglab.serve.inputs import events_to_data, is_feature_table, read_table, split_feature_rows

log = logging.getLogger("seglab.serve")


def assign_frame(pipe: Any, frame: pd.DataFrame, file: str = "<input>", reviews: pd.DataFrame | None = None,
                 reference_date: str | None = None, chunk_rows: int = 200_000) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``(assignments, report)`` for a feature table or raw events ``frame`` (module docstring)."""
    columns = pipe.feature_columns
    if is_feature_table(frame, columns):
        good, rejected = split_feature_rows(frame, columns, file)
        kind = "feature table"
    else:
        data = events_to_data(frame, reviews, file)
        good, rejected = pipe.features(data, reference_date=reference_date), None
        kind = "raw events"
    parts = []
    with Progress(f"assign: {len(good):,} customers ({kind})", total=len(good), unit="customers") as bar:
        for start in range(0, max(len(good), 1), chunk_rows):
            chunk = good.iloc[start:start + chunk_rows]
            if len(chunk):
                parts.append(pipe.assign(chunk))
            bar.update(len(chunk))
    out = pd.concat(parts) if parts else pipe.assign(good)
    out["error"] = ""
    out = out.reset_index()
    report = {"kind": kind, "n_rows": int(len(frame)), "n_assigned": int(len(good)), "n_rejected": 0, "reasons": {}}
    if rejected is not None and len(rejected):
        k = sum(c.startswith("prob_") for c in out.columns)
        bad = pd.DataFrame({"customer_id": rejected["customer_id"], "segment": -1,
                            **{f"prob_{j}": np.nan for j in range(k)}, "distance": np.nan, "error": rejected["error"]})
        out = pd.concat([out, bad], ignore_index=True)
        report["n_rejected"] = int(len(rejected))
        report["reasons"] = dict(Counter(rejected["error"]))
    return out, report


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.lower()
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif name.endswith((".jsonl", ".ndjson")):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)


def assign_file(pipe: Any, input_path: str | Path, output_path: str | Path, reviews_path: str | Path | None = None,
                reference_date: str | None = None) -> dict[str, Any]:
    """Read ``input_path``, assign, write ``output_path``; returns the report of `assign_frame`."""
    frame = read_table(input_path)
    reviews = read_table(reviews_path) if reviews_path else None
    out, report = assign_frame(pipe, frame, str(input_path), reviews, reference_date)
    write_table(out, output_path)
    return report


# --- one record at a time (stream and HTTP) ------------------------------------------------------
def record_frames(records: list[dict[str, Any]]) -> tuple[pd.DataFrame | None, pd.DataFrame | None,
                                                          pd.DataFrame | None]:
    """``(feature rows, transactions, reviews)`` of JSON records (feature rows or raw events)."""
    rows, tx, rv = [], [], []
    for rec in records:
        if not isinstance(rec, dict) or "customer_id" not in rec:
            raise SeglabError("each record needs a customer_id")
        cid = rec["customer_id"]
        if "events" in rec or "reviews" in rec:
            tx += [{**e, "customer_id": cid} for e in rec.get("events") or []]
            rv += [{**r, "customer_id": cid} for r in rec.get("reviews") or []]
        else:
            rows.append({"customer_id": cid, **(rec.get("features") or {k: v for k, v in rec.items() if k != "customer_id"})})
    return (pd.DataFrame(rows) if rows else None, pd.DataFrame(tx) if tx else None,
            pd.DataFrame(rv) if rv else None)


def assign_records(pipe: Any, records: list[dict[str, Any]], reference_date: str | None = None,
                   how: dict[str, str] | None = None, general_events: bool = True) -> list[dict[str, Any]] | None:
    """Assign JSON records (feature rows and/or raw events); one answer per customer, in input order.
    ``how`` (if given) receives ``path``: ``fast`` when every record took a fast path (feature rows
    the compiled pipeline, `fast_path`; a few customers' events `fast_events` too), ``general``
    otherwise. ``general_events=False``: ``None``, before any work, when raw events would take the
    general path (a server runs that one off its event loop)."""
    answers: dict[Any, dict[str, Any]] = {}
    how = {} if how is None else how
    paths = []
    event_records = [r for r in records if not (isinstance(r, dict) and "events" not in r and "reviews" not in r)]
    fast = fast_events(pipe) if event_records else None
    built = fast.features(event_records, reference_date) if fast is not None else None
    if event_records and built is None and not general_events:
        return None
    rows = [r for r in records if isinstance(r, dict) and "events" not in r and "reviews" not in r]
    if rows:
        paths.append({"path": "general"})
        answers.update(_assign_feature_records(pipe, rows, paths[-1]))
    if built is not None:  # a few customers' events: their features without pandas, the same numbers
        paths.append({"path": "general"})
        answers.update(_assign_feature_matrix(pipe, *built, paths[-1]))
        event_records = []
    _, tx, rv = record_frames(event_records)
    if tx is not None or rv is not None:
        data = events_to_data(tx, rv, "<request>")
        out = pipe.assign(data, reference_date=reference_date).reset_index()
        out["error"] = ""
        answers.update(_answers(out))
        paths.append({"path": "general"})
    how["path"] = "fast" if paths and all(p["path"] == "fast" for p in paths) else "general"
    # raw events are read as a data source reads ids (as text): answer with the id as the caller sent it
    return [{**answers[str(r["customer_id"])], "customer_id": r["customer_id"]}
            for r in records if str(r["customer_id"]) in answers]


def fast_path(pipe: Any) -> Any:
    """``pipe`` compiled for a few rows at a time (`seglab.pipeline.fast`), once per pipeline; None
    (logged once, with the reason) when it has a part the fast path does not reproduce."""
    if "_fast_path" not in pipe.__dict__:
        from seglab.pipeline.fast import compile_pipeline, why_not_compiled

        pipe.__dict__["_fast_path"] = compile_pipeline(pipe)
        if pipe.__dict__["_fast_path"] is None:
            log.warning("seglab: feature rows take the general path (%s is not compiled)", why_not_compiled(pipe))
    return pipe.__dict__["_fast_path"]


def fast_events(pipe: Any) -> Any:
    """``pipe``'s feature building for small event requests (`seglab.pipeline.fast_events`), once
    per pipeline; None (logged once, with the reason) when the run builds features it does not."""
    if "_fast_events" not in pipe.__dict__:
        from seglab.pipeline.fast_events import compile_events

        pipe.__dict__["_fast_events"] = compile_events(pipe)
        if pipe.__dict__["_fast_events"] is None:
            log.warning("seglab: raw events take the general path (%s)", pipe.__dict__.get("_fast_events_off"))
    return pipe.__dict__["_fast_events"]


def _assign_feature_matrix(pipe: Any, ids: list[str], values: np.ndarray,
                           how: dict[str, str] | None = None) -> dict[Any, dict[str, Any]]:
    """Rows already in the order of ``pipe.feature_columns`` (float64, NaN missing): the compiled
    fast path when it takes them, else the fitted preprocessor and ``assign_matrix``."""
    fast = fast_path(pipe)
    answers = fast.assign_values(ids, values) if fast is not None else None
    if answers is not None:
        if how is not None:
            how["path"] = "fast"
        return {str(a["customer_id"]): a for a in answers}
    frame = pd.DataFrame(values, columns=pipe.feature_columns, index=pd.Index(ids, name="customer_id"))
    out = pipe.assign_matrix(pipe.preprocessor_.transform(frame), frame.index).reset_index()
    out["error"] = ""
    return _answers(out)


def _assign_feature_records(pipe: Any, records: list[dict[str, Any]],
                            how: dict[str, str] | None = None) -> dict[Any, dict[str, Any]]:
    """Feature-row records through the compiled fast path, or straight into a float matrix for
    the general path (a request is small: pandas' per-column checks would cost more than the model)."""
    for rec in records:
        if "customer_id" not in rec:
            raise SeglabError("each record needs a customer_id")
    fast = fast_path(pipe)
    if fast is not None:
        answers = fast.assign_rows([rec["customer_id"] for rec in records],
                                   [rec.get("features") or {k: v for k, v in rec.items() if k != "customer_id"}
                                    for rec in records])
        if answers is not None:
            if how is not None:
                how["path"] = "fast"
            return {str(a["customer_id"]): a for a in answers}
        if not pipe.__dict__.get("_fast_path_declined"):
            pipe.__dict__["_fast_path_declined"] = True
            log.warning("seglab: rows whose preprocessed values are not finite take the general path")
    columns = pipe.feature_columns
    ids, rows, answers = [], [], {}
    for rec in records:
        values = rec.get("features") or {k: v for k, v in rec.items() if k != "customer_id"}
        missing = [c for c in columns if c not in values]
        if missing:
            raise SeglabError(f"feature rows lack the run's feature columns {', '.join(missing)}")
        try:
            row = [np.nan if values[c] is None else float(values[c]) for c in columns]
        except (TypeError, ValueError):
            bad = next(c for c in columns if not is_number(values[c]))
            answers[str(rec["customer_id"])] = {"customer_id": _plain(rec["customer_id"]),
                                                "error": f"{bad} is not a number"}
            continue
        ids.append(rec["customer_id"])
        rows.append(row)
    if rows:
        frame = pd.DataFrame(np.asarray(rows, dtype=np.float64), columns=columns, index=pd.Index(ids, name="customer_id"))
        out = pipe.assign_matrix(pipe.preprocessor_.transform(frame), frame.index).reset_index()
        out["error"] = ""
        answers.update(_answers(out))
    return answers


def _answers(out: pd.DataFrame) -> dict[Any, dict[str, Any]]:
    probs = out[[c for c in out.columns if c.startswith("prob_")]].to_numpy(dtype=np.float64)
    result = {}
    for i, row in enumerate(out.itertuples(index=False)):
        if row.error:
            result[str(row.customer_id)] = {"customer_id": _plain(row.customer_id), "error": row.error}
            continue
        result[str(row.customer_id)] = {"customer_id": _plain(row.customer_id), "segment": int(row.segment),
                                   "probabilities": [float(p) for p in probs[i]],
                                   "distance": None if math.isnan(row.distance) else float(row.distance)}
    return result


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def stream(pipe: Any, lines: Iterable[str], out: IO[str], reference_date: str | None = None) -> Counter:
    """Answer each JSON line of ``lines`` with one line on ``out``, flushed (module docstring)."""
    counts: Counter = Counter()
    for line in lines:
        if not line.strip():
            continue
        record = None
        try:
            record = json.loads(line)
            answers = assign_records(pipe, [record], reference_date)
            answer = answers[0] if answers else {"customer_id": record.get("customer_id"), "error": "not assigned"}
        except (SeglabError, ValueError, TypeError, KeyError) as err:
            cid = record.get("customer_id") if isinstance(record, dict) else None
            answer = {"customer_id": cid, "error": f"{type(err).__name__}: {str(err).splitlines()[0]}"}
        counts["rejected" if "error" in answer else "assigned"] += 1
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return counts
