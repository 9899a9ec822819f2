"""Dates and times at the data-source boundary: parsing, time zones, range, the future.

``dates`` turns a raw column into ``datetime64[ns]`` or raises a ``DataValidationError`` naming
the rows:

- text is parsed with ``fmt`` (a ``strftime`` format) or, without one, with the format pandas
  infers from the data; ``unit`` (``"s"``, ``"ms"``...) parses numbers as Unix epochs;
- times written with a UTC offset (``2024-03-01T10:00+02:00``, ``...Z``) or a time-zone-aware
  column (Parquet) are converted to UTC and stored without a zone (counted as
  ``timestamps_converted_to_utc``); a column that mixes times with and without an offset is an
  error, since the zone of the naive ones is unknown;
- dates outside what pandas can hold (before 1677-09-22, after 2262-04-11) are errors, not an
  ``OutOfBoundsDatetime`` traceback;
- ``not_after`` (transactions and reviews: today, or the configured reference date when later)
  catches dates in the future, almost always a wrong year or format (a 2099 or 2150 date would
  otherwise become the reference date and make every customer look lapsed for decades):
  ``future="error"`` raises naming the rows and ``hint``; ``future="drop"`` returns them as
  ``NaT`` for the caller to drop and count.
"""

from __future__ import annotations

import pandas as pd

from seglab.data.counts import record
from seglab.errors import DataValidationError

_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$"
FIRST = pd.Timestamp("1677-09-22")
LAST = pd.Timestamp("2262-04-11")


def _fail(message: str, file: str, column: str, mask: pd.Series, values: pd.Series, hint: str | None = None):
    from seglab.data.convert import _plain

    bad = mask[mask].index
    raise DataValidationError(f"{message} ({int(mask.sum())} row(s))", file=file, column=column,
                              rows=[int(i) for i in bad[:5]], examples=[_plain(v) for v in values.loc[bad[:5]]],
                              hint=hint)


def _blank(s: pd.Series) -> pd.Series:
    out = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        out = out | s.astype("string").str.strip().eq("").fillna(True)
    return out.astype(bool)


def _parse_text(s: pd.Series, missing: pd.Series, file: str, column: str, fmt: str | None,
                meta: dict | None) -> pd.Series:
    text = s.astype("string").str.strip()
    offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool) & ~missing
    n_offset, n_present = int(offset.sum()), int((~missing).sum())
    if 0 < n_offset < n_present:
        minority = offset if n_offset <= n_present - n_offset else (~offset & ~missing)
        _fail(f"column {column!r} mixes times with a UTC offset and times without one (the zone of those "
              "without is unknown)", file, column, minority, s,
              hint="write every time with its offset, or none (times with offsets are converted to UTC)")
    utc = n_offset > 0
    out = pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    if utc:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        record(meta, "timestamps_converted_to_utc", n_offset)
    return out


def dates(
    s: pd.Series,
    file: str,
    column: str,
    *,
    fmt: str | None = None,
    allow_missing: bool,
    unit: str | None = None,
    not_after: pd.Timestamp | None = None,
    future: str = "error",
    hint: str | None = None,
    meta: dict | None = None,
) -> pd.Series:
    """The column as ``datetime64[ns]`` (see the module docstring); errors name the rows."""
    missing_in = _blank(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
        if getattr(s.dt, "tz", None) is not None:
            out = s.dt.tz_convert("UTC").dt.tz_localize(None)
            record(meta, "timestamps_converted_to_utc", int(s.notna().sum()))
    else:
        try:
            if unit is not None:
                out = pd.to_datetime(pd.to_numeric(s, errors="coerce"), unit=unit, errors="coerce")
            else:
                out = _parse_text(s, missing_in, file, column, fmt, meta)
        except (ValueError, TypeError, OverflowError) as e:
            raise DataValidationError(
                f"dates in column {column!r} could not be parsed (format={fmt!r}): {e}", file=file, column=column,
            ) from None
    out = out.astype("datetime64[us]")
    bad = out.isna() & ~missing_in
    if bad.any():
        _fail(f"unparsable date in column {column!r} (format={fmt!r})", file, column, bad, s)
    if not allow_missing and missing_in.any():
        _fail(f"missing date in column {column!r}", file, column, missing_in, s)
    if not_after is not None:
        late = (out > pd.Timestamp(not_after)).fillna(False).astype(bool)
        if late.any() and future == "error":
            _fail(f"date after {pd.Timestamp(not_after).date()} in column {column!r} (in the future: a wrong year "
                  "or date format?)", file, column, late, s, hint=hint)
        out = out.where(~late)
    outside = ((out < FIRST) | (out > LAST)).fillna(False).astype(bool)
    if outside.any():
        _fail(f"date out of range in column {column!r} (pandas holds {FIRST.date()} to {LAST.date()})",
              file, column, outside, s)
    return out.astype("datetime64[ns]")


def future_limit(reference_date: pd.Timestamp | str | None) -> pd.Timestamp:
    """Latest acceptable date: the end of today (UTC), or ``reference_date`` when later."""
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)
    if reference_date is None:
        return today
    return max(today, pd.Timestamp(reference_date))
