"""Raw transaction files -> the canonical table, as SQL that DuckDB and Spark both run.

The same rules as the pandas path (``seglab.data.validate.transactions_frame``), written once as
SQL so that large inputs are checked inside the engine that reads them, never on a pandas copy:

- ``input_checks`` are the error rules (missing id, unparsable or missing date, non-numeric,
  missing, infinite or negative amount/quantity), in the order the pandas path tests them;
  ``validate_input`` runs them all in one scan and raises the first failure (lowest file, then
  rule order) with the pandas path's message: file, column, row numbers within that file
  (0-based data rows) and the offending values;
- ``canonical_sql`` maps the columns (ids as stripped text, integral floats without ``.0``;
  time as integer microseconds since the epoch ``ts_us``; missing category -> ``unknown``) and
  keeps only customers of the population when a customers file defines it.

Differences to the pandas path, by design: time is resolved to the microsecond (Spark's
resolution); text dates without ``date_format`` are parsed as ISO 8601 (pandas infers a format
from the first value); a glob or folder is checked file by file in path order in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from seglab.errors import ConfigError, DataValidationError

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Dialect:
    """What differs between DuckDB and Spark SQL in the statements seglab writes."""

    name: str
    string: str
    quote_char: str
    epoch_us_fn: str
    parse_fn: str

    def q(self, ident: str) -> str:
        c = self.quote_char
        return c + str(ident).replace(c, c + c) + c

    def epoch_us(self, expr: str) -> str:
        return f"{self.epoch_us_fn}(CAST({expr} AS TIMESTAMP))"

    def parse_time(self, expr: str, fmt: str | None) -> str:
        if fmt is None:
            return f"TRY_CAST({expr} AS TIMESTAMP)"
        pattern = fmt if self.name == "duckdb" else java_datetime_pattern(fmt)
        return f"{self.parse_fn}({expr}, {literal(pattern)})"


DUCKDB = Dialect("duckdb", "VARCHAR", '"', "epoch_us", "try_strptime")
SPARK = Dialect("spark", "STRING", "`", "unix_micros", "try_to_timestamp")


def literal(value: str) -> str:
    """A SQL string literal (both dialects accept doubled single quotes)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


_JAVA = {"Y": "yyyy", "y": "yy", "m": "MM", "d": "dd", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
         "f": "SSSSSS", "b": "MMM", "B": "MMMM", "p": "a", "j": "DDD", "z": "Z"}


def java_datetime_pattern(fmt: str) -> str:
    """A ``strftime`` format as Spark's (Java) datetime pattern; literal text is quoted."""
    out, literal_run, i = [], "", 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            if code not in _JAVA:
                raise ConfigError(f"date format {fmt!r}: %{code} has no Spark equivalent")
            if literal_run:
                out.append("'" + literal_run.replace("'", "''") + "'" if any(c.isalpha() for c in literal_run)
                           else literal_run)
                literal_run = ""
            out.append(_JAVA[code])
            i += 2
        else:
            literal_run += fmt[i]
            i += 1
    if literal_run:
        out.append("'" + literal_run + "'" if any(c.isalpha() for c in literal_run) else literal_run)
    return "".join(out)


def column_kind(dtype: pa.DataType) -> str:
    """``string`` | ``integer`` | ``float`` | ``bool`` | ``timestamp`` | ``other`` of an Arrow type."""
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_dictionary(dtype):
        return "string"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "timestamp"
    return "other"


@dataclass
class InputSpec:
    """Which raw column is which canonical one, and how to read it."""

    files: list[str]
    kinds: dict[str, str]
    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    quantity: str | None = None
    category: str | None = None
    date_format: str | None = None
    date_unit: str | None = None
    drop_duplicates: bool = True
    #: integer ids kept as BIGINT inside the engine (faster joins and group-bys than text at
    #: 10^8 rows); callers turn them into the canonical text ids on the per-customer result
    integer_ids: bool = False


@dataclass(frozen=True)
class Check:
    message: str
    column: str
    condition: str


