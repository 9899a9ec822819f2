"""One input path may be a file, a directory or a glob: ``resolve_files`` lists the files.

A directory means every data file under it (recursively; Parquet, or CSV/TSV/Excel, not Parquet
and the others mixed), a glob (``orders/2024-*.parquet``) every match; both in sorted path order, which is the
order of the rows ("first appearance" of a customer, the row numbers in error messages are per
file). Hidden files, Spark/Hadoop markers (``_SUCCESS``, ``.crc``) and Parquet files without rows
(Spark writes one per empty partition) are skipped, so a folder written by Spark reads as is.
"""

from __future__ import annotations

import glob
from pathlib import Path

from seglab.errors import DataValidationError

PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".xls")  # text and spreadsheets (read_frame)
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz")


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def _is_data_file(p: Path) -> bool:
    if p.name.startswith((".", "_")) or not p.is_file():
        return False
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    return bool(suffixes) and (suffixes[-1] in PARQUET_SUFFIXES or suffixes[-1] in TEXT_SUFFIXES)


def resolve_files(path: str | Path, what: str = "data file") -> list[Path]:
    """The files ``path`` names (see the module docstring); a clear error when there are none."""
    text = str(path)
    p = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        files = sorted(Path(m) for m in glob.glob(str(p), recursive=True) if _is_data_file(Path(m)))
        if not files:
            raise DataValidationError(f"no {what} matches the pattern", file=text)
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if _is_data_file(f))
        if not files:
            raise DataValidationError(
                f"{what}: the directory holds no Parquet or CSV/TSV file", file=str(p)
            )
    else:
        return [p]
    kinds = {is_parquet(f) for f in files}
    if len(kinds) > 1:
        raise DataValidationError(
            f"{what}: mixes Parquet and text files; point at one kind (e.g. a glob such as dir/*.parquet)",
            file=text,
        )
    if kinds == {True}:
        # Spark writes a part file per partition, empty ones included: they hold no rows to read
        from seglab.data.read import parquet_metadata

        with_rows = [f for f in files if parquet_metadata(f, what).num_rows > 0]
        files = with_rows or files[:1]
    return files
