"""Checks at the data-source boundary: bad input becomes a ``DataValidationError``, never a
traceback from deep inside pandas.

Every file-reading source goes through these helpers, so the rules and the messages are the same
everywhere. A message names the file, the column, example rows and their values, e.g.::

    column 'amount' must be numeric | file: tx.csv | column: 'amount' | rows (0-based, first 2): 3, 7 | values: 'abc', '12,5'

Row numbers are 0-based positions among the file's *data* rows (the header is not counted), so
row 0 is the first line after the header.

Policy (what is an error, what is repaired, what is left alone)
----------------------------------------------------------------
Errors (``DataValidationError``):

- a missing file, an empty file, a file with a header but no data rows, a file pandas cannot
  parse;
- a required column that is absent (the message lists the columns that are there);
- a missing customer id (NaN or blank) in any table;
- a duplicate customer id in a customer-level table (``customers``, ``table``): one row per
  customer is the definition of that table, so a repeat means the file is not what the config
  says it is;
- a non-numeric value in a numeric column (``amount``, ``quantity``, ``rating``, a column listed
  in ``numeric_columns``), and, in a customer-level table, a text column whose non-missing
  values are at least 95% numbers (almost certainly a typo such as ``"12,5"`` or ``"n/a "``;
  declare it ``categorical`` if it is not);
- a missing value in ``amount`` or ``quantity``, or a negative one (money and counts are >= 0;
  returns must be netted before loading);
- a date that cannot be parsed with the configured format, and a missing transaction date (a
  purchase must be placed in time); a missing *review* date is allowed (NaT).

Repaired and counted in ``CustomerData.meta`` (so a run reports it):

- exact duplicate transaction rows (every canonical column equal) are dropped
  (``meta["transactions_duplicates_dropped"]``; sources may switch this off with
  ``drop_duplicates=False`` where repeats are genuine);
- exact duplicate reviews (same customer, text and date) are dropped
  (``meta["reviews_duplicates_dropped"]``);
- reviews without text are dropped (``meta["reviews_without_text_dropped"]``);
- transactions and reviews of customer ids absent from a given customers file are dropped
  (``meta["transactions_unknown_customer_dropped"]``, ``meta["reviews_unknown_customer_dropped"]``)
  and a warning is logged: the customers file defines the population;
- a missing category becomes ``"unknown"``.

Left alone:

- a missing customer attribute (NaN age, income...) stays NaN for the preprocessor's imputer;
- a missing review rating stays NaN.

``validate_customer_data`` finally checks the canonical invariants documented in
``seglab.data.schema`` (columns, dtypes, unique ids, truth alignment) for every source, file
based or generated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS, CustomerData
from seglab.errors import DataValidationError
from seglab.privacy import describe_ids

log = logging.getLogger(__name__)

#: Share of numeric-looking values above which a text column of a customer table is an error.
NUMERIC_TYPO_SHARE = 0.95

_PARQUET_SUFFIXES = (".parquet", ".pq")


# --- files ---------------------------------------------------------------------------------
def check_file(path: str | Path, what: str = "data file") -> Path:
    """The path as a ``Path`` if it is an existing, non-empty file; else a clear error."""
    p = Path(path).expanduser()
    if not p.exists():
        hint = ""
        if "shared/data" in str(p):
            hint = " (the real datasets live in ../shared/data beside the checkout; set SEGLAB_SHARED_DATA to point elsewhere)"
        raise DataValidationError(f"{what} not found{hint}", file=str(p))
    if not p.is_file():
        raise DataValidationError(f"{what} is not a file", file=str(p))
    if p.stat().st_size == 0:
        raise DataValidationError(f"{what} is empty (0 bytes)", file=str(p))
    return p


def default_sep(path: Path) -> str:
    """Tab for ``.tsv``/``.tab`` files (also compressed), comma otherwise."""
    suffixes = [s.lower() for s in path.suffixes]
    return "\t" if any(s in (".tsv", ".tab") for s in suffixes) else ","


def read_frame(
    path: str | Path,
    *,
    sep: str | None = None,
    str_columns: Iterable[str] = (),
    what: str = "data file",
    **read_csv_kwargs,
) -> pd.DataFrame:
    """Read a CSV/TSV (optionally .gz/.zip/.bz2/.xz compressed) or Parquet file into a frame.

    ``str_columns`` are read as text (ids keep leading zeros). The frame's index is the 0-based
    data-row position in the file, which every later error message quotes. Raises
    ``DataValidationError`` for a missing, empty, header-only or unparsable file.
    """
    p = check_file(path, what)
    str_columns = list(str_columns)
    try:
        if p.suffix.lower() in _PARQUET_SUFFIXES:
            df = pd.read_parquet(p)
        else:
            dtype = {c: str for c in str_columns}
            df = pd.read_csv(p, sep=sep or default_sep(p), dtype=dtype or None, **read_csv_kwargs)
    except pd.errors.EmptyDataError as e:
        raise DataValidationError(f"{what} has no columns or rows ({e})", file=str(p)) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as e:
        raise DataValidationError(f"{what} could not be parsed: {e}", file=str(p)) from None
    if df.shape[1] == 0 or len(df) == 0:
        raise DataValidationError(
            f"{what} has no data rows (columns: {list(map(str, df.columns))})", file=str(p)
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df.reset_index(drop=True)


# --- columns -------------------------------------------------------------------------------
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
    if isinstance(v, np.generic):
        return v.item()
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
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
        fail_rows(f"column {column!r} must be numeric", file, column, bad_type, s)
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


def dates(
    s: pd.Series,
    file: str,
    column: str,
    *,
    fmt: str | None = None,
    allow_missing: bool,
    unit: str | None = None,
) -> pd.Series:
    """The column as datetime64[ns]; unparsable (and, optionally, missing) values are errors.

    ``fmt`` is a ``strftime`` format (e.g. ``"%d-%m-%Y"``); ``None`` lets pandas infer one
    format from the data. ``unit`` (``"s"``, ``"ms"``...) parses numbers as Unix epochs.
    """
    missing_in = _blank(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        try:
            if unit is not None:
                out = pd.to_datetime(pd.to_numeric(s, errors="coerce"), unit=unit, errors="coerce")
            else:
                text = s.astype("string").str.strip()
                out = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError) as e:
            raise DataValidationError(
                f"dates in column {column!r} could not be parsed (format={fmt!r}): {e}",
                file=file,
                column=column,
            ) from None
    out = out.astype("datetime64[ns]")
    bad = out.isna() & ~missing_in
    if bad.any():
        fail_rows(f"unparsable date in column {column!r} (format={fmt!r})", file, column, bad, s)
    if not allow_missing and missing_in.any():
        fail_rows(f"missing date in column {column!r}", file, column, missing_in, s)
    return out


def texts(s: pd.Series) -> pd.Series:
    """Text as ``str`` with missing values as empty strings (stripped)."""
    return s.astype("string").fillna("").str.strip().astype(str)


# --- canonical tables ------------------------------------------------------------------------
def drop_exact_duplicates(df: pd.DataFrame, subset: Sequence[str] | None = None) -> tuple[pd.DataFrame, int]:
    dup = df.duplicated(subset=list(subset) if subset is not None else None, keep="first")
    return df.loc[~dup], int(dup.sum())


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
    """Map and validate a raw transactions frame into the canonical ``TRANSACTION_COLUMNS``."""
    require_columns(raw, [customer_id, timestamp, amount, quantity, category], file)
    out = pd.DataFrame(index=raw.index)
    out["customer_id"] = customer_ids(raw[customer_id], file, customer_id)
    out["timestamp"] = dates(
        raw[timestamp], file, timestamp, fmt=date_format, allow_missing=False, unit=date_unit
    )
    out["amount"] = numeric(raw[amount], file, amount, allow_missing=False, non_negative=True)
    if quantity is None:
        out["quantity"] = 1.0
    else:
        out["quantity"] = numeric(raw[quantity], file, quantity, allow_missing=False, non_negative=True)
    if category is None:
        out["category"] = "unknown"
    else:
        cat = texts(raw[category])
        out["category"] = cat.where(cat != "", "unknown")
    out["category"] = out["category"].astype(str)
    n_dup = 0
    if drop_duplicates:
        out, n_dup = drop_exact_duplicates(out)
    if meta is not None:
        meta["transactions_duplicates_dropped"] = n_dup
    return out.reset_index(drop=True)


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
) -> pd.DataFrame:
    """Map and validate a raw reviews frame into the canonical ``REVIEW_COLUMNS``.

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
            raw[timestamp], file, timestamp, fmt=date_format, allow_missing=True, unit=date_unit
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


