"""Which engine computes the transaction features, and running the SQL definition on it.

``features.engine`` (``build_features(..., engine=)``):

- ``pandas``: ``seglab.features.build``, the reference implementation (data in memory);
- ``duckdb``: the SQL definition (``seglab.features.sql``) on DuckDB, out of core (it spills to
  disk beyond ``engine_options.memory_limit``), from Parquet on disk or from the in-memory frame;
- ``spark``: the same SQL on Spark (``engine_options.spark_master``, local by default);
- ``auto`` (default): pandas for transactions in memory (the exact reference, and what a small
  run already holds), DuckDB for transactions that stay on disk (``seglab.data.lazy``: Parquet
  above the source's ``lazy_rows``).

Every engine gives the same features as pandas within a relative and absolute tolerance of
1e-9 (tested column by column, ``tests/test_features_engines.py``; pandas adds floats in row
order, the SQL sums exactly), in the order of ``data.customers``; the SQL engines' exact sums
make their results bit-identical from run to run whatever the threads do, so the same seed
gives the same labels. Customers without transactions get the pandas path's fill values.
"""

from __future__ import annotations

import logging

import pandas as pd

from seglab.data.lazy import is_lazy
from seglab.data.schema import TRANSACTION_COLUMNS
from seglab.errors import ConfigError
from seglab.features.sql import category_counts_sql, feature_names, share_columns, transaction_features_sql

log = logging.getLogger(__name__)

ENGINES = ("auto", "pandas", "duckdb", "spark")
TX_VIEW = "seglab_tx"


