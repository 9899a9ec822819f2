"""Transactions that stay on disk: ``CustomerData.transactions`` for inputs larger than memory.

At 10^7 customers the transaction log has about 2.7·10^8 rows, some 30 GB as a pandas frame.
``ParquetTransactions`` holds the Parquet files, how their columns map to the canonical ones,
the population, and the facts a run needs without reading the rows (count, time range). The
rows are read by an SQL engine (``register``: DuckDB here, Spark in a cluster), where the
features are computed (``seglab.features.engine``).

``open_parquet_transactions`` is the data-source boundary: it checks the columns from the
files' schemas and runs every validation rule inside DuckDB in one scan
(``seglab.data.sql_input.validate_input``), so a bad value stops the run at load time with the
same message the pandas path gives. ``to_pandas`` reads the files with the pandas path instead
(for steps that need the rows in memory); indexing the object like a frame says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from seglab.data.counts import record
from seglab.data.lines import LineSpec, check_spend, parse_lines, settle_returns
from seglab.data.matching import check_overlap, judge_overlap
from seglab.data.read import parquet_metadata, read_frame
from seglab.data.repairs import drop_exact_duplicates, restrict_to_customers
from seglab.data.sql_engines import DuckDBRunner
from seglab.data.sql_input import (
    InputSpec,
    canonical_sql,
    check_columns,
    column_kind,
    first_appearance_sql,
    lines_dedupe_needed,
    lines_select,
    validate_input,
)
from seglab.data.sql_netting import netted_returns_sql, netting_counts_sql
from seglab.errors import ConfigError
from seglab.progress import stage, track

log = logging.getLogger(__name__)

RAW_VIEW = "seglab_raw"
RETURNS_VIEW = "seglab_returns"
POPULATION_VIEW = "seglab_population"


def is_lazy(transactions) -> bool:
    return isinstance(transactions, ParquetTransactions)


def _integer_ids(ids: pd.Index) -> pd.Series | None:
    """The ids as int64 when every one is the canonical text of an integer, else None."""
    as_int = pd.to_numeric(pd.Series(ids, dtype="str"), errors="coerce")
    if as_int.isna().any():
        return None
    as_int = as_int.astype("int64")
    return as_int if (as_int.astype(str).to_numpy() == pd.Series(ids, dtype="str").to_numpy()).all() else None


class ParquetTransactions:
    """Transaction files plus what is known about them (see the module docstring)."""

    def __init__(self, spec: InputSpec, population: pd.Index | None, stats: dict, meta: dict):
        self.spec = spec
        self.population = population
        self.stats = stats
        self.meta = meta

    @property
    def files(self) -> list[str]:
        return self.spec.files

    def __len__(self) -> int:
        return int(self.stats["n_kept"])

    def __repr__(self) -> str:
        return f"ParquetTransactions({len(self.files)} file(s), {len(self):,} rows, first {self.files[0]!r})"

    def __getitem__(self, key):
        raise ConfigError(
            f"transactions stay on disk ({len(self):,} rows in {len(self.files)} Parquet file(s)) and this step "
            "needs them in memory; load them with data.in_memory=true (memory permitting)"
        )

    def timestamp(self, which: str) -> pd.Timestamp:
        """``min`` or ``max`` transaction time of the kept rows."""
        return pd.Timestamp(int(self.stats[f"ts_{which}_us"]), unit="us")

    def register(self, runner, name: str = "seglab_tx") -> None:
        """Views in ``runner``: the raw files (``seglab_raw``, with ``_file``/``_row``), the
        population (when a customers file defines it) and the canonical rows as ``name``."""
        runner.register_parquet(RAW_VIEW, self.files)
        population = None
        if self.population is not None:
            ids = _integer_ids(self.population) if self.spec.integer_ids else None
            runner.register_frame(POPULATION_VIEW, pd.DataFrame(
                {"customer_id": ids.to_numpy() if ids is not None else pd.Series(self.population, dtype="str")}))
            population = POPULATION_VIEW
        runner.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                       + canonical_sql(self.spec, runner.dialect, raw=RAW_VIEW, population=population))
        if self.has_returns:
            sql = netted_returns_sql(self.spec, runner.dialect, RAW_VIEW)
            if population is not None:
                sql = f"SELECT * FROM ({sql}) r WHERE r.customer_id IN (SELECT customer_id FROM {population})"
            runner.execute(f"CREATE OR REPLACE TEMP VIEW {RETURNS_VIEW} AS {sql}")

    @property
    def has_returns(self) -> bool:
        """Whether returns are netted (``returns=net``): ``register`` then also creates the view
        ``seglab_returns`` (``customer_id, ts_us, amount, quantity, kind``)."""
        return self.spec.returns == "net"

    def to_pandas(self) -> pd.DataFrame:
        """The rows in memory, read and checked by the pandas path."""
        return self.to_pandas_with_returns()[0]

    def to_pandas_with_returns(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The transactions and the netted returns in memory, by the pandas path."""
        meta: dict = {}
        return read_transactions_pandas(self.files, spec=self.spec.line_spec(), drop_duplicates=self.spec.drop_duplicates,
                                        population=self.population, meta=meta)


