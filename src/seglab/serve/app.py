"""``seglab serve``: a run's pipeline behind HTTP (FastAPI + uvicorn; the ``serve`` extra).

- ``POST /assign``: one customer or many (``{"customers": [...]}``), each as feature values
  (``{"customer_id": "c1", "features": {"recency_days": 3.0, ...}}``) or raw events
  (``{"customer_id": "c1", "events": [{"timestamp": "2024-05-01", "amount": 12.5}], "reviews":
  [{"text": "..."}]}``); answers ``{"assignments": [{"customer_id", "segment", "probabilities",
  "distance"}]}`` in request order. A body that does not fit the schema is a 422 naming the
  field; feature rows without the run's columns, or events a data source would refuse, are a 422
  with seglab's message;
- ``GET /health``: the run, its model, its segments and feature columns;
- ``GET /segments``: the run's segment profiles and names (``profiles.csv``,
  ``segment_names.json``) and the training shares;
- ``GET /docs``: the OpenAPI documentation (``/openapi.json``).
"""


import json
import math
from pathlib import Path
from typing import Any

from seglab.errors import SeglabError, require_extra
from seglab.rundir import PROFILES, SEGMENT_NAMES


def create_app(run_dir: str | Path) -> Any:
    """The FastAPI application serving the pipeline of ``run_dir``."""
    require_extra("fastapi", "serve", "seglab serve")
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel, ConfigDict, Field

    from seglab import __version__
    from seglab.pipeline import load_run
    from seglab.serve.assign import assign_records

    run_dir = Path(run_dir)
    pipe = load_run(run_dir)
    columns = pipe.feature_columns

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

    @app.post("/assign", response_model=Assignments)
    def assign(body: Batch | Customer) -> dict[str, Any]:
        batch = body if isinstance(body, Batch) else Batch(customers=[body])
        records = []
        for c in batch.customers:
            if c.features is None and not c.events and not c.reviews:
                raise HTTPException(422, f"customer {c.customer_id}: give features or events")
            records.append(c.model_dump(exclude_none=True))
        try:
            answers = assign_records(pipe, records, batch.reference_date)
        except SeglabError as err:
            raise HTTPException(422, " ".join(str(err).split())) from None
        errors = [a for a in answers if "error" in a]
        if errors:
            raise HTTPException(422, "; ".join(f"customer {a['customer_id']}: {a['error']}" for a in errors[:5]))
        return {"assignments": answers}

    return app


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def run_server(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve ``run_dir`` with uvicorn until stopped (Ctrl+C / SIGTERM)."""
    require_extra("uvicorn", "serve", "seglab serve")
    import torch
    import uvicorn

    torch.set_num_threads(1)  # one request's tiny matrix: threads only contend
    app = create_app(run_dir)
    uvicorn.run(app, host=host, port=port, log_level="warning", workers=workers)
