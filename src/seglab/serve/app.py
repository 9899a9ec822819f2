"""``seglab serve``: a run's pipeline behind HTTP (FastAPI + uvicorn; the ``serve`` extra).

- ``POST /assign``: one customer or many (``{"customers": [...]}``), each as feature values
  (``{"customer_id": "c1", "features": {"recency_days": 3.0, ...}}``) or raw events
  (``{"customer_id": "c1", "events": [{"timestamp": "2024-05-01", "amount": 12.5}], "reviews":
  [{"text": "..."}]}``); answers ``{"assignments": [{"customer_id", "segment", "probabilities",
  "distance"}]}`` in request order. A body that does not fit the schema is a 422 naming the
  field; feature rows without the run's columns, or events a data source would refuse, are a 422
  with seglab's message. Feature rows take the run's pipeline compiled to arrays
  (`seglab.pipeline.fast`, the same numbers in a fraction of a millisecond) when it can be, and a
  few customers' raw events have their features built without pandas (`seglab.pipeline.fast_events`);
  the ``X-Seglab-Path`` response header says ``fast`` or ``general``. Both paths are compiled and
  warmed up (`warm_up`) before the first request;
- ``GET /health``: the run, its model, its segments and feature columns;
- ``GET /segments``: the run's segment profiles and names (``profiles.csv``,
  ``segment_names.json``) and the training shares;
- ``GET /docs``: the OpenAPI documentation (``/openapi.json``).
"""


import gc
import json
import logging
import math
from pathlib import Path
from typing import Any

from seglab.errors import SeglabError, require_extra
from seglab.rundir import PROFILES, SEGMENT_NAMES

log = logging.getLogger("seglab.serve")


def create_app(run_dir: str | Path) -> Any:
    """The FastAPI application serving the pipeline of ``run_dir``."""
    require_extra("fastapi", "serve", "seglab serve")
    from fastapi import FastAPI, HTTPException, Request, Response
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

    from seglab import __version__
    from seglab.pipeline import load_run
    from seglab.serve.assign import assign_records

    run_dir = Path(run_dir)
    pipe = load_run(run_dir)
    columns = pipe.feature_columns
    warm_up(pipe)

    class Event(BaseModel):
        model_config = ConfigDict(extra="forbid")
        timestamp: str = Field(description="ISO date or date-time of the purchase")
        amount: float = Field(description="money spent (> 0)")
        quantity: float | None = None
        category: str | None = None

    class Review(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str
        timestamp: str | None = None
        rating: float | None = None

    class Customer(BaseModel):
        model_config = ConfigDict(extra="forbid")
        customer_id: str | int
        features: dict[str, float | None] | None = Field(
            default=None, description=f"the run's feature columns: {', '.join(columns)}")
        events: list[Event] | None = None
        reviews: list[Review] | None = None

    class Batch(BaseModel):
        model_config = ConfigDict(extra="forbid")
        customers: list[Customer] = Field(min_length=1, max_length=100_000)
        reference_date: str | None = Field(default=None, description="raw events: 'data' or YYYY-MM-DD "
                                           "(default: the run's reference date)")

    class Assignment(BaseModel):
        customer_id: str | int
        segment: int
        probabilities: list[float]
        distance: float | None

    class Assignments(BaseModel):
        assignments: list[Assignment]

    app = FastAPI(title="seglab segments", version=__version__,
                  description=f"Segments of new customers from run {run_dir.name} ({type(pipe.model_).__name__}).")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "run": str(run_dir), "model": type(pipe.model_).__name__,
                "n_segments": pipe.n_segments_(), "feature_columns": columns, "seglab_version": __version__}

    @app.get("/segments")
    def segments() -> dict[str, Any]:
        out: dict[str, Any] = {"training_shares": pipe.statistics_.get("segment_shares", [])}
        if (run_dir / SEGMENT_NAMES).is_file():
            out["names"] = json.loads((run_dir / SEGMENT_NAMES).read_text())
        if (run_dir / PROFILES).is_file():
            import pandas as pd

            profiles = pd.read_csv(run_dir / PROFILES)
            out["profiles"] = [{k: _finite(v) for k, v in row.items()} for row in profiles.to_dict(orient="records")]
        return out

    body_schema = TypeAdapter(Batch | Customer)

    @app.post("/assign", response_model=None, responses={200: {"model": Assignments}})
    async def assign(request: Request) -> Response:
        """The body is read as plain JSON: feature rows get a light check (`feature_rows`), anything
        else the pydantic schema above (its 422s); what takes a fast path (feature rows, a few
        customers' events: a fraction of a millisecond) is assigned in the event loop, the
        general path for raw events in the thread pool."""
        try:
            body = json.loads(await request.body())
        except ValueError as err:
            raise RequestValidationError([{"type": "json_invalid", "loc": ["body"], "msg": f"JSON: {err}"}]) from None
        how: dict[str, str] = {}
        light = feature_rows(body)
        try:
            if light is not None:
                answers = assign_records(pipe, light[0], light[1], how)
            else:
                try:
                    parsed = body_schema.validate_python(body)
                except ValidationError as err:
                    raise RequestValidationError(err.errors(include_url=False, include_context=False)) from None
                batch = parsed if isinstance(parsed, Batch) else Batch(customers=[parsed])
                records = []
                for c in batch.customers:
                    if c.features is None and not c.events and not c.reviews:
                        raise HTTPException(422, f"customer {c.customer_id}: give features or events")
                    records.append(c.model_dump(exclude_none=True))
                answers = assign_records(pipe, records, batch.reference_date, how, general_events=False)
                if answers is None:  # the general path (pandas, tens of ms and more): off the event loop
                    answers = await run_in_threadpool(assign_records, pipe, records, batch.reference_date, how)
        except SeglabError as err:
            raise HTTPException(422, " ".join(str(err).split())) from None
        errors = [a for a in answers if "error" in a]
        if errors:
            raise HTTPException(422, "; ".join(f"customer {a['customer_id']}: {a['error']}" for a in errors[:5]))
        return Response(json.dumps({"assignments": answers}, allow_nan=False), media_type="application/json",
                        headers={"X-Seglab-Path": how.get("path", "general")})

    app.openapi = _with_body_schema(app, "/assign", body_schema)
    return app


