"""How to write the portable feature definition: hand-written SQL vs Ibis expressions, on DuckDB.

The same core (purchases per customer and time, then recency, frequency, monetary total, tenure,
mean and sample std of the gaps, basket size, spend trend) written both ways and run on the same
Parquet transactions; one raw record per run in ``experiments/scale_sql_vs_ibis.jsonl`` (wall and
CPU seconds, peak RSS, load). ``scripts/bench_scale.py`` puts them in ``experiments/scale.md``.

Ibis is not a seglab dependency (its PySpark backend pins ``pyspark < 4.1``): run the Ibis side
from its own environment::

    python -m seglab.data.synthetic_parquet --n-customers 1e6 --out /tmp/syn_1e6
    .venv/bin/python scripts/bench_sql_vs_ibis.py sql /tmp/syn_1e6
    python -m venv /tmp/ibisvenv && /tmp/ibisvenv/bin/pip install "ibis-framework[duckdb]" pandas pyarrow
    /tmp/ibisvenv/bin/python scripts/bench_sql_vs_ibis.py ibis /tmp/syn_1e6
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, load_average  # noqa: E402

RAW = ROOT / "experiments" / "scale_sql_vs_ibis.jsonl"
AS_OF_US = 1735689600 * 10**6  # 2025-01-01
W = 90.0


def run_sql(files: str):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"CREATE VIEW tx AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, epoch_us(timestamp) AS ts_us, "
                f"amount, quantity FROM read_parquet('{files}')")
    return con.execute(f"""
    WITH orders AS (SELECT customer_id, ts_us, SUM(amount) AS amount, SUM(quantity) AS quantity FROM tx GROUP BY ALL),
    g AS (SELECT *, (ts_us - LAG(ts_us) OVER (PARTITION BY customer_id ORDER BY ts_us)) / 86400e6 AS gap,
                 ({AS_OF_US} - ts_us) / 86400e6 AS age FROM orders)
    SELECT customer_id, ({AS_OF_US} - MAX(ts_us)) / 86400e6 AS recency_days, COUNT(*)::DOUBLE AS frequency,
      SUM(amount) AS monetary_total, ({AS_OF_US} - MIN(ts_us)) / 86400e6 AS tenure_days,
      AVG(gap) AS gap_mean_days, STDDEV_SAMP(gap) AS gap_std_days, AVG(quantity) AS basket_size,
      ln(1 + SUM(CASE WHEN age < {W} THEN amount ELSE 0 END))
        - ln(1 + SUM(CASE WHEN age >= {W} AND age < {2 * W} THEN amount ELSE 0 END)) AS spend_trend
    FROM g GROUP BY customer_id""").df()


def run_ibis(files: str):
    import ibis

    con = ibis.duckdb.connect(threads=2)
    t = con.read_parquet(files)
    t = t.select(customer_id=t.customer_id.cast("string"), amount=t.amount, quantity=t.quantity,
                 ts_us=t.timestamp.delta(ibis.timestamp("1970-01-01 00:00:00"), unit="microsecond"))
    o = t.group_by(["customer_id", "ts_us"]).aggregate(amount=t.amount.sum(), quantity=t.quantity.sum())
    w = ibis.window(group_by=o.customer_id, order_by=o.ts_us)
    o = o.mutate(gap=(o.ts_us - o.ts_us.lag().over(w)) / 86400e6, age=(AS_OF_US - o.ts_us) / 86400e6)
    return o.group_by("customer_id").aggregate(
        recency_days=(AS_OF_US - o.ts_us.max()) / 86400e6, frequency=o.count().cast("float64"),
        monetary_total=o.amount.sum(), tenure_days=(AS_OF_US - o.ts_us.min()) / 86400e6,
        gap_mean_days=o.gap.mean(), gap_std_days=o.gap.std(how="sample"), basket_size=o.quantity.mean(),
        spend_trend=(1 + o.amount.sum(where=o.age < W)).ln() - (1 + o.amount.sum(where=(o.age >= W) & (o.age < 2 * W))).ln(),
    ).to_pandas()


def main() -> None:
    which, data = sys.argv[1], Path(sys.argv[2])
    files = str(data / "transactions" / "*.parquet")
    load = load_average()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    df = (run_sql if which == "sql" else run_ibis)(files)
    result = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
              "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "load1_before": load,
              "customers": len(df), "rows": json.loads((data / "dataset.json").read_text())["n_transactions"],
              "checksum_gap_mean": float(df["gap_mean_days"].sum())}
    if which == "ibis":
        import ibis

        result["ibis"] = ibis.__version__
    RawRecords(RAW, any_commit=True).add({"approach": which, "rows": result["rows"]}, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
