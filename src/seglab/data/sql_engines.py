"""The two SQL engines seglab runs its portable statements on: DuckDB here, Spark in a cluster.

Both runners offer the same few calls, so the input checks (``seglab.data.sql_input``) and the
feature definition (``seglab.features.sql``) are written once:

- ``register_parquet(name, files)``: a view over the files with two extra columns, ``_file``
  (the file's position in ``files``) and ``_row`` (0-based row within the file), which error
  messages quote;
- ``register_frame(name, frame)``: a view over an in-memory pandas frame;
- ``rows(sql)``: a small result as tuples; ``frame(sql)``: a result of any size as pandas.

DuckDB runs out of core: beyond ``memory_limit`` it spills to a temporary folder. Spark gets
and hands back data as Parquet (PySpark's ``toPandas`` copies through the driver and warns
about pandas 3), with the session time zone fixed to UTC so timestamps mean the same in both.
"""

from __future__ import annotations

import atexit
import importlib
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seglab.data.sql_input import DUCKDB, SPARK, literal
from seglab.errors import ConfigError, SeglabError


def require(module: str, extra: str):
    """Import an optional package, or say which seglab extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SeglabError(
            f"this step needs the optional package {module!r}: pip install \"seglab[{extra}]\""
        ) from None


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class DuckDBRunner:
    """An in-process DuckDB connection with a memory cap and a spill folder.

    Args:
        threads: worker threads (``None`` = DuckDB's default, all cores).
        memory_limit: DuckDB's ``memory_limit`` (e.g. ``"2GB"``); beyond it operators spill.
        temp_dir: where spilled data goes (``None`` = a fresh temporary folder, removed on close).
    """

    dialect = DUCKDB

    def __init__(self, threads: int | None = None, memory_limit: str | None = "2GB", temp_dir: str | None = None):
        duckdb = require("duckdb", "scale")
        self._own_tmp = temp_dir is None
        self.temp_dir = temp_dir or tempfile.mkdtemp(prefix="seglab-duckdb-")
        self.con = duckdb.connect()
        self.con.execute(f"SET temp_directory = {literal(self.temp_dir)}")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {literal(memory_limit)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def register_parquet(self, name: str, files: list) -> None:
        paths = "[" + ", ".join(literal(str(f)) for f in files) + "]"
        self.con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * EXCLUDE (filename, file_row_number), "
            f"CAST(list_position({paths}, filename) - 1 AS INTEGER) AS _file, file_row_number AS _row "
            f"FROM read_parquet({paths}, filename = true, file_row_number = true, union_by_name = true)"
        )

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        self.con.close()
        if self._own_tmp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


_SPARK = None


def java_available() -> bool:
    """Whether a Java runtime is on this machine (Spark needs one)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


def spark_session(master: str = "local[*]", driver_memory: str = "2g"):
    """One local Spark session per process (starting one takes seconds), UTC time zone."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    if not java_available():
        raise SeglabError("features.engine=spark needs Java: on Debian/Ubuntu apt-get install openjdk-17-jre-headless")
    # PySpark 4.3 warns that pandas >= 3 is not fully supported: seglab hands data over as
    # Parquet, never through PySpark's pandas conversion
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    require("pyspark", "spark")
    from pyspark.sql import SparkSession

    _SPARK = (
        SparkSession.builder.master(master).appName("seglab")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 2)))
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .getOrCreate()
    )
    _SPARK.sparkContext.setLogLevel("ERROR")
    atexit.register(_SPARK.stop)
    return _SPARK


class SparkRunner:
    """Spark SQL through a local (or any configured) session; data crosses as Parquet."""

    dialect = SPARK

    def __init__(self, master: str = "local[*]", driver_memory: str = "2g", temp_dir: str | None = None, session=None):
        self.spark = session if session is not None else spark_session(master, driver_memory)
        self._temp_root = temp_dir
        self.temp_dir: str | None = None  # made on first use: a session that only reads leaves nothing behind
        self._n = 0

    def _tmp(self) -> str:
        if self.temp_dir is None:
            self.temp_dir = tempfile.mkdtemp(prefix="seglab-spark-", dir=self._temp_root)
        self._n += 1
        return os.path.join(self.temp_dir, f"t{self._n}")

    def register_parquet(self, name: str, files: list) -> None:
        from pyspark.sql import functions as F

        df = None
        for i, f in enumerate(files):
            part = self.spark.read.parquet(str(f))
            # nanosecond timestamps (pandas' default) arrive as integers (Spark has microseconds)
            for field in pq.read_schema(f):
                if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
                    part = part.withColumn(field.name, F.timestamp_micros(F.floor(F.col(field.name) / 1000)))
            part = part.select("*", F.lit(i).alias("_file"), F.col("_metadata.row_index").alias("_row"))
            df = part if df is None else df.unionByName(part, allowMissingColumns=True)
        if df is None:
            raise ConfigError("no files to read")
        df.createOrReplaceTempView(name)

    def register_path(self, name: str, path: str) -> tuple[list[str], dict[str, str]]:
        """A view over every Parquet file under ``path`` (any URI Spark reads: s3a://, hdfs://),
        with ``_file``/``_row``; returns the files (sorted) and each column's kind."""
        from pyspark.sql import functions as F

        from seglab.data.sql_input import column_kind

        df = self.spark.read.parquet(path)
        kinds = {f.name: column_kind(_arrow_type(f.dataType)) for f in df.schema.fields}
        # inputFiles() says file:///x where _metadata.file_path says file:/x: compare both as file:/x
        files = sorted(re.sub(r"^file:/+", "file:/", f) for f in df.inputFiles())
        index = self.spark.createDataFrame([(f, i) for i, f in enumerate(files)], "_path string, _file int")
        df = df.select("*", F.regexp_replace(F.col("_metadata.file_path"), "^file:/+", "file:/").alias("_path"),
                       F.col("_metadata.row_index").alias("_row"))
        df.join(F.broadcast(index), "_path").drop("_path").createOrReplaceTempView(name)
        return files, kinds

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        path = self._tmp()
        os.makedirs(path)
        frame.to_parquet(os.path.join(path, "part-0.parquet"), index=False, coerce_timestamps="us",
                         allow_truncated_timestamps=True)
        self.spark.read.parquet(path).createOrReplaceTempView(name)

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def frame(self, sql: str) -> pd.DataFrame:
        path = self._tmp()
        self.spark.sql(sql).write.parquet(path)
        return pd.read_parquet(path)

    def close(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def _arrow_type(spark_type) -> pa.DataType:
    """The Arrow type seglab's column kinds are defined on, for a Spark SQL type."""
    name = type(spark_type).__name__
    return {"StringType": pa.string(), "VarcharType": pa.string(), "CharType": pa.string(),
            "BooleanType": pa.bool_(), "ByteType": pa.int8(), "ShortType": pa.int16(), "IntegerType": pa.int32(),
            "LongType": pa.int64(), "FloatType": pa.float32(), "DoubleType": pa.float64(),
            "DecimalType": pa.float64(), "TimestampType": pa.timestamp("us"), "TimestampNTZType": pa.timestamp("us"),
            "DateType": pa.date32()}.get(name, pa.null())