def resolve_engine(engine: str, transactions) -> str:
    """The engine ``auto`` stands for with these transactions (see the module docstring)."""
    name = str(engine or "auto").lower()
    if name not in ENGINES:
        raise ConfigError(f"features.engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if name != "auto":
        return name
    return "duckdb" if is_lazy(transactions) else "pandas"


def make_runner(engine: str, options: dict | None = None):
    options = dict(options or {})
    if engine == "duckdb":
        from seglab.data.sql_engines import DuckDBRunner

        return DuckDBRunner(threads=options.get("threads"), memory_limit=options.get("memory_limit", "2GB"),
                            temp_dir=options.get("temp_dir"))
    if engine == "spark":
        from seglab.data.sql_engines import SparkRunner

        return SparkRunner(master=options.get("spark_master") or "local[*]",
                           driver_memory=options.get("spark_driver_memory") or "2g", temp_dir=options.get("temp_dir"))
    raise ConfigError(f"no SQL runner for features.engine={engine!r}")


def ranked_categories(counts: list[tuple]) -> list[str]:
    """Categories most frequent first, ties broken by name (``build._ranked_levels``' rule)."""
    return [str(c) for c, _ in sorted(counts, key=lambda r: (-int(r[1]), str(r[0])))]


def feature_query(runner, view: str, *, dedupe: bool, as_of: pd.Timestamp, top_categories: int,
                  trend_window_days: float, category_weight: str) -> tuple[str, list[str], bool, int]:
    """Rank the categories of ``view`` on ``runner``, then the feature query: ``(sql, kept
    categories, whether the rest is pooled, number of categories)``."""
    ranked = ranked_categories(runner.rows(category_counts_sql(view, dedupe)))
    top = int(top_categories)
    kept = [] if len(ranked) <= 1 or top == 0 else ranked[:top]
    pooled = bool(kept) and len(ranked) > top
    as_of_us = int((pd.Timestamp(as_of) - pd.Timestamp(0)) // pd.Timedelta(microseconds=1))
    sql = transaction_features_sql(runner.dialect, view, as_of_us=as_of_us, window_days=float(trend_window_days),
                                   kept=kept, pooled=pooled, weight=category_weight, dedupe=dedupe)
    return sql, kept, pooled, len(ranked)


def sql_transaction_features(
    tx, ids: pd.Index, as_of: pd.Timestamp, *, engine: str, top_categories: int, trend_window_days: float,
    category_weight: str, info: dict, options: dict | None = None, returns: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """The transaction features (category shares and return features, if any) of
    ``build_features``, computed by ``engine`` from an in-memory frame or ``ParquetTransactions``
    (with its netted returns view) and the in-memory ``returns``; rows in ``ids`` order."""
    from seglab.data.lazy import RETURNS_VIEW
    from seglab.data.sql_input import lines_dedupe_needed
    from seglab.features.build import fill_customers_without_transactions
    from seglab.features.returns import return_features, returns_sql

    runner = make_runner(engine, options)
    d = runner.dialect
    try:
        if is_lazy(tx):
            tx.register(runner, TX_VIEW)
            dedupe = tx.spec.drop_duplicates and not lines_dedupe_needed(tx.spec)  # else done by the view
            data_start, text_ids, has_returns = tx.timestamp("min"), tx.spec.integer_ids, tx.has_returns
        else:
            runner.register_frame("seglab_frame", tx[list(TRANSACTION_COLUMNS)])
            runner.execute(f"CREATE OR REPLACE TEMP VIEW {TX_VIEW} AS SELECT customer_id, "
                           f"{d.epoch_us('timestamp')} AS ts_us, amount, quantity, category FROM seglab_frame")
            dedupe, data_start, text_ids, has_returns = False, tx["timestamp"].min(), False, returns is not None
            if has_returns:
                runner.register_frame("seglab_returns_frame", returns[["customer_id", "timestamp", "amount", "kind"]])
                runner.execute(f"CREATE OR REPLACE TEMP VIEW {RETURNS_VIEW} AS SELECT customer_id, "
                               f"{d.epoch_us('timestamp')} AS ts_us, amount, kind FROM seglab_returns_frame")
        query = dict(as_of=as_of, top_categories=top_categories, trend_window_days=trend_window_days,
                     category_weight=category_weight)
        # An exact duplicate row shares its customer and time with another row: when no purchase
        # has two rows, dropping duplicates changes nothing, so the fast pass without it is exact.
        # Otherwise the pass that drops them runs (on 26.7 million rows: 15.6 s CPU vs 27.9 s).
        sql, kept, pooled, n_categories = feature_query(runner, TX_VIEW, dedupe=False, **query)
        out = runner.frame(sql)
        if dedupe and out["n_rows"].sum() > out["f1"].sum():  # f1 = frequency (purchases)
            sql, kept, pooled, n_categories = feature_query(runner, TX_VIEW, dedupe=True, **query)
            out = runner.frame(sql)
        aggregates = runner.frame(returns_sql(RETURNS_VIEW)) if has_returns else None
    finally:
        runner.close()
    info["top_categories"] = kept
    if kept:
        info["n_categories_pooled_as_other"] = max(0, n_categories - int(top_categories))
    info["n_transactions_used"] = int(out["n_lines"].sum())
    if dedupe:
        info["transactions_duplicates_dropped"] = int(out["n_rows"].sum() - out["n_lines"].sum())
    names = feature_names(kept, pooled)
    key = out["customer_id"].astype(str) if text_ids else out["customer_id"]
    feats = out[[f"f{i}" for i in range(len(names))]].astype("float64")
    feats.columns = names
    feats.index = pd.Index(key.to_numpy(), name="customer_id")
    del out
    core = fill_customers_without_transactions(feats.drop(columns=share_columns(kept, pooled)), ids, as_of,
                                               data_start, info)
    parts = [core]
    if kept:
        parts.append(feats[share_columns(kept, pooled)].reindex(ids, fill_value=0.0).reset_index(drop=True))
    if aggregates is not None:
        key = aggregates["customer_id"].astype(str) if text_ids else aggregates["customer_id"]
        aggregates = aggregates.drop(columns="customer_id").set_axis(pd.Index(key.to_numpy(), name="customer_id"))
        parts.append(return_features(aggregates, core, ids))
    return parts
