"""Raw transaction files -> the canonical table, as SQL that DuckDB and Spark both run.

The same rules and policies as the pandas path (``seglab.data.lines.parse_lines``), written once
as SQL so that large inputs are checked inside the engine that reads them, never on a pandas copy:

- ``rules`` are the error rules (missing id, unparsable, missing, future or out-of-range date,
  non-numeric, missing, infinite or too large amount/quantity/price, zero prices, negative
  amounts and cancellations) and the ``drop`` policies, in the order the pandas path applies
  them: each check is true only on rows no earlier policy dropped; ``validate_input`` runs them
  all in one scan, counts every drop by reason and raises the first failure (lowest file, then
  rule order) with the pandas path's message: file, column, row numbers within that file
  (0-based data rows), the offending values and the option that would handle it;
- ``canonical_sql`` maps the kept lines (ids as stripped text, integral floats without ``.0``;
  time as integer microseconds since the epoch ``ts_us``; missing category -> ``unknown``;
  amount = unit price × quantity when a unit price is mapped), nets returns
  (``seglab.data.sql_netting``) with ``returns=net``, and keeps only customers of the population
  when a customers file defines it.

Differences to the pandas path, by design: time is resolved to the microsecond (Spark's
resolution); text dates without ``date_format`` are parsed as ISO 8601 (pandas infers a format
from the first value); a glob or folder is checked file by file in path order in both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pyarrow as pa

from seglab.data.lines import LineSpec
from seglab.data.sql_dialect import (  # noqa: F401 (the dialect helpers are imported from here too)
    DAY_US,
    DUCKDB,
    SPARK,
    Dialect,
    column_kind,
    java_datetime_pattern,
    literal,
)
from seglab.errors import ConfigError, DataValidationError


@dataclass(kw_only=True)
class InputSpec(LineSpec):
    """``LineSpec``'s column mapping and policies, plus which files to read and their column kinds."""

    files: list[str]
    kinds: dict[str, str]
    drop_duplicates: bool = True
    #: integer ids kept as BIGINT inside the engine (faster joins and group-bys than text at
    #: 10^8 rows); callers turn them into the canonical text ids on the per-customer result
    integer_ids: bool = False

    @classmethod
    def from_lines(cls, lines: LineSpec, *, files: list[str], kinds: dict[str, str],
                   drop_duplicates: bool = True) -> InputSpec:
        """The spec of ``lines`` for these files."""
        shared = {f.name: getattr(lines, f.name) for f in fields(LineSpec)}
        return cls(files=files, kinds=kinds, drop_duplicates=drop_duplicates, **shared)

    def line_spec(self) -> LineSpec:
        """The ``LineSpec`` the pandas path reads these files with."""
        return LineSpec(**{f.name: getattr(self, f.name) for f in fields(LineSpec)})


@dataclass(frozen=True)
class Check:
    message: str
    column: str
    condition: str
    hint: str | None = None


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


def _text(d: Dialect, col: str, kind: str) -> str:
    return col if kind == "string" else f"CAST({col} AS {d.string})"


def time_us_sql(spec: InputSpec, d: Dialect) -> str:
    """Microseconds since the epoch of the raw timestamp column (NULL where it does not parse)."""
    col, kind = d.q(spec.timestamp), spec.kinds[spec.timestamp]
    if spec.date_unit is not None:
        if spec.date_unit not in _UNIT_US:
            raise ConfigError(f"data.date_unit must be one of {sorted(_UNIT_US)}, got {spec.date_unit!r}")
        return f"CAST(round({_as_double(d, col, kind)} * {_UNIT_US[spec.date_unit]}) AS BIGINT)"
    if kind == "timestamp":
        return d.epoch_us(col)
    return d.epoch_us(d.parse_time(f"trim({_text(d, col, kind)})", spec.date_format))


def _numeric_checks(d: Dialect, name: str, kind: str, alive: str) -> list[Check]:
    col = d.q(name)
    value = _as_double(d, col, kind)
    blank = _blank(d, col, kind)
    return [
        Check(f"column {name!r} must be numeric", name, f"({alive} AND {value} IS NULL AND NOT {blank})"),
        Check(f"missing value in required numeric column {name!r}", name, f"({alive} AND {blank})"),
        Check(f"infinite value in column {name!r}", name,
              f"({alive} AND {value} IN (CAST('inf' AS DOUBLE), CAST('-inf' AS DOUBLE)))"),
    ]


