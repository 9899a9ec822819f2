"""Reading a data file into a raw frame: formats, compression, separators, encodings.

One function, ``read_frame``, reads every file a source names, so each format is handled once:

- CSV/TSV/TXT, optionally compressed (``.gz``, ``.bz2``, ``.xz``, ``.zip`` with one file): the
  separator is ``sep`` when given, tab for ``.tsv``/``.tab``, else the most frequent of ``,``
  ``;`` tab ``|`` in the header line (exports from European spreadsheets use ``;``); numbers
  with decimal commas need ``decimal=","``; a UTF-8 byte-order mark is ignored; quoted newlines
  are read as they are; trailing empty columns (``a,b,c,`` rows give an unnamed, all-empty
  column) are dropped and counted;
- Excel (``.xlsx``/``.xlsm``/``.xls``, read by ``python-calamine``, the ``excel`` extra, which
  also installs ``openpyxl`` to write them): the sheet is ``sheet`` (name or 0-based position;
  default the first); date cells arrive as dates, number cells as numbers;
- Parquet (``.parquet``/``.pq``).

Text that is not valid in ``encoding`` (UTF-8 by default) is an error naming the rows and the
column where it occurs, and the option to set (``data.encoding=latin-1``, or the file's own
encoding). Row numbers in every message are 0-based positions among the data rows (the header
is not counted), as the frame's index holds them.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from seglab.data.counts import record
from seglab.errors import DataValidationError

PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
#: separators tried, in this order on ties, when a text file's separator is not given
SEPARATORS = (",", ";", "\t", "|")


def check_file(path: str | Path, what: str = "data file") -> Path:
    """The path as a ``Path`` if it is an existing, non-empty file; else a clear error that says
    whether the folder exists and what it holds (a typo in the file name is the usual cause)."""
    p = Path(path).expanduser()
    if not p.exists():
        folder = p.parent
        if not folder.is_dir():
            hint = f" (the folder {folder} does not exist either; check the path or the variable it is built from)"
        else:
            names = sorted(f.name for f in folder.iterdir() if not f.name.startswith("."))
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            hint = f" (the folder holds: {shown or 'nothing'})"
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


def open_text(path: Path, encoding: str, errors: str = "strict") -> io.TextIOBase:
    """A text handle on ``path``, decompressed by its suffix (a zip's single data file)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        raw = gzip.open(path, "rb")
    elif suffix == ".bz2":
        raw = bz2.open(path, "rb")
    elif suffix == ".xz":
        raw = lzma.open(path, "rb")
    elif suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.startswith("__MACOSX") and not n.endswith("/")]
        raw = archive.open(names[0])
    else:
        raw = open(path, "rb")  # noqa: SIM115 (returned to the caller, who closes it)
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def sniff_sep(path: Path, encoding: str) -> str:
    """``default_sep`` for ``.tsv``; otherwise the most frequent candidate in the header line."""
    if default_sep(path) == "\t":
        return "\t"
    try:
        with open_text(path, encoding, errors="replace") as fh:
            header = fh.readline()
    except (OSError, zipfile.BadZipFile, EOFError, IndexError):
        return ","
    counts = {s: header.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def undecodable_rows(path: Path, encoding: str, sep: str) -> tuple[list[int], str | None, list[str]]:
    """Data rows (0-based) whose text is not valid ``encoding``, the first such column, examples."""
    rows, column, examples = [], None, []
    with open_text(path, encoding, errors="surrogateescape") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        for i, fields in enumerate(reader):
            bad = [j for j, v in enumerate(fields) if any("\udc80" <= ch <= "\udcff" for ch in v)]
            if bad:
                rows.append(i)
                if column is None and bad[0] < len(header):
                    column = header[bad[0]].strip()
                if len(examples) < 5:
                    examples.append(fields[bad[0]].encode(encoding, "surrogateescape").decode(encoding, "replace"))
    return rows, column, examples


def _read_excel(p: Path, sheet: str | int | None, dtype: dict, what: str) -> pd.DataFrame:
    from seglab.data.sql_engines import require

    require("python_calamine", "excel")
    try:
        book = pd.ExcelFile(p, engine="calamine")
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise DataValidationError(f"{what} could not be read as Excel: {e}", file=str(p)) from None
    with book:
        wanted = 0 if sheet is None else sheet
        names = list(book.sheet_names)
        if isinstance(wanted, str) and wanted not in names:
            raise DataValidationError(f"{what} has no sheet {wanted!r}; sheets: {names}", file=str(p))
        if isinstance(wanted, int) and not 0 <= wanted < len(names):
            raise DataValidationError(f"{what} has no sheet number {wanted} (0-based); sheets: {names}", file=str(p))
        return pd.read_excel(book, sheet_name=wanted, dtype=dtype or None)


def read_frame(
    path: str | Path,
    *,
    sep: str | None = None,
    str_columns: Iterable[str] = (),
    what: str = "data file",
    encoding: str | None = None,
    decimal: str | None = None,
    sheet: str | int | None = None,
    option_prefix: str = "data.",
    meta: dict | None = None,
    **read_csv_kwargs,
) -> pd.DataFrame:
    """Read one file (see the module docstring) into a frame indexed by 0-based data row.

    ``str_columns`` are read as text (ids keep leading zeros). ``option_prefix`` is how the
    source's options are spelled in hints (``data.`` or ``data.reviews_``). Trailing empty
    columns dropped are counted in ``meta`` (``empty_columns_dropped``). Raises
    ``DataValidationError`` for a missing, empty, header-only, undecodable or unparsable file.
    """
    p = check_file(path, what)
    dtype = {c: str for c in str_columns}
    suffix = p.suffix.lower()
    enc = encoding or "utf-8"
    try:
        if suffix in PARQUET_SUFFIXES:
            df = pd.read_parquet(p)
        elif suffix in EXCEL_SUFFIXES:
            df = _read_excel(p, sheet, dtype, what)
        else:
            sep = sep or sniff_sep(p, enc)
            kwargs = dict(read_csv_kwargs)
            if decimal:
                kwargs["decimal"] = decimal
            df = pd.read_csv(p, sep=sep, dtype=dtype or None, encoding="utf-8-sig" if enc.lower() in ("utf-8", "utf8")
                             else enc, **kwargs)
    except pd.errors.EmptyDataError as e:
        raise DataValidationError(f"{what} has no columns or rows ({e})", file=str(p)) from None
    except UnicodeDecodeError as e:
        rows, column, examples = undecodable_rows(p, enc, sep or ",")
        raise DataValidationError(
            f"{what} is not valid {enc} text ({e.reason} at byte {e.start})", file=str(p), column=column,
            rows=rows, examples=examples,
            hint=f"{option_prefix}encoding=latin-1 (or the file's own encoding, e.g. cp1252)") from None
    except (pd.errors.ParserError, ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        kind = " (truncated or not Parquet?)" if suffix in PARQUET_SUFFIXES else ""
        raise DataValidationError(f"{what} could not be parsed{kind}: {e}", file=str(p)) from None
    if df.shape[1] == 0 or len(df) == 0:
        raise DataValidationError(
            f"{what} has no data rows (columns: {list(map(str, df.columns))})", file=str(p)
        )
    df.columns = [str(c).strip() for c in df.columns]
    empty = [c for c in df.columns if c.startswith("Unnamed: ") and df[c].isna().all()]
    if empty:
        df = df.drop(columns=empty)
        record(meta, "empty_columns_dropped", len(empty), f"{p.name}: dropped {len(empty)} empty unnamed column(s)")
    return df.reset_index(drop=True)


def parquet_metadata(path: str | Path, what: str = "data file"):
    """A Parquet file's footer (row count, schema), or an error naming a truncated file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata
    except (pa.ArrowInvalid, OSError) as e:
        raise DataValidationError(f"{what} could not be parsed (truncated or not Parquet?): {e}", file=str(path)) from None
