"""Any transaction log (CSV/TSV/Parquet) plus optional reviews and customer-attribute files.

Column names are mapped in the config, so no file needs renaming::

    python train.py data=transactions data.path=orders.csv data.customer_id=client \\
        data.timestamp=order_date data.date_format=%d/%m/%Y data.amount=total

The population (``customers``) is the customers file when one is given (transactions and
reviews of other ids are dropped, counted and warned about), else every id that has a
transaction, in order of first appearance. Validation and the duplicate/NaN policy:
``seglab.data.validate``.

Invoice-line logs as shops export them (guest rows, unit prices, cancellations, returns, zero
prices) are read with policies rather than pre-cleaning scripts (``seglab.data.lines``)::

    python train.py data=transactions data.path=retail.xlsx data.customer_id=CustomerID \
        data.timestamp=InvoiceDate data.quantity=Quantity data.unit_price=UnitPrice \
        data.invoice=InvoiceNo data.item=StockCode data.missing_customer=drop data.returns=net \
        data.nonpositive_price=drop

(``conf/data/retail.yaml`` holds exactly these options). Every row dropped or netted is counted
by reason (``seglab.data.counts``) and reported by the run.

``path`` may be one file (CSV/TSV, compressed or not, Excel, Parquet), a directory or a glob (``seglab.data.paths``): a transaction log
split into parts, as Spark or a data lake writes it. Parquet inputs larger than
``lazy_rows`` rows stay on disk (``in_memory: auto``): DuckDB checks them at load time with the
same rules and messages (``seglab.data.lazy``) and computes the features out of core, so 10^8
rows never become a pandas frame. ``in_memory: true`` always reads into pandas, ``false``
always leaves Parquet on disk (needs the ``scale`` extra, i.e. DuckDB).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import pandas as pd

from seglab.config.constraints import Choice, Integral, Interval
from seglab.data.base import DataSource, as_list
from seglab.data.dates import future_limit
from seglab.data.lazy import open_parquet_transactions, read_transactions_pandas
from seglab.data.lines import POLICIES, LineSpec
from seglab.data.matching import check_overlap
from seglab.data.paths import is_parquet, resolve_files
from seglab.data.read import parquet_metadata, read_frame
from seglab.data.schema import CustomerData
from seglab.data.sql_engines import available
from seglab.data.validate import (
    attribute_frame,
    customer_ids,
    fail_rows,
    require_columns,
    restrict_to_customers,
    reviews_frame,
    unique_ids,
    validate_customer_data,
)
from seglab.errors import ConfigError

log = logging.getLogger(__name__)

#: Parquet inputs with more rows than this stay on disk under ``in_memory: auto`` (about 1.5 GB
#: as a pandas frame; the features of fewer rows take seconds in pandas).
LAZY_ROWS = 5_000_000


class TransactionsSource(DataSource):
    """Load a transaction log with optional reviews and customers files.

    Args:
        name: dataset name for the tracker.
        path: the transactions file (``.csv``, ``.tsv``, ``.xlsx``, ``.xls``, ``.parquet``; text
            may be compressed), a directory of such files or a glob (e.g. monthly files).
        sep: field separator of a text file; ``None`` = tab for ``.tsv``, else sniffed from the
            header (``,`` ``;`` tab ``|``).
        encoding: text encoding of every text file of the source (``None`` = UTF-8).
        decimal: decimal mark of numbers in text files (``","`` for European exports).
        sheet: Excel sheet name or 0-based number (``None`` = the first).
        customer_id, timestamp, amount: the file's column names for the required fields
            (``amount`` is ignored when ``unit_price`` is given).
        quantity: column of item counts; ``None`` = every row is 1 item.
        category: column of product categories; ``None`` = ``"unknown"``.
        unit_price: column of unit prices: the line amount is ``unit_price × quantity``.
        invoice: column of invoice numbers (cancellations start with ``cancel_prefix``).
        item: column of item codes (returns are netted against purchases of the same item).
        missing_customer, returns, nonpositive_price, future_dates: the policies of
            ``seglab.data.lines`` (``error`` | ``drop``; ``returns`` also ``net``).
        date_format: ``strftime`` format of ``timestamp`` (``None`` = inferred by pandas).
        date_unit: parse ``timestamp`` as a Unix epoch in this unit (``"s"``, ``"ms"``) instead.
        drop_duplicates: drop exact duplicate transaction rows (counted in ``meta``).
        reviews_path: optional reviews file; ``review_*`` name its columns
            (``review_text`` may be a list of columns, joined as "title. body").
        customers_path: optional one-row-per-customer attributes file; ``customers_id`` is its
            id column, ``customers_drop_columns`` are ignored, ``customers_categorical_columns``
            are text even if coded as numbers, ``customers_date_columns`` (format
            ``customers_date_format``) become days before the reference date; ``truth_column``
            (optional) holds known segments (benchmarks only; removed from the attributes).
        reference_date: the "as of" date for recency (default: the day after the last
            transaction).
        in_memory: ``auto`` (Parquet above ``lazy_rows`` rows stays on disk), ``true``, ``false``.
        lazy_rows: the row threshold of ``in_memory: auto``.
        duckdb: options of the DuckDB connection that checks on-disk files (``threads``,
            ``memory_limit``, ``temp_dir``).
    """

    #: Allowed values of the arguments that are not column names (`seglab.config.check_config`).
    _parameter_constraints: ClassVar[dict] = {
        **{policy: [Choice(*allowed)] for policy, allowed in POLICIES.items()},
        "in_memory": [Choice("auto", "true", "false"), "boolean"],
        "lazy_rows": [Interval(Integral, 1, None, closed="left")],
        "date_unit": [Choice("s", "ms", "us", "ns"), None],
        "sheet": [str, Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        name: str = "transactions",
        path: str | None = None,
        sep: str | None = None,
        customer_id: str = "customer_id",
        timestamp: str = "timestamp",
        amount: str = "amount",
        quantity: str | None = None,
        category: str | None = None,
        date_format: str | None = None,
        date_unit: str | None = None,
        drop_duplicates: bool = True,
        unit_price: str | None = None,
        invoice: str | None = None,
        item: str | None = None,
        cancel_prefix: str = "C",
        missing_customer: str = "error",
        returns: str = "error",
        nonpositive_price: str = "error",
        future_dates: str = "error",
        encoding: str | None = None,
        decimal: str | None = None,
        sheet: str | int | None = None,
        reviews_path: str | None = None,
        reviews_sep: str | None = None,
        review_customer_id: str = "customer_id",
        review_text: str | list[str] = "text",
        review_timestamp: str | None = None,
        review_rating: str | None = None,
        review_date_format: str | None = None,
        customers_path: str | None = None,
        customers_sep: str | None = None,
        customers_id: str = "customer_id",
        customers_drop_columns: list[str] | None = None,
        customers_categorical_columns: list[str] | None = None,
        customers_date_columns: list[str] | None = None,
        customers_date_format: str | None = None,
        truth_column: str | None = None,
        reference_date: str | None = None,
        in_memory: str | bool = "auto",
        lazy_rows: int = LAZY_ROWS,
        duckdb: dict | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.sep = sep
        self.customer_id = customer_id
        self.timestamp = timestamp
        self.amount = amount
        self.quantity = quantity
        self.category = category
        self.date_format = date_format
        self.date_unit = date_unit
        self.drop_duplicates = bool(drop_duplicates)
        self.unit_price = unit_price
        self.invoice = invoice
        self.item = item
        self.cancel_prefix = cancel_prefix
        self.missing_customer = missing_customer
        self.returns = returns
        self.nonpositive_price = nonpositive_price
        self.future_dates = future_dates
        self.encoding = encoding
        self.decimal = decimal
        self.sheet = sheet
        self.reviews_path = reviews_path
        self.reviews_sep = reviews_sep
        self.review_customer_id = review_customer_id
        self.review_text = review_text if isinstance(review_text, str) else as_list(review_text)
        self.review_timestamp = review_timestamp
        self.review_rating = review_rating
        self.review_date_format = review_date_format
        self.customers_path = customers_path
        self.customers_sep = customers_sep
        self.customers_id = customers_id
        self.customers_drop_columns = as_list(customers_drop_columns)
        self.customers_categorical_columns = as_list(customers_categorical_columns)
        self.customers_date_columns = as_list(customers_date_columns)
        self.customers_date_format = customers_date_format
        self.truth_column = truth_column
        self.reference_date = reference_date
        self.in_memory = in_memory
        self.lazy_rows = int(lazy_rows)
        self.duckdb = dict(duckdb or {})

    def _stay_on_disk(self, files: list) -> bool:
        mode = str(self.in_memory).lower()
        if mode not in ("auto", "true", "false"):
            raise ConfigError(f"data.in_memory must be auto, true or false, got {self.in_memory!r}")
        parquet = all(is_parquet(f) for f in files)
        if mode == "true" or not parquet:
            if mode == "false":
                raise ConfigError(f"data.in_memory=false needs Parquet input, got {files[0]}")
            return False
        if mode == "false":
            return True
        n_rows = sum(parquet_metadata(f, "transactions file").num_rows for f in files)
        if n_rows <= self.lazy_rows:
            return False
        if not available("duckdb"):
            log.warning("%s: %d rows are read into memory; install the scale extra (pip install "
                        "\"seglab[scale]\") to keep them on disk and compute features out of core", self.path, n_rows)
            return False
        return True

    def line_spec(self) -> LineSpec:
        """Which column is which and the line policies (`LineSpec` checks them as it is built)."""
        return LineSpec(customer_id=self.customer_id, timestamp=self.timestamp, amount=self.amount,
                        quantity=self.quantity, category=self.category, date_format=self.date_format,
                        date_unit=self.date_unit, unit_price=self.unit_price, invoice=self.invoice, item=self.item,
                        cancel_prefix=self.cancel_prefix, missing_customer=self.missing_customer,
                        returns=self.returns, nonpositive_price=self.nonpositive_price,
                        future_dates=self.future_dates, reference_date=self.reference_date)

    def check(self) -> None:
        """The arguments together, before anything is read (see `DataSource.check`)."""
        if not self.path:
            raise ConfigError(
                "data.path is required for the transactions source (data.path=/path/to/file.csv)"
            )
        self.line_spec()

    def load(self) -> CustomerData:
        self.check()
        meta: dict = {"path": str(self.path)}
        files = resolve_files(self.path, "transactions file")
        spec = self.line_spec()
        read_options = dict(sep=self.sep, encoding=self.encoding, decimal=self.decimal, sheet=self.sheet)
        lazy = self._stay_on_disk(files)
        if len(files) > 1:
            meta["n_files"] = len(files)

        truth = None
        customers = None
        if self.customers_path:
            customers, truth = load_customers_file(
                self.customers_path,
                sep=self.customers_sep,
                encoding=self.encoding,
                id_column=self.customers_id,
                drop_columns=self.customers_drop_columns,
                truth_column=self.truth_column,
                categorical_columns=self.customers_categorical_columns,
                date_columns=self.customers_date_columns,
                date_format=self.customers_date_format,
                reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
            )
            meta["customers_path"] = str(self.customers_path)
        population = None if customers is None else pd.Index(customers["customer_id"])
        returns = None
        if lazy:
            tx, ids = open_parquet_transactions(files, population=population, meta=meta, runner_options=self.duckdb,
                                                drop_duplicates=self.drop_duplicates, spec=spec,
                                                population_file=str(self.customers_path))
            meta["transactions_on_disk"] = True
        else:
            tx, returns = read_transactions_pandas(files, spec=spec, population=population, meta=meta,
                                                   drop_duplicates=self.drop_duplicates, read_options=read_options,
                                                   population_file=str(self.customers_path))
            ids = pd.unique(tx["customer_id"]) if customers is None else None
        if customers is None:
            customers = pd.DataFrame({"customer_id": ids})

        reviews = None
        if self.reviews_path:
            rraw = read_frame(
                self.reviews_path,
                sep=self.reviews_sep,
                encoding=self.encoding,
                str_columns=[self.review_customer_id],
                what="reviews file",
                meta=meta,
            )
            reviews = reviews_frame(
                rraw,
                str(self.reviews_path),
                customer_id=self.review_customer_id,
                text=self.review_text,
                timestamp=self.review_timestamp,
                rating=self.review_rating,
                date_format=self.review_date_format,
                meta=meta,
                not_after=future_limit(self.reference_date),
            )
            meta["reviews_path"] = str(self.reviews_path)
            known = pd.Index(customers["customer_id"])
            check_overlap(reviews["customer_id"], known, what="reviews", file=str(self.reviews_path),
                          population_file=str(self.customers_path or self.path))
            reviews = restrict_to_customers(reviews, known, "reviews", str(self.reviews_path), meta)

        data = CustomerData(
            name=self.name,
            customers=customers,
            transactions=tx,
            reviews=reviews,
            truth=truth,
            reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
            meta=meta,
            returns=returns,
        )
        return validate_customer_data(data)


def load_customers_file(
    path: str,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    id_column: str = "customer_id",
    drop_columns: list[str] | None = None,
    truth_column: str | None = None,
    categorical_columns: list[str] | None = None,
    date_columns: list[str] | None = None,
    date_format: str | None = None,
    reference_date: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.Series | None]:
    """A one-row-per-customer attributes file: ids validated and unique, attributes checked."""
    raw = read_frame(path, sep=sep, encoding=encoding, str_columns=[id_column], what="customers file")
    require_columns(raw, [id_column, truth_column, *(drop_columns or [])], str(path))
    ids = customer_ids(raw[id_column], str(path), id_column)
    unique_ids(ids, str(path), id_column)
    attrs = raw.drop(columns=[id_column, *(drop_columns or [])] + ([truth_column] if truth_column else []))
    attrs, _ = attribute_frame(
        attrs,
        str(path),
        categorical_columns=categorical_columns or [],
        date_columns=date_columns or [],
        date_format=date_format,
        reference_date=reference_date,
    )
    customers = pd.concat([ids.rename("customer_id"), attrs], axis=1)
    truth = None
    if truth_column:
        missing = raw[truth_column].isna()
        if missing.any():
            fail_rows("missing truth label", str(path), truth_column, missing, raw[truth_column])
        truth = raw[truth_column].rename("truth")
    return customers, truth