def _us(ts) -> int:
    import pandas as pd

    return int((pd.Timestamp(ts) - pd.Timestamp(0)) // pd.Timedelta(microseconds=1))


@dataclass
class Rules:
    """The pandas path's rules (``seglab.data.lines.parse_lines``) as SQL over one raw row, in its
    order: ``checks`` are errors (each true only on rows no earlier rule dropped), ``drops``
    are ``(counter key, condition)`` of the ``drop`` policies, ``counts`` more counters."""

    checks: list[Check]
    drops: list[tuple[str, str]]
    counts: list[tuple[str, str]]
    kept: str  # true on a row that becomes a transaction line
    exprs: dict[str, str]


def rules(spec: InputSpec, d: Dialect) -> Rules:
    from seglab.data.dates import FIRST, LAST, future_limit
    from seglab.data.lines import MAX_AMOUNT, _negative_hint

    checks: list[Check] = []
    drops: list[tuple[str, str]] = []

    def alive() -> str:
        return "NOT (" + " OR ".join(c for _, c in drops) + ")" if drops else "TRUE"

    cid = spec.customer_id
    blank_id = _blank(d, d.q(cid), spec.kinds[cid])
    if spec.missing_customer == "error":
        checks.append(Check("missing customer id", cid, blank_id,
                            "data.missing_customer=drop (drops rows without a customer id, counted)"))
    else:
        drops.append(("rows_without_customer_dropped", blank_id))
    ts, t = spec.timestamp, time_us_sql(spec, d)
    ts_blank = _blank(d, d.q(ts), spec.kinds[ts])
    checks.append(Check(f"unparsable date in column {ts!r} (format={spec.date_format!r})", ts,
                        f"({alive()} AND {t} IS NULL AND NOT {ts_blank})"))
    checks.append(Check(f"missing date in column {ts!r}", ts, f"({alive()} AND {ts_blank})"))
    limit = future_limit(spec.reference_date)
    late = f"({alive()} AND {t} > {_us(limit)})"
    if spec.future_dates == "error":
        checks.append(Check(f"date after {limit.date()} in column {ts!r} (in the future: a wrong year or date "
                            "format?)", ts, late, "data.future_dates=drop, or data.reference_date=<a later date> "
                            "if the data is dated ahead on purpose"))
    else:
        drops.append(("future_dates_dropped", late))
    checks.append(Check(f"date out of range in column {ts!r} (pandas holds {FIRST.date()} to {LAST.date()})", ts,
                        f"({alive()} AND ({t} < {_us(FIRST)} OR {t} > {_us(LAST)}))"))
    qty = "CAST(1 AS DOUBLE)"
    if spec.quantity is not None:
        checks += _numeric_checks(d, spec.quantity, spec.kinds[spec.quantity], alive())
        qty = _as_double(d, d.q(spec.quantity), spec.kinds[spec.quantity])
    if spec.unit_price is not None:
        up = spec.unit_price
        checks += _numeric_checks(d, up, spec.kinds[up], alive())
        price = _as_double(d, d.q(up), spec.kinds[up])
        if spec.nonpositive_price == "error":
            checks.append(Check(f"zero or negative unit price in column {up!r}", up, f"({alive()} AND {price} <= 0)",
                                "data.nonpositive_price=drop (drops such rows, counted)"))
        else:
            drops.append(("nonpositive_price_dropped", f"({alive()} AND {price} <= 0)"))
        amount, amount_col = f"({price} * {qty})", up
    else:
        checks += _numeric_checks(d, spec.amount, spec.kinds[spec.amount], alive())
        amount, amount_col = _as_double(d, d.q(spec.amount), spec.kinds[spec.amount]), spec.amount
    for col, value in ((amount_col, amount), (spec.quantity, qty)):
        if col is not None:
            checks.append(Check(f"value above {MAX_AMOUNT:.0e} in column {col!r} (float64 loses cents and sums can "
                                "overflow)", col, f"({alive()} AND abs({value}) > {MAX_AMOUNT!r})"))
    cancel = "FALSE"
    if spec.invoice is not None and spec.cancel_prefix:
        inv = f"trim({_text(d, d.q(spec.invoice), spec.kinds[spec.invoice])})"
        cancel = f"(COALESCE(substr({inv}, 1, {len(spec.cancel_prefix)}) = {literal(spec.cancel_prefix)}, FALSE))"
    is_return = f"({cancel} OR {amount} < 0 OR {qty} < 0)"
    if spec.returns == "error":
        hint = _negative_hint()
        if spec.unit_price is None:
            checks.append(Check(f"negative value in column {spec.amount!r} (must be >= 0)", spec.amount,
                                f"({alive()} AND {amount} < 0)", hint))
        if spec.quantity is not None:
            checks.append(Check(f"negative value in column {spec.quantity!r} (must be >= 0)", spec.quantity,
                                f"({alive()} AND {qty} < 0)", hint))
        if spec.invoice is not None:
            checks.append(Check(f"cancellation (invoice starting with {spec.cancel_prefix!r}) in column "
                                f"{spec.invoice!r}", spec.invoice, f"({alive()} AND {cancel})", hint))
    counts = [("cancellation_rows", f"({alive()} AND {cancel})"),
              ("return_rows", f"({alive()} AND {is_return} AND NOT {cancel})")]
    if spec.returns == "drop":
        drops.append(("returns_dropped", f"({alive()} AND {is_return})"))
    kind = f"CASE WHEN {cancel} THEN 'cancellation' WHEN {is_return} THEN 'return' ELSE 'purchase' END"
    return Rules(checks, drops, counts, alive(),
                 {"customer_id": customer_id_sql(spec, d), "ts_us": t, "amount": amount, "quantity": qty,
                  "kind": kind})


def input_checks(spec: InputSpec, d: Dialect) -> list[Check]:
    """The error rules of the pandas path, as SQL conditions that are true on a bad row."""
    return rules(spec, d).checks


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


def lines_select(spec: InputSpec, d: Dialect, raw: str = "raw") -> str:
    """SELECT of the kept lines: the canonical columns plus ``item``, ``invoice``, ``kind`` and the
    row's position ``pos`` (file, then row), as ``parse_lines`` gives them."""
    r = rules(spec, d)
    e = r.exprs
    cat = "'unknown'"
    if spec.category is not None:
        col, kind = d.q(spec.category), spec.kinds[spec.category]
        cat = f"CASE WHEN {col} IS NULL OR trim({_text(d, col, kind)}) = '' THEN 'unknown' ELSE trim({_text(d, col, kind)}) END"
    extra = {}
    for name in ("item", "invoice"):
        col = getattr(spec, name)
        extra[name] = "''" if col is None else f"COALESCE(trim({_text(d, d.q(col), spec.kinds[col])}), '')"
    return (f"SELECT {e['customer_id']} AS customer_id, {e['ts_us']} AS ts_us, {e['amount']} AS amount, "
            f"{e['quantity']} AS quantity, {cat} AS category, {extra['item']} AS item, {extra['invoice']} AS invoice, "
            f"{e['kind']} AS kind, CAST(_file AS BIGINT) * 1099511627776 + _row AS pos FROM {raw} WHERE {r.kept}")


def first_appearance_sql(spec: InputSpec, d: Dialect, raw: str = "raw") -> str:
    """Customers with a (netted) purchase in order of their first line (file, then row)."""
    if spec.returns == "net":
        from seglab.data.sql_netting import netting_ctes

        body = f"{netting_ctes(spec, d, raw)} SELECT customer_id, MIN(pos) AS first FROM netted WHERE NOT full_ GROUP BY customer_id"
    else:
        body = (f"SELECT customer_id, MIN(pos) AS first FROM ({lines_select(spec, d, raw)}) l "
                "WHERE kind = 'purchase' GROUP BY customer_id")
    return f"SELECT customer_id FROM ({body}) g ORDER BY first"


def lines_dedupe_needed(spec: InputSpec) -> bool:
    """Whether duplicates must be dropped on the full lines (item, invoice, kind) before the
    features: with those columns, or with netting; otherwise the feature SQL drops them."""
    return spec.drop_duplicates and (spec.item is not None or spec.invoice is not None or spec.returns == "net")


def canonical_sql(spec: InputSpec, d: Dialect, raw: str = "raw", population: str | None = None) -> str:
    """SELECT of the canonical columns ``customer_id, ts_us, amount, quantity, category`` of the
    purchases (netted with ``returns=net``), restricted to the ids of relation ``population``."""
    if spec.returns == "net":
        from seglab.data.sql_netting import netted_purchases_sql

        sql = netted_purchases_sql(spec, d, raw)
    else:
        lines = lines_select(spec, d, raw)
        if lines_dedupe_needed(spec):
            lines = f"SELECT DISTINCT customer_id, ts_us, amount, quantity, category, item, invoice, kind FROM ({lines}) l"
        sql = f"SELECT customer_id, ts_us, amount, quantity, category FROM ({lines}) l"
    if population is not None:
        sql = f"SELECT * FROM ({sql}) c WHERE c.customer_id IN (SELECT customer_id FROM {population})"
    return sql


def check_columns(spec: InputSpec, schemas: list[pa.Schema]) -> None:
    """Every mapped column present in every file (per file, like the pandas path's message)."""
    amount = None if spec.unit_price is not None else spec.amount
    wanted = [spec.customer_id, spec.timestamp, amount, spec.quantity, spec.category, spec.unit_price, spec.invoice,
              spec.item]
    for file, schema in zip(spec.files, schemas, strict=True):
        missing = [c for c in wanted if c is not None and c not in schema.names]
        if missing:
            raise DataValidationError(
                f"missing column(s) {missing}; available columns: {list(schema.names)}", file=file, column=missing[0]
            )


def validate_input(runner, spec: InputSpec, raw: str = "raw", population: str | None = None) -> dict:
    """Run every check in one scan of ``raw`` (which has ``_file`` and ``_row``) and raise the
    first failure as the pandas path would; return row counts, the counts of each ``drop``
    policy, and the time range of the rows kept (those of the population, when one is given)."""
    d = runner.dialect
    r = rules(spec, d)
    checks = r.checks
    known = "1" if population is None else (
        f"CASE WHEN {customer_id_sql(spec, d)} IN (SELECT customer_id FROM {population}) THEN 1 ELSE 0 END")
    firsts = "".join(f"MIN(CASE WHEN {c.condition} THEN _file END), " for c in checks)
    counted = [*r.drops, *r.counts]
    sums = "".join(f"SUM(CASE WHEN {c} THEN 1 ELSE 0 END), " for _, c in counted)
    kept = f"({r.kept}) AND _k = 1"
    row = runner.rows(
        f"SELECT {firsts}{sums}COUNT(*), SUM(CASE WHEN {r.kept} THEN _k ELSE 0 END), "
        f"SUM(CASE WHEN {r.kept} THEN 1 ELSE 0 END), MIN(CASE WHEN {kept} THEN _t_us END), MAX(CASE WHEN {kept} THEN _t_us END), "
        f"SUM(CASE WHEN {r.kept} AND {r.exprs['amount']} > 0 THEN 1 ELSE 0 END) "
        f"FROM (SELECT r.*, {r.exprs['ts_us']} AS _t_us, {known} AS _k FROM {raw} r) s")[0]
    failing = [(f, i) for i, f in enumerate(row[: len(checks)]) if f is not None]
    if failing:
        file_idx, i = min(failing)
        check = checks[i]
        where = f"_file = {file_idx} AND {check.condition}"
        (n_bad,) = runner.rows(f"SELECT COUNT(*) FROM {raw} WHERE {where}")[0]
        bad = runner.rows(f"SELECT _row, {d.q(check.column)} FROM {raw} WHERE {where} ORDER BY _row LIMIT 5")
        examples = [_plain(r[1]) for r in bad]
        hint = check.hint
        if check.message.endswith("must be numeric"):
            from seglab.data.convert import decimal_comma_hint

            hint = decimal_comma_hint(examples)
        raise DataValidationError(
            f"{check.message} ({int(n_bad)} row(s))", file=spec.files[file_idx], column=check.column,
            rows=[int(r[0]) for r in bad], examples=examples, hint=hint)
    values = row[len(checks):]
    counts = {key: int(v or 0) for (key, _), v in zip(counted, values, strict=False)}
    n_rows, n_kept, n_lines, ts_min, ts_max, n_spend = values[len(counted):]
    return {"n_rows": int(n_rows), "n_kept": int(n_kept or 0), "n_lines": int(n_lines or 0), "ts_min_us": ts_min,
            "ts_max_us": ts_max, "n_nonzero_amount": int(n_spend or 0), "counts": counts}


def _plain(value):
    from seglab.data.convert import _plain as plain

    return plain(value)
