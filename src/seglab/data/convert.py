"""Raw columns -> checked, typed columns: ids, numbers, text and customer attributes.

Every helper raises a ``DataValidationError`` naming the file, the column, the first rows at
fault (0-based data rows) and their values, never a traceback from inside pandas. Dates live in
``seglab.data.dates``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from seglab.data.dates import dates
from seglab.errors import DataValidationError

#: Share of numeric-looking values above which a text column of a customer table is an error.
NUMERIC_TYPO_SHARE = 0.95
#: numbers written with a decimal comma (``12,5``, ``1.234,50``): the hint says data.decimal
_DECIMAL_COMMA = r"^-?\d{1,3}(?:[.\s]\d{3})*,\d+$|^-?\d+,\d+$"


def require_columns(df: pd.DataFrame, columns: Iterable[str | None], file: str) -> None:
    """Error naming the first missing column and listing the available ones."""
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise DataValidationError(
            f"missing column(s) {missing}; available columns: {list(df.columns)}",
            file=file,
            column=missing[0],
        )


def fail_rows(message: str, file: str, column: str, mask: pd.Series, values: pd.Series,
              hint: str | None = None) -> None:
    bad = mask[mask].index
    raise DataValidationError(
        f"{message} ({int(mask.sum())} row(s))",
        file=file,
        column=column,
        rows=[int(i) for i in bad[:5]],
        examples=[_plain(v) for v in values.loc[bad[:5]]],
        hint=hint,
    )


def _plain(v: object) -> object:
    """A value as an error message shows it: Python scalars, ``None`` for missing, dates as text
    (so the pandas and SQL paths quote a date the same way)."""
    import datetime

    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (datetime.datetime, np.datetime64)):
        return str(pd.Timestamp(v))
    if isinstance(v, np.generic):
        return v.item()
    return v


def _blank(s: pd.Series) -> pd.Series:
    """True where a value is missing or an empty/whitespace string."""
    out = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        out = out | s.astype("string").str.strip().eq("").fillna(True)
    return out.astype(bool)


def customer_ids(s: pd.Series, file: str, column: str) -> pd.Series:
    """Ids as stripped strings (integral floats lose their ``.0``); a missing id is an error."""
    missing = _blank(s)
    if missing.any():
        fail_rows("missing customer id", file, column, missing, s)
    if pd.api.types.is_float_dtype(s):
        ints = s.astype("int64")
        out = s.astype(str).where(ints.ne(s), ints.astype(str))
    else:
        out = s.astype(str).str.strip()
    return out.astype(str)


def unique_ids(ids: pd.Series, file: str, column: str) -> None:
    dup = ids.duplicated(keep=False)
    if dup.any():
        fail_rows("duplicate customer id in a one-row-per-customer table", file, column, dup, ids)


def decimal_comma_hint(values) -> str | None:
    """The option to set when the non-numbers shown (``values``) are numbers with a decimal comma."""
    text = pd.Series(list(values), dtype="string").str.strip()
    if len(text) and bool(text.str.match(_DECIMAL_COMMA).fillna(False).all()):
        return "data.decimal=',' (the numbers are written with a decimal comma)"
    return None


def numeric(
    s: pd.Series, file: str, column: str, *, allow_missing: bool, non_negative: bool = False
) -> pd.Series:
    """The column as float64: non-numbers, (optionally) missing and negative values are errors."""
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    out = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
    out = out.astype("float64")
    missing_in = _blank(s)
    bad_type = out.isna() & ~missing_in
    if bad_type.any():
        fail_rows(f"column {column!r} must be numeric", file, column, bad_type, s,
                  hint=decimal_comma_hint(s[bad_type].head(5)))
    if not allow_missing and missing_in.any():
        fail_rows(f"missing value in required numeric column {column!r}", file, column, missing_in, s)
    if np.isinf(out.to_numpy()).any():
        fail_rows(
            f"infinite value in column {column!r}", file, column, pd.Series(np.isinf(out), index=s.index), s
        )
    if non_negative:
        neg = out < 0
        if neg.any():
            fail_rows(f"negative value in column {column!r} (must be >= 0)", file, column, neg, s)
    return out



def texts(s: pd.Series) -> pd.Series:
    """Text as ``str`` with missing values as empty strings (stripped)."""
    return s.astype("string").fillna("").str.strip().astype(str)


def attribute_frame(
    raw: pd.DataFrame,
    file: str,
    *,
    numeric_columns: Iterable[str] = (),
    categorical_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    date_format: str | None = None,
    reference_date: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Customer attributes with checked types (the frame passed holds attribute columns only).

    - ``numeric_columns`` must hold numbers (missing allowed); other numeric columns stay as read;
      booleans stay booleans.
    - ``categorical_columns`` become text even when coded as numbers.
    - ``date_columns`` are parsed with ``date_format`` and replaced by ``<col>_days``: days
      before ``reference_date`` (default: the latest date in those columns), so the features do
      not depend on the day the code runs. Missing dates stay NaN; unparsable ones are errors.
    - any other text column whose non-missing values are at least ``NUMERIC_TYPO_SHARE`` numbers
      but not all is an error naming the non-numeric rows (declare it categorical if intended);
      all-numeric text becomes numeric; the rest stays text (stripped, NaN kept).

    Returns the frame and the reference date used for date columns (``None`` without any).
    """
    numeric_columns, categorical_columns, date_columns = (
        list(numeric_columns),
        list(categorical_columns),
        list(date_columns),
    )
    require_columns(raw, [*numeric_columns, *categorical_columns, *date_columns], file)
    out = pd.DataFrame(index=raw.index)
    parsed_dates = {c: dates(raw[c], file, c, fmt=date_format, allow_missing=True) for c in date_columns}
    if parsed_dates and reference_date is None:
        latest = max((d.max() for d in parsed_dates.values() if d.notna().any()), default=None)
        reference_date = None if latest is None else pd.Timestamp(latest).normalize()
    for col in raw.columns:
        s = raw[col]
        if col in parsed_dates:
            if reference_date is None:  # the column holds no date at all: every value is missing
                out[f"{col}_days"] = np.nan
            else:
                out[f"{col}_days"] = (reference_date - parsed_dates[col]) / pd.Timedelta(days=1)
        elif col in categorical_columns:
            out[col] = s.astype("string").str.strip().astype(str).where(~_blank(s), np.nan)
        elif col in numeric_columns:
            out[col] = numeric(s, file, col, allow_missing=True)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s
        else:
            missing = _blank(s)
            as_num = pd.to_numeric(s.where(~missing), errors="coerce")
            n_present = int((~missing).sum())
            n_num = int(as_num.notna().sum())
            if n_present and n_num == n_present:
                out[col] = as_num.astype("float64")
            elif n_present and n_num / n_present >= NUMERIC_TYPO_SHARE:
                bad = as_num.isna() & ~missing
                fail_rows(
                    f"column {col!r} is {n_num / n_present:.1%} numbers but has non-numeric values "
                    "(fix them, or list the column in categorical_columns)",
                    file,
                    col,
                    bad,
                    s,
                )
            else:
                out[col] = s.astype("string").str.strip().astype(str).where(~missing, np.nan)
    return out, reference_date