def warm_up(pipe: Any) -> None:
    """Compile the fast paths and send one made-up customer through each path before the first
    request: done lazily, the first requests paid it (compiling, first calls into torch, pandas
    and the data source's checks: ~12 ms of CPU for feature rows, ~0.4 s for raw events) and with
    16 requests in flight each of them waited for it -- the p99 of a 1,000-request benchmark.
    A run with review text also loads its text model here (seconds: the adapter's merge and int8
    conversion on first use, then the model's load), so the first request with reviews does not."""
    import pandas as pd

    from seglab.serve.assign import assign_records, fast_events, fast_path
    from seglab.serve.inputs import events_to_data

    fast_path(pipe)
    assign_records(pipe, [{"customer_id": "warm-up", "features": {c: None for c in pipe.feature_columns}}])
    spec = pipe.spec_
    if spec.precomputed or not spec.reference_date:
        return
    day = (pd.Timestamp(spec.reference_date) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    event = {"timestamp": day, "amount": 1.0, "quantity": 1.0, "category": (spec.categories or ["unknown"])[0]}
    # a run with text: one review too, so the text model is loaded now, not by the first request with reviews
    review = pd.DataFrame([{"customer_id": "warm-up", "text": "warm-up", "timestamp": day}]) if spec.text_columns else None
    try:
        if fast_events(pipe) is not None:
            assign_records(pipe, [{"customer_id": "warm-up", "events": [event]}])
        pipe.assign(events_to_data(pd.DataFrame([{**event, "customer_id": "warm-up"}]), review, "<warm-up>"))
    except SeglabError as err:  # e.g. a run dated in the future: requests will say so themselves
        log.info("seglab serve: raw events not warmed up (%s)", err)


def feature_rows(body: Any) -> tuple[list[dict[str, Any]], str | None] | None:
    """``(records, reference_date)`` of a body made only of feature rows (``customer_id`` a string
    or integer, ``features`` a dict of numbers or nulls), without pydantic; None for any other body
    (it then goes through the full schema, and its errors)."""
    if isinstance(body, dict) and "customers" in body:
        customers, reference_date = body["customers"], body.get("reference_date")
        if set(body) - {"customers", "reference_date"} or not isinstance(customers, list) \
                or not 1 <= len(customers) <= 100_000 or not (reference_date is None or isinstance(reference_date, str)):
            return None
    else:
        customers, reference_date = [body], None
    for c in customers:
        if not (isinstance(c, dict) and len(c) == 2 and type(c.get("customer_id")) in (str, int)
                and isinstance(c.get("features"), dict)):
            return None
        if not all(type(v) in (float, int) or v is None for v in c["features"].values()):
            return None
    return customers, reference_date


def _with_body_schema(app: Any, path: str, adapter: Any) -> Any:
    """``app.openapi`` with ``adapter``'s JSON schema as ``path``'s request body (the endpoint reads
    the raw body itself, so FastAPI does not document it)."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default()
            body = adapter.json_schema(ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(body.pop("$defs", {}))
            schema["paths"][path]["post"]["requestBody"] = {"required": True,
                                                            "content": {"application/json": {"schema": body}}}
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def run_server(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve ``run_dir`` with uvicorn until stopped (Ctrl+C / SIGTERM)."""
    require_extra("uvicorn", "serve", "seglab serve")
    import torch
    import uvicorn

    torch.set_num_threads(1)  # one request's tiny matrix: threads only contend
    app = create_app(run_dir)
    # the ~0.5 M objects of the imports and the run never become garbage: out of the collector's
    # reach, a full collection (~0.4 s of CPU over them, every request in flight waiting) is not paid
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning", workers=workers)
