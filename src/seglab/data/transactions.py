"""Any transaction log (CSV/TSV/Parquet) plus optional reviews and customer-attribute files.

Column names are mapped in the config, so no file needs renaming::

    python train.py data=transactions data.path=orders.csv data.customer_id=client \\
        data.timestamp=order_date data.date_format=%d/%m/%Y data.amount=total

The population (``customers``) is the customers file when one is given (transactions and
reviews of other ids are dropped, counted and warned about), else every id that has a
transaction, in order of first appearance. Validation and the duplicate/NaN policy:
``seglab.data.validate``.
"""

from __future__ import annotations

import pandas as pd

from seglab.data.base import DataSource, as_list
from seglab.data.schema import CustomerData
from seglab.data.validate import (
    attribute_frame,
    customer_ids,
    fail_rows,
    read_frame,
    require_columns,
    restrict_to_customers,
    reviews_frame,
    transactions_frame,
    unique_ids,
    validate_customer_data,
)


class TransactionsSource(DataSource):
    """Load a transaction log with optional reviews and customers files.

    Args:
        name: dataset name for the tracker.
        path: the transactions file (``.csv``, ``.tsv``, ``.parquet``; csv may be compressed).
        sep: field separator of a text file; ``None`` = tab for ``.tsv``, comma otherwise.
        customer_id, timestamp, amount: the file's column names for the required fields.
        quantity: column of item counts; ``None`` = every row is 1 item.
        category: column of product categories; ``None`` = ``"unknown"``.
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
    """

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

    def load(self) -> CustomerData:
        if not self.path:
            from seglab.errors import ConfigError

            raise ConfigError(
                "data.path is required for the transactions source (data.path=/path/to/file.csv)"
            )
        meta: dict = {"path": str(self.path)}
        raw = read_frame(self.path, sep=self.sep, str_columns=[self.customer_id], what="transactions file")
        tx = transactions_frame(
            raw,
            str(self.path),
            customer_id=self.customer_id,
            timestamp=self.timestamp,
            amount=self.amount,
            quantity=self.quantity,
            category=self.category,
            date_format=self.date_format,
            date_unit=self.date_unit,
            drop_duplicates=self.drop_duplicates,
            meta=meta,
        )
        del raw

        truth = None
        if self.customers_path:
            customers, truth = load_customers_file(
                self.customers_path,
                sep=self.customers_sep,
                id_column=self.customers_id,
                drop_columns=self.customers_drop_columns,
                truth_column=self.truth_column,
                categorical_columns=self.customers_categorical_columns,
                date_columns=self.customers_date_columns,
                date_format=self.customers_date_format,
                reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
            )
            meta["customers_path"] = str(self.customers_path)
            tx = restrict_to_customers(
                tx, pd.Index(customers["customer_id"]), "transactions", str(self.path), meta
            )
        else:
            customers = pd.DataFrame({"customer_id": pd.unique(tx["customer_id"])})

        reviews = None
        if self.reviews_path:
            rraw = read_frame(
                self.reviews_path,
                sep=self.reviews_sep,
                str_columns=[self.review_customer_id],
                what="reviews file",
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
            )
            meta["reviews_path"] = str(self.reviews_path)
            reviews = restrict_to_customers(
                reviews, pd.Index(customers["customer_id"]), "reviews", str(self.reviews_path), meta
            )

        data = CustomerData(
            name=self.name,
            customers=customers,
            transactions=tx,
            reviews=reviews,
            truth=truth,
            reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
            meta=meta,
        )
        return validate_customer_data(data)


def load_customers_file(
    path: str,
    *,
    sep: str | None = None,
    id_column: str = "customer_id",
    drop_columns: list[str] | None = None,
    truth_column: str | None = None,
    categorical_columns: list[str] | None = None,
    date_columns: list[str] | None = None,
    date_format: str | None = None,
    reference_date: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.Series | None]:
    """A one-row-per-customer attributes file: ids validated and unique, attributes checked."""
    raw = read_frame(path, sep=sep, str_columns=[id_column], what="customers file")
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
