"""Raw tables -> the canonical ``transactions`` and ``reviews`` of ``seglab.data.schema``.

``transactions_frame`` maps and checks one raw transactions frame (the single-file form of
``seglab.data.lines``, which the transactions source uses with its policies); ``reviews_frame``
maps a reviews frame, joins several text columns, drops reviews without text and exact
duplicates (counted in ``meta``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from seglab.data.convert import customer_ids, numeric, require_columns, texts
from seglab.data.dates import dates
from seglab.data.repairs import drop_exact_duplicates


def transactions_frame(
    raw: pd.DataFrame,
    file: str,
    *,
    customer_id: str,
    timestamp: str,
    amount: str,
    quantity: str | None = None,
    category: str | None = None,
    date_format: str | None = None,
    date_unit: str | None = None,
    drop_duplicates: bool = True,
    meta: dict | None = None,
) -> pd.DataFrame:
    """Map and validate one raw transactions frame into the canonical ``TRANSACTION_COLUMNS``,
    under the default policies of ``seglab.data.lines`` (a missing id, a negative amount or
    quantity, a date in the future are errors); exact duplicates dropped and counted."""
    from seglab.data.lines import LineSpec, parse_lines, settle_returns

    spec = LineSpec(customer_id=customer_id, timestamp=timestamp, amount=amount, quantity=quantity,
                    category=category, date_format=date_format, date_unit=date_unit)
    lines = parse_lines(raw, file, spec, meta)
    n_dup = 0
    if drop_duplicates:
        lines, n_dup = drop_exact_duplicates(lines)
    if meta is not None:
        meta["transactions_duplicates_dropped"] = n_dup
    tx, _ = settle_returns(lines, spec)
    return tx.reset_index(drop=True)


def reviews_frame(
    raw: pd.DataFrame,
    file: str,
    *,
    customer_id: str,
    text: str | Sequence[str],
    timestamp: str | None = None,
    rating: str | None = None,
    date_format: str | None = None,
    date_unit: str | None = None,
    meta: dict | None = None,
    not_after: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Map and validate a raw reviews frame into the canonical ``REVIEW_COLUMNS``; review dates
    after ``not_after`` (the future) are errors.

    ``text`` may name several columns (e.g. title and body); they are joined with ``". "``.
    """
    text_cols = [text] if isinstance(text, str) else list(text)
    require_columns(raw, [customer_id, *text_cols, timestamp, rating], file)
    out = pd.DataFrame(index=raw.index)
    out["customer_id"] = customer_ids(raw[customer_id], file, customer_id)
    if timestamp is None:
        out["timestamp"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    else:
        out["timestamp"] = dates(
            raw[timestamp], file, timestamp, fmt=date_format, allow_missing=True, unit=date_unit,
            not_after=not_after, meta=meta, hint="data.reference_date=<a later date> if the reviews are dated ahead on purpose"
        )
    parts = [texts(raw[c]) for c in text_cols]
    joined = parts[0]
    for p in parts[1:]:
        both = (joined != "") & (p != "")
        sep = pd.Series(np.where(joined.str.contains(r"[.!?]$"), " ", ". "), index=joined.index)
        joined = (joined + sep + p).where(both, joined + p)
    out["text"] = joined.astype(str)
    out["rating"] = numeric(raw[rating], file, rating, allow_missing=True) if rating is not None else np.nan
    out["rating"] = out["rating"].astype("float64")
    empty = out["text"] == ""
    out = out.loc[~empty]
    out, n_dup = drop_exact_duplicates(out, ["customer_id", "text", "timestamp"])
    if meta is not None:
        meta["reviews_without_text_dropped"] = int(empty.sum())
        meta["reviews_duplicates_dropped"] = n_dup
    return out.reset_index(drop=True)