_UNIT_US = {"D": DAY_US, "s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}


def _blank(d: Dialect, col: str, kind: str) -> str:
    if kind == "string":
        return f"({col} IS NULL OR trim({col}) = '')"
    if kind == "float":
        return f"({col} IS NULL OR isnan({col}))"
    return f"({col} IS NULL)"


def _as_double(d: Dialect, col: str, kind: str) -> str:
    if kind in ("float", "integer"):
        return f"CAST({col} AS DOUBLE)"
    if kind == "bool":
        return f"CAST(CASE WHEN {col} THEN 1 WHEN NOT {col} THEN 0 END AS DOUBLE)"
    return f"TRY_CAST({col} AS DOUBLE)"


def time_us_sql(spec: InputSpec, d: Dialect) -> str:
    """Microseconds since the epoch of the raw timestamp column (NULL where it does not parse)."""
    col, kind = d.q(spec.timestamp), spec.kinds[spec.timestamp]
    if spec.date_unit is not None:
        if spec.date_unit not in _UNIT_US:
            raise ConfigError(f"data.date_unit must be one of {sorted(_UNIT_US)}, got {spec.date_unit!r}")
        return f"CAST(round({_as_double(d, col, kind)} * {_UNIT_US[spec.date_unit]}) AS BIGINT)"
    if kind == "timestamp":
        return d.epoch_us(col)
    text = col if kind == "string" else f"CAST({col} AS {d.string})"
    return d.epoch_us(d.parse_time(f"trim({text})", spec.date_format))


def _numeric_checks(d: Dialect, name: str, kind: str) -> list[Check]:
    col = d.q(name)
    value = _as_double(d, col, kind)
    blank = _blank(d, col, kind)
    return [
        Check(f"column {name!r} must be numeric", name, f"({value} IS NULL AND NOT {blank})"),
        Check(f"missing value in required numeric column {name!r}", name, blank),
        Check(f"infinite value in column {name!r}", name, f"({value} IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE)))"),
        Check(f"negative value in column {name!r} (must be >= 0)", name, f"({value} < 0)"),
    ]


def input_checks(spec: InputSpec, d: Dialect) -> list[Check]:
    """The error rules of the pandas path, as SQL conditions that are true on a bad row."""
    cid, ts = spec.customer_id, spec.timestamp
    ts_kind = spec.kinds[ts]
    checks = [Check("missing customer id", cid, _blank(d, d.q(cid), spec.kinds[cid]))]
    ts_blank = _blank(d, d.q(ts), ts_kind)
    fmt = repr(spec.date_format)
    checks.append(Check(f"unparsable date in column {ts!r} (format={fmt})", ts,
                        f"({time_us_sql(spec, d)} IS NULL AND NOT {ts_blank})"))
    checks.append(Check(f"missing date in column {ts!r}", ts, ts_blank))
    checks += _numeric_checks(d, spec.amount, spec.kinds[spec.amount])
    if spec.quantity is not None:
        checks += _numeric_checks(d, spec.quantity, spec.kinds[spec.quantity])
    return checks


def customer_id_sql(spec: InputSpec, d: Dialect) -> str:
    """Ids as the pandas path writes them: stripped text, integral floats without ``.0``."""
    col, kind = d.q(spec.customer_id), spec.kinds[spec.customer_id]
    if spec.integer_ids:
        return f"CAST({col} AS BIGINT)"
    if kind == "string":
        return f"trim({col})"
    if kind == "float":
        return (f"CASE WHEN {col} = round({col}) THEN CAST(CAST({col} AS BIGINT) AS {d.string}) "
                f"ELSE CAST({col} AS {d.string}) END")
    return f"CAST({col} AS {d.string})"


def canonical_sql(spec: InputSpec, d: Dialect, raw: str = "raw", population: str | None = None) -> str:
    """SELECT of the canonical columns ``customer_id, ts_us, amount, quantity, category`` from
    the raw relation, restricted to the ids of relation ``population`` when given."""
    cat = "'unknown'"
    if spec.category is not None:
        col, kind = d.q(spec.category), spec.kinds[spec.category]
        text = col if kind == "string" else f"CAST({col} AS {d.string})"
        cat = f"CASE WHEN {col} IS NULL OR trim({text}) = '' THEN 'unknown' ELSE trim({text}) END"
    qty = "CAST(1 AS DOUBLE)" if spec.quantity is None else _as_double(d, d.q(spec.quantity), spec.kinds[spec.quantity])
    sql = (f"SELECT {customer_id_sql(spec, d)} AS customer_id, {time_us_sql(spec, d)} AS ts_us, "
           f"{_as_double(d, d.q(spec.amount), spec.kinds[spec.amount])} AS amount, {qty} AS quantity, "
           f"{cat} AS category FROM {raw}")
    if population is not None:
        sql = f"SELECT * FROM ({sql}) c WHERE c.customer_id IN (SELECT customer_id FROM {population})"
    return sql


def check_columns(spec: InputSpec, schemas: list[pa.Schema]) -> None:
    """Every mapped column present in every file (per file, like the pandas path's message)."""
    wanted = [spec.customer_id, spec.timestamp, spec.amount, spec.quantity, spec.category]
    for file, schema in zip(spec.files, schemas, strict=True):
        missing = [c for c in wanted if c is not None and c not in schema.names]
        if missing:
            raise DataValidationError(
                f"missing column(s) {missing}; available columns: {list(schema.names)}", file=file, column=missing[0]
            )


def validate_input(runner, spec: InputSpec, raw: str = "raw", population: str | None = None) -> dict:
    """Run every check in one scan of ``raw`` (which has ``_file`` and ``_row``) and raise the
    first failure as the pandas path would; return row counts and the time range of the rows
    kept (those of the population, when one is given)."""
    d = runner.dialect
    checks = input_checks(spec, d)
    known = "1" if population is None else (
        f"CASE WHEN {customer_id_sql(spec, d)} IN (SELECT customer_id FROM {population}) THEN 1 ELSE 0 END")
    firsts = "".join(f"MIN(CASE WHEN {c.condition} THEN _file END), " for c in checks)
    row = runner.rows(
        f"SELECT {firsts}COUNT(*), SUM(k), MIN(CASE WHEN k = 1 THEN t END), MAX(CASE WHEN k = 1 THEN t END) "
        f"FROM (SELECT r.*, {time_us_sql(spec, d)} AS t, {known} AS k FROM {raw} r) s")[0]
    failing = [(f, i) for i, f in enumerate(row[: len(checks)]) if f is not None]
    if failing:
        file_idx, i = min(failing)
        check = checks[i]
        where = f"_file = {file_idx} AND {check.condition}"
        (n_bad,) = runner.rows(f"SELECT COUNT(*) FROM {raw} WHERE {where}")[0]
        bad = runner.rows(f"SELECT _row, {d.q(check.column)} FROM {raw} WHERE {where} ORDER BY _row LIMIT 5")
        raise DataValidationError(
            f"{check.message} ({int(n_bad)} row(s))", file=spec.files[file_idx], column=check.column,
            rows=[int(r[0]) for r in bad], examples=[_plain(r[1]) for r in bad])
    n_rows, n_kept, ts_min, ts_max = row[len(checks):]
    return {"n_rows": int(n_rows), "n_kept": int(n_kept or 0), "ts_min_us": ts_min, "ts_max_us": ts_max}


def _plain(value):
    if isinstance(value, float) and value != value:
        return None
    return value