def member_of(values: pd.Series, ids: pd.Index) -> pd.Series:
    """``values.isin(ids)`` for a unique ``ids``, through a hash lookup: pandas 3's ``isin`` on
    string ids took 9 s for 400,000 values against 10^6 ids, this 1.2 s."""
    ids = pd.Index(ids)
    if not ids.is_unique:
        return values.isin(ids)
    return pd.Series(ids.get_indexer(values) >= 0, index=values.index)


def restrict_to_customers(df: pd.DataFrame, ids: pd.Index, what: str, file: str, meta: dict) -> pd.DataFrame:
    """Drop rows of ``df`` whose customer is not in ``ids`` (counted in meta, warned about)."""
    known = member_of(df["customer_id"], ids)
    n = int((~known).sum())
    meta[f"{what}_unknown_customer_dropped"] = n
    if n:
        log.warning(
            "%s: dropped %d %s row(s) of customer ids absent from the customers table (%s)",
            file,
            n,
            what,
            describe_ids(df.loc[~known, "customer_id"].head(4)),  # never raw ids in logs
        )
    return df.loc[known].reset_index(drop=True)


# --- invariants --------------------------------------------------------------------------------
def validate_customer_data(data: CustomerData) -> CustomerData:
    """Check the canonical invariants of ``seglab.data.schema``; raise ``DataValidationError``.

    Cheap (vectorised) and run by every source before it returns, so later stages may rely on:
    unique non-missing ids; canonical columns and dtypes; non-negative amounts and quantities;
    every transaction/review customer present in ``customers``; ``truth`` aligned with
    ``customers``.
    """
    where = f"<CustomerData {data.name!r}>"
    c = data.customers
    if "customer_id" not in c.columns:
        raise DataValidationError(
            f"customers has no 'customer_id' column (columns: {list(c.columns)})", file=where
        )
    if len(c) == 0:
        raise DataValidationError("customers table is empty", file=where)
    ids = c["customer_id"]
    if ids.isna().any():
        fail_rows("missing customer id", where, "customer_id", ids.isna(), ids)
    unique_ids(ids, where, "customer_id")
    id_index = pd.Index(ids)
    from seglab.data.lazy import is_lazy  # (lazy imports this module)

    # transactions on disk were checked inside DuckDB when they were opened (seglab.data.lazy)
    if data.transactions is not None and not is_lazy(data.transactions):
        t = data.transactions
        if list(t.columns[: len(TRANSACTION_COLUMNS)]) != list(TRANSACTION_COLUMNS):
            raise DataValidationError(
                f"transactions must start with columns {list(TRANSACTION_COLUMNS)}, got {list(t.columns)}",
                file=where,
            )
        if t["timestamp"].dtype != "datetime64[ns]":
            raise DataValidationError(
                f"transactions.timestamp must be datetime64[ns], got {t['timestamp'].dtype}", file=where
            )
        for col in ("amount", "quantity"):
            if t[col].dtype != "float64":
                raise DataValidationError(
                    f"transactions.{col} must be float64, got {t[col].dtype}", file=where
                )
            bad = t[col].isna() | (t[col] < 0)
            if bad.any():
                fail_rows(f"transactions.{col} must be >= 0 and not missing", where, col, bad, t[col])
        if t["timestamp"].isna().any():
            fail_rows(
                "transactions.timestamp missing", where, "timestamp", t["timestamp"].isna(), t["timestamp"]
            )
        unknown = ~member_of(t["customer_id"], id_index)
        if unknown.any():
            fail_rows(
                "transaction of a customer absent from customers",
                where,
                "customer_id",
                unknown,
                t["customer_id"],
            )
    if data.reviews is not None:
        r = data.reviews
        if list(r.columns[: len(REVIEW_COLUMNS)]) != list(REVIEW_COLUMNS):
            raise DataValidationError(
                f"reviews must start with columns {list(REVIEW_COLUMNS)}, got {list(r.columns)}", file=where
            )
        if r["timestamp"].dtype != "datetime64[ns]":
            raise DataValidationError(
                f"reviews.timestamp must be datetime64[ns], got {r['timestamp'].dtype}", file=where
            )
        if r["rating"].dtype != "float64":
            raise DataValidationError(f"reviews.rating must be float64, got {r['rating'].dtype}", file=where)
        unknown = ~member_of(r["customer_id"], id_index)
        if unknown.any():
            fail_rows(
                "review of a customer absent from customers", where, "customer_id", unknown, r["customer_id"]
            )
    if data.features is not None:
        f = data.features
        if len(f) != len(c) or not f.index.equals(c.index):
            raise DataValidationError("features must be a frame indexed like customers", file=where)
        not_float = [str(col) for col in f.columns if f[col].dtype != "float64"]
        if not_float:
            raise DataValidationError(f"features must be float64 columns, not {not_float}", file=where)
    if data.truth is not None:
        if len(data.truth) != len(c) or not data.truth.index.equals(c.index):
            raise DataValidationError("truth must be a Series indexed like customers", file=where)
        if data.truth.isna().any():
            fail_rows("missing truth label", where, "truth", data.truth.isna(), data.truth)
    return data


# --- customer attributes -----------------------------------------------------------------------
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
