"""What differs between the SQL dialects seglab writes for (DuckDB, Spark SQL), and Arrow types
as the column kinds the input checks are defined on."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from seglab.errors import ConfigError

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