def read_transactions_pandas(files: Iterable, *, spec: LineSpec, population: pd.Index | None = None, meta: dict,
                             drop_duplicates: bool = True, read_options: dict | None = None,
                             population_file: str = "the customers file") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The pandas path for one or many files: each file read and its lines checked under the
    policies of ``spec`` (so errors name the file and its row), then concatenated, exact
    duplicate lines dropped, returns settled (``seglab.data.lines``), and rows of customers
    outside ``population`` dropped (counted in ``meta``; an error when most rows would go).
    Returns the canonical transactions and the netted returns (``None`` unless ``returns=net``)."""
    frames = []
    files = [str(f) for f in files]
    for f in track(files, "read transaction files", unit="file") if len(files) > 1 else files:
        raw = read_frame(f, str_columns=[spec.customer_id], what="transactions file", meta=meta, **(read_options or {}))
        frames.append(parse_lines(raw, f, spec, meta))
        del raw
    lines = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
    n_dup = 0
    if drop_duplicates:
        lines, n_dup = drop_exact_duplicates(lines)
    record(meta, "transactions_duplicates_dropped", n_dup, f"{label}: dropped {n_dup} exact duplicate row(s)")
    tx, returns = settle_returns(lines.reset_index(drop=True), spec, meta)
    del lines
    check_spend(len(tx), int((tx["amount"] > 0).sum()), label, spec.unit_price or spec.amount)
    if population is not None:
        check_overlap(tx["customer_id"], population, what="transactions", file=label, population_file=population_file)
        tx = restrict_to_customers(tx, population, "transactions", label, meta)
        if returns is not None:
            returns = restrict_to_customers(returns, population, "returns", label, meta)
    return tx.reset_index(drop=True), returns


def open_parquet_transactions(files: list, *, population: pd.Index | None, meta: dict, runner_options: dict | None = None,
                              spec: LineSpec, drop_duplicates: bool = True,
                              population_file: str = "the customers file") -> tuple[ParquetTransactions, pd.Index]:
    """Check the files in DuckDB (schemas, then every rule in one scan) and return the lazy
    transactions and the population: ``population`` itself, or every customer with a
    transaction in order of first appearance (file order, then row order)."""
    files = [str(f) for f in files]
    schemas = [parquet_metadata(f, "transactions file").schema.to_arrow_schema() for f in files]
    kinds = {name: column_kind(schemas[0].field(name).type) for name in schemas[0].names}
    spec = InputSpec.from_lines(spec, files=files, kinds=kinds, drop_duplicates=drop_duplicates)
    check_columns(spec, schemas)
    spec.integer_ids = kinds[spec.customer_id] == "integer" and (population is None or _integer_ids(population) is not None)
    lazy = ParquetTransactions(spec, population, {}, meta)
    runner = DuckDBRunner(**(runner_options or {}))
    with stage(f"check {len(files)} transaction file(s) on disk (duckdb)"):
        try:
            lazy.register(runner)
            stats = validate_input(runner, spec, raw=RAW_VIEW, population=POPULATION_VIEW if population is not None else None)
            lazy.stats = stats
            record(meta, "rows_read", stats["n_rows"])
            for key, n in stats["counts"].items():
                record(meta, key, n, f"{files[0]}: {n} row(s): {key.replace('_', ' ')}" if key.endswith("dropped") else None)
            label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"  # as the pandas path
            check_spend(stats["n_lines"], stats["n_nonzero_amount"], label, spec.unit_price or spec.amount)
            _count_lines(runner, spec, lazy, meta)
            if population is None:
                order = runner.frame(first_appearance_sql(spec, runner.dialect, RAW_VIEW))
                population_out = pd.Index(order["customer_id"].astype(str).to_numpy(), name="customer_id")
            else:
                population_out = population
                n_unknown = stats["n_lines"] - stats["n_kept"]
                sample = runner.frame(
                    f"SELECT customer_id FROM ({lines_select(spec, runner.dialect, RAW_VIEW)}) l WHERE customer_id NOT IN "
                    f"(SELECT customer_id FROM {POPULATION_VIEW}) LIMIT 2000")["customer_id"].astype(str)
                judge_overlap(n_unknown, stats["n_lines"], sample, population, what="transactions", file=files[0],
                              population_file=population_file)
                record(meta, "transactions_unknown_customer_dropped", n_unknown,
                       f"{files[0]}: dropped {n_unknown} transactions row(s) of customer ids absent from the customers table")
        finally:
            runner.close()
    return lazy, population_out


def _count_lines(runner, spec: InputSpec, lazy: ParquetTransactions, meta: dict) -> None:
    """Duplicates among whole lines and the netting counters, as the pandas path counts them;
    with netting, the time range of the netted purchases."""
    if spec.returns == "net":
        row = runner.rows(netting_counts_sql(spec, runner.dialect, RAW_VIEW))[0]
        n_item, n_spend, n_none, n_full, over, n_distinct, ts_min, ts_max = row
        for key, n in (("returns_netted_item", n_item), ("returns_netted_spend", n_spend),
                       ("returns_unmatched", n_none), ("purchase_rows_fully_returned", n_full)):
            record(meta, key, int(n or 0))
        record(meta, "returned_value_unmatched", float(over or 0.0))
        lazy.stats.update(ts_min_us=ts_min, ts_max_us=ts_max)
    elif lines_dedupe_needed(spec):
        (n_distinct,) = runner.rows(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT customer_id, ts_us, amount, quantity, category, item, invoice, kind "
            f"FROM ({lines_select(spec, runner.dialect, RAW_VIEW)}) l) d")[0]
    else:
        return  # the feature SQL drops (and counts) duplicates of the canonical rows
    if spec.drop_duplicates:
        n = lazy.stats["n_lines"] - int(n_distinct)
        record(meta, "transactions_duplicates_dropped", n, f"{spec.files[0]}: dropped {n} exact duplicate row(s)")
