"""What new customers arrive as, turned into what a `SegmentationPipeline` assigns.

Two kinds of input, told apart by their columns:

- a **feature table**: ``customer_id`` plus every feature column of the run (extra columns are
  ignored). Each row is checked on its own: a row without an id, with an id seen earlier in the
  input, or with a value that is not a number is *rejected* with its reason (never dropped
  silently: ``assign`` writes it with ``segment = -1`` and the reason in ``error``), the others
  are assigned. Missing values (empty, NaN, inf) are the preprocessor's to impute, as in training;
- **raw events**: transactions (``customer_id``, ``timestamp``, ``amount``, optional ``quantity``
  and ``category``) and optionally reviews (``customer_id``, ``text``, optional ``timestamp``,
  ``rating``), read and checked as the transactions data source reads a log
  (`seglab.data.tables`): a bad row is an error naming the file, column and rows. The customers
  are the ids in the events, in order of first appearance.

Files: Parquet, CSV (``.csv``, ``.csv.gz``), JSON lines (``.jsonl``, ``.ndjson``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.data.schema import CustomerData
from seglab.errors import DataValidationError

EVENT_COLUMNS = ("customer_id", "timestamp", "amount")


def read_table(path: str | Path) -> pd.DataFrame:
    """A Parquet, CSV or JSON-lines file as a DataFrame (ids kept as written)."""
    path = Path(path)
    name = path.name.lower()
    if not path.exists():
        raise DataValidationError("input file not found", file=str(path))
    try:
        if name.endswith(".parquet") or path.is_dir():
            return pd.read_parquet(path)
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True, dtype=False)
        if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            return pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",", dtype={"customer_id": str})
    except (ValueError, OSError) as err:
        raise DataValidationError(f"cannot read it ({type(err).__name__}: {str(err).splitlines()[0]})",
                                  file=str(path)) from None
    raise DataValidationError("unknown file type: use .parquet, .csv or .jsonl", file=str(path))


def is_feature_table(frame: pd.DataFrame, feature_columns: list[str]) -> bool:
    """True when ``frame`` holds every feature column of the run (else it must be raw events)."""
    return all(c in frame.columns for c in feature_columns)


def split_feature_rows(frame: pd.DataFrame, feature_columns: list[str], file: str = "<input>",
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(good, rejected)``: good rows as a float frame indexed by ``customer_id``; rejected rows as
    ``customer_id``, ``row`` (0-based position in the input) and ``error`` (module docstring)."""
    if "customer_id" not in frame.columns:
        raise DataValidationError("the feature table has no customer_id column", file=file, column="customer_id")
    ids = frame["customer_id"]
    reasons = pd.Series("", index=frame.index, dtype=object)
    no_id = ids.isna() | (ids.astype(str).str.strip() == "")
    reasons[no_id] = "missing customer_id"
    dup = ids.duplicated(keep="first") & ~no_id
    reasons[dup & (reasons == "")] = "customer_id repeated (first row kept)"
    values = {}
    for col in feature_columns:
        raw = frame[col]
        num = raw if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw) else \
            pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & ~raw.astype(str).str.strip().isin(["", "nan", "NaN", "null", "None"])
        reasons[bad & (reasons == "")] = f"{col} is not a number"
        values[col] = num.astype("float64")
    ok = (reasons == "").to_numpy()
    good = pd.DataFrame(values, index=frame.index)[ok]
    good.index = pd.Index(ids[ok].to_numpy(), name="customer_id")
    rejected = pd.DataFrame({"customer_id": ids[~ok].to_numpy(), "row": np.flatnonzero(~ok),
                             "error": reasons[~ok].to_numpy()})
    return good, rejected


def events_to_data(transactions: pd.DataFrame | None, reviews: pd.DataFrame | None = None,
                   file: str = "<events>", reference_date: Any = None) -> CustomerData:
    """Raw transactions (and reviews) as a `CustomerData`, checked as the transactions source checks a log."""
    from seglab.data.tables import reviews_frame, transactions_frame

    meta: dict[str, Any] = {}
    tx = None
    if transactions is not None and len(transactions):
        missing = [c for c in EVENT_COLUMNS if c not in transactions.columns]
        if missing:
            raise DataValidationError(f"the events lack the columns {', '.join(missing)} (and the feature columns of "
                                      "the run, so they are not a feature table either)", file=file, column=missing[0])
        tx = transactions_frame(transactions, file, customer_id="customer_id", timestamp="timestamp", amount="amount",
                                quantity="quantity" if "quantity" in transactions.columns else None,
                                category="category" if "category" in transactions.columns else None,
                                drop_duplicates=False, meta=meta)
    rv = None
    if reviews is not None and len(reviews):
        rv = reviews_frame(reviews, f"{file} (reviews)", customer_id="customer_id", text="text",
                           timestamp="timestamp" if "timestamp" in reviews.columns else None,
                           rating="rating" if "rating" in reviews.columns else None, meta=meta)
    seen = [s["customer_id"] for s in (tx, rv) if s is not None]
    if not seen:
        raise DataValidationError("no events: give transactions (customer_id, timestamp, amount) or a feature table",
                                  file=file)
    ids = pd.unique(pd.concat(seen, ignore_index=True))
    customers = pd.DataFrame({"customer_id": ids})
    return CustomerData(name="assign", customers=customers, transactions=tx, reviews=rv,
                        reference_date=None if reference_date is None else pd.Timestamp(reference_date), meta=meta)
