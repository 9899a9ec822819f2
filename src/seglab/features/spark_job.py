"""seglab's transaction features computed on Spark, where the logs live, written as Parquet.

The same SQL definition and input checks seglab runs locally (``seglab.features.sql``,
``seglab.data.sql_input``), on any Spark cluster: the result is the per-customer table that
``python train.py data=features data.path=<output>`` clusters (docs/scale.md)::

    spark-submit --master yarn $(python -c "import seglab.features.spark_job as m; print(m.__file__)") \\
        --input s3a://bucket/transactions/ --output s3a://bucket/seglab_features/ \\
        --customer-id client --timestamp order_ts --amount total --quantity items --category cat

or from a PySpark session::

    from seglab.features.spark_job import feature_table
    feature_table(spark, "s3a://bucket/transactions/", customer_id="client").write.parquet("s3a://...")

Customers appear when they have a transaction (there is no customers table here); ids are text,
as everywhere in seglab. ``as_of`` defaults to the day after the last transaction.
"""

from __future__ import annotations

import argparse
import logging

import pandas as pd

from seglab.data.sql_engines import SparkRunner
from seglab.data.sql_input import InputSpec, canonical_sql, validate_input
from seglab.errors import ConfigError, DataValidationError
from seglab.features.engine import feature_query
from seglab.features.sql import feature_names

log = logging.getLogger(__name__)


def feature_table(
    spark,
    path: str,
    *,
    as_of: str | None = None,
    top_categories: int = 6,
    trend_window_days: float = 90,
    category_weight: str = "count",
    drop_duplicates: bool = True,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str = "amount",
    quantity: str | None = None,
    category: str | None = None,
    date_format: str | None = None,
    date_unit: str | None = None,
):
    """A Spark DataFrame: ``customer_id`` (text) and the transaction features (names as in
    ``seglab.features.build``), one row per customer with a transaction."""
    runner = SparkRunner(session=spark)
    files, kinds = runner.register_path("seglab_raw", path)
    spec = InputSpec(files=files, kinds=kinds, customer_id=customer_id, timestamp=timestamp, amount=amount,
                     quantity=quantity, category=category, date_format=date_format, date_unit=date_unit,
                     drop_duplicates=drop_duplicates)
    missing = [c for c in (customer_id, timestamp, amount, quantity, category) if c is not None and c not in kinds]
    if missing:
        raise DataValidationError(f"missing column(s) {missing}; available columns: {list(kinds)}", file=path,
                                  column=missing[0])
    if kinds[timestamp] == "integer" and date_unit is None:
        raise ConfigError(f"column {timestamp!r} holds integers: set date_unit (s, ms, us or ns); Parquet "
                          "nanosecond timestamps (pandas' default) reach Spark as nanosecond integers")
    stats = validate_input(runner, spec, raw="seglab_raw")
    log.info("checked %d rows in %d file(s)", stats["n_rows"], len(files))
    if as_of is None:
        as_of_ts = pd.Timestamp(int(stats["ts_max_us"]), unit="us").normalize() + pd.Timedelta(days=1)
    else:
        as_of_ts = pd.Timestamp(as_of)
    runner.execute("CREATE OR REPLACE TEMP VIEW seglab_tx AS " + canonical_sql(spec, runner.dialect, raw="seglab_raw"))
    sql, kept, pooled, _ = feature_query(runner, "seglab_tx", dedupe=drop_duplicates, as_of=as_of_ts,
                                         top_categories=top_categories, trend_window_days=trend_window_days,
                                         category_weight=category_weight)
    names = feature_names(kept, pooled)
    select = ", ".join(["CAST(customer_id AS STRING) AS customer_id"] +
                       [f"f{i} AS {runner.dialect.q(name)}" for i, name in enumerate(names)])
    return spark.sql(f"SELECT {select} FROM ({sql}) features")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="seglab transaction features on Spark -> Parquet")
    p.add_argument("--input", required=True, help="transactions: Parquet file or folder (any URI Spark reads)")
    p.add_argument("--output", required=True, help="folder to write the feature table to (Parquet)")
    p.add_argument("--as-of", default=None, help="reference date (default: the day after the last transaction)")
    for col in ("customer-id", "timestamp", "amount"):
        p.add_argument(f"--{col}", default=col.replace("-", "_"))
    for opt in ("quantity", "category", "date-format", "date-unit"):
        p.add_argument(f"--{opt}", default=None)
    p.add_argument("--top-categories", type=int, default=6)
    p.add_argument("--trend-window-days", type=float, default=90)
    p.add_argument("--category-weight", default="count")
    p.add_argument("--keep-duplicates", action="store_true")
    args = p.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("seglab-features").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    table = feature_table(spark, args.input, as_of=args.as_of, top_categories=args.top_categories,
                          trend_window_days=args.trend_window_days, category_weight=args.category_weight,
                          drop_duplicates=not args.keep_duplicates, customer_id=args.customer_id,
                          timestamp=args.timestamp, amount=args.amount, quantity=args.quantity,
                          category=args.category, date_format=args.date_format, date_unit=args.date_unit)
    table.write.mode("overwrite").parquet(args.output)


if __name__ == "__main__":
    main()
