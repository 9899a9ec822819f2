"""The synthetic dataset as partitioned Parquet, written block by block in bounded memory.

``write_synthetic_parquet(SyntheticSource(...), out_dir)`` (or ``source.write_parquet(out_dir)``)
writes::

    out_dir/transactions/part-00000.parquet ...   one file per block of 100,000 customers
    out_dir/customers.parquet                      customer_id, attributes, segment (the truth)
    out_dir/reviews.parquet                        customer_id, timestamp, text, rating
    out_dir/dataset.json                           the generator's arguments and counts (last)

Peak memory is one block's (about 0.5 GB) whatever the number of customers, and the data equal
``source.load()`` (blocks have their own random streams; timestamps are stored to the
microsecond). ``dataset.json`` is written last, so a folder without it is incomplete; an
existing complete folder made with the same arguments is reused, not rewritten.

Run on it with ``python train.py data=synthetic_parquet data.path=out_dir`` (transactions stay
on disk and the features are computed by DuckDB), or read only the transactions with
``data=transactions data.path=out_dir/transactions``. From the command line::

    python -m seglab.data.synthetic_parquet --n-customers 10000000 --out data/synthetic_1e7
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.synthetic import SyntheticSource
from seglab.data.transactions import TransactionsSource
from seglab.errors import ConfigError

MANIFEST = "dataset.json"
TRUTH_COLUMN = "segment"


def _arguments(source: SyntheticSource) -> dict:
    return {k: v for k, v in vars(source).items() if k != "name"}


def _table(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with timestamps at microseconds (what Spark and every Parquet reader take)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields), safe=False)


def write_synthetic_parquet(source: SyntheticSource, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write ``source``'s data under ``out_dir`` (layout in the module docstring); returns it."""
    out = Path(out_dir)
    manifest = out / MANIFEST
    if manifest.exists() and not overwrite:
        if json.loads(manifest.read_text()).get("arguments") == _arguments(source):
            return out
        raise FileExistsError(f"{out} holds another synthetic dataset (see {manifest}); pass overwrite=True")
    for stale in (manifest, out / "transactions", out / "customers.parquet", out / "reviews.parquet"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    (out / "transactions").mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    n_tx = n_reviews = 0
    sizes: dict[str, int] = {}
    try:
        for b, (customers, transactions, reviews, truth) in enumerate(source.blocks()):
            pq.write_table(_table(transactions), out / "transactions" / f"part-{b:05d}.parquet")
            customers = customers.assign(**{TRUTH_COLUMN: truth.to_numpy()})
            for name, frame in (("customers", customers), ("reviews", reviews)):
                table = _table(frame)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
                writers[name].write_table(table)
            n_tx += len(transactions)
            n_reviews += len(reviews)
            for seg, count in truth.value_counts().items():
                sizes[str(seg)] = sizes.get(str(seg), 0) + int(count)
    finally:
        for w in writers.values():
            w.close()
    info = {
        "generator": "seglab.data.synthetic.SyntheticSource",
        "arguments": _arguments(source),
        "n_customers": source.n_customers,
        "n_transactions": n_tx,
        "n_reviews": n_reviews,
        "segment_sizes": sizes,
        "reference_date": str(source.reference_date().date()),
        "truth_column": TRUTH_COLUMN,
    }
    manifest.write_text(json.dumps(info, indent=1))
    return out


class SyntheticParquetSource(DataSource):
    """Read a folder written by ``write_synthetic_parquet``: transactions stay on disk (Parquet,
    features by DuckDB) when large, customers and reviews are read, the truth is kept.

    Args:
        name: dataset name for the tracker.
        path: the folder (it holds ``dataset.json``).
        in_memory: passed to ``TransactionsSource`` (``auto``: on disk above its row threshold).
        duckdb: options of the DuckDB connection that checks on-disk files (``TransactionsSource``).
    """

    def __init__(self, name: str = "synthetic_parquet", path: str | None = None, in_memory: str | bool = "auto",
                 duckdb: dict | None = None):
        self.name = name
        self.path = path
        self.in_memory = in_memory
        self.duckdb = duckdb

    def load(self) -> CustomerData:
        from seglab.data.validate import check_file

        if not self.path:
            raise ConfigError("data.path is required for the synthetic_parquet source (the folder written by "
                              "python -m seglab.data.synthetic_parquet --out DIR)")
        root = Path(str(self.path)).expanduser()
        info = json.loads(check_file(root / MANIFEST, "synthetic dataset manifest").read_text())
        data = TransactionsSource(
            name=self.name, path=str(root / "transactions"), quantity="quantity", category="category",
            customers_path=str(root / "customers.parquet"), truth_column=info["truth_column"],
            reviews_path=str(root / "reviews.parquet"), review_timestamp="timestamp", review_rating="rating",
            reference_date=info["reference_date"], in_memory=self.in_memory, duckdb=self.duckdb,
        ).load()
        data.meta.update({"generator": info["generator"], "generator_arguments": info["arguments"]})
        return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic dataset as partitioned Parquet.")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n-customers", type=float, default=1e6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-segments", type=int, default=5)
    parser.add_argument("--review-corpus", nargs="*", default=None,
                        help="real review file(s) whose sentences make up the reviews (default: templated)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    source = SyntheticSource(n_customers=int(args.n_customers), seed=args.seed, n_segments=args.n_segments,
                             review_corpus=args.review_corpus or None)
    out = write_synthetic_parquet(source, args.out, overwrite=args.overwrite)
    print(f"wrote {out}: run with  python train.py data=synthetic_parquet data.path={out}")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main()
