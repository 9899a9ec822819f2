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
import pyarrow.parquet as pq

from seglab.data.sql_engines import DuckDBRunner
from seglab.data.sql_input import (
    InputSpec,
    canonical_sql,
    check_columns,
    column_kind,
    customer_id_sql,
    validate_input,
)
from seglab.data.validate import drop_exact_duplicates, read_frame, restrict_to_customers, transactions_frame
from seglab.errors import ConfigError
from seglab.progress import stage, track

log = logging.getLogger(__name__)

RAW_VIEW = "seglab_raw"
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

    def to_pandas(self) -> pd.DataFrame:
        """The rows in memory, read and checked by the pandas path."""
        meta: dict = {}
        return read_transactions_pandas(
            self.files, customer_id=self.spec.customer_id, timestamp=self.spec.timestamp, amount=self.spec.amount,
            quantity=self.spec.quantity, category=self.spec.category, date_format=self.spec.date_format,
            date_unit=self.spec.date_unit, drop_duplicates=self.spec.drop_duplicates,
            population=self.population, meta=meta)


def read_transactions_pandas(files: Iterable, *, population: pd.Index | None = None, meta: dict,
                             drop_duplicates: bool = True, sep: str | None = None, **columns) -> pd.DataFrame:
    """The pandas path for one or many files: each file read and checked (so errors name the
    file and its row), then concatenated, exact duplicates dropped, rows of customers outside
    ``population`` dropped (counted in ``meta``)."""
    frames = []
    files = [str(f) for f in files]
    for f in track(files, "read transaction files", unit="file") if len(files) > 1 else files:
        raw = read_frame(f, sep=sep, str_columns=[columns["customer_id"]], what="transactions file")
        frames.append(transactions_frame(raw, f, drop_duplicates=False, **columns))
        del raw
    tx = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    n_dup = 0
    if drop_duplicates:
        tx, n_dup = drop_exact_duplicates(tx)
        tx = tx.reset_index(drop=True)
    meta["transactions_duplicates_dropped"] = n_dup
    if population is not None:
        tx = restrict_to_customers(tx, population, "transactions", files[0] if len(files) == 1 else
                                   f"{files[0]} (+{len(files) - 1} more)", meta)
    return tx


def open_parquet_transactions(files: list, *, population: pd.Index | None, meta: dict, runner_options: dict | None = None,
                              **columns) -> tuple[ParquetTransactions, pd.Index]:
    """Check the files in DuckDB (schemas, then every rule in one scan) and return the lazy
    transactions and the population: ``population`` itself, or every customer with a
    transaction in order of first appearance (file order, then row order)."""
    files = [str(f) for f in files]
    schemas = [pq.read_schema(f) for f in files]
    kinds = {name: column_kind(schemas[0].field(name).type) for name in schemas[0].names}
    spec = InputSpec(files=files, kinds=kinds, **columns)
    check_columns(spec, schemas)
    spec.integer_ids = kinds[spec.customer_id] == "integer" and (population is None or _integer_ids(population) is not None)
    lazy = ParquetTransactions(spec, population, {}, meta)
    runner = DuckDBRunner(**(runner_options or {}))
    with stage(f"check {len(files)} transaction file(s) on disk (duckdb)"):
        try:
            lazy.register(runner)
            lazy.stats = validate_input(runner, spec, raw=RAW_VIEW, population=POPULATION_VIEW if population is not None else None)
            meta["transactions_unknown_customer_dropped"] = lazy.stats["n_rows"] - lazy.stats["n_kept"]
            if population is None:
                order = runner.frame(
                    "SELECT customer_id FROM (SELECT customer_id, MIN(_file * 1099511627776 + _row) AS pos FROM "
                    f"(SELECT {customer_id_sql(spec, runner.dialect)} AS customer_id, _file, _row FROM {RAW_VIEW}) r GROUP BY customer_id) g "
                    "ORDER BY pos")
                population_out = pd.Index(order["customer_id"].astype(str).to_numpy(), name="customer_id")
            else:
                population_out = population
                if meta["transactions_unknown_customer_dropped"]:
                    log.warning("%s: dropped %d transactions row(s) of customer ids absent from the customers table",
                                files[0], meta["transactions_unknown_customer_dropped"])
        finally:
            runner.close()
    return lazy, population_out

