"""Any customer-level table (CSV/TSV/Parquet, one row per customer): columns are attributes.

For data that is already aggregated per customer (survey exports, CRM extracts, the
"Customer Personality Analysis" and "Mall Customers" tables): ``customers`` is the table,
there are no transactions, so the features are the attributes themselves (numeric as is,
categoricals one-hot). Example::

    python train.py data=table data.path=customers.tsv data.id_column=ID data.sep=$'\\t'

Validation (``seglab.data.validate``): a missing or duplicate id is an error; text columns that
are almost all numbers are errors; NaN attributes are left for the imputer; ``date_columns``
become ``<col>_days`` before a fixed reference date so results do not depend on the day of the
run.
"""

from __future__ import annotations

import pandas as pd

from seglab.data.base import DataSource, as_list
from seglab.data.read import read_frame
from seglab.data.schema import CustomerData
from seglab.data.validate import (
    attribute_frame,
    customer_ids,
    fail_rows,
    require_columns,
    unique_ids,
    validate_customer_data,
)
from seglab.errors import ConfigError, DataValidationError


class TableSource(DataSource):
    """Load a one-row-per-customer table.

    Args:
        name: dataset name for the tracker.
        path: the file (``.csv``, ``.tsv``, ``.parquet``; text files may be compressed).
        sep: field separator of a text file; ``None`` = tab for ``.tsv``, else sniffed from the
            header (``,`` ``;`` tab ``|``).
        encoding: text encoding (``None`` = UTF-8); decimal: decimal mark of numbers in text
            (``","`` for European exports); sheet: Excel sheet name or 0-based number.
        id_column: the customer id column; ``None`` = the 0-based row number is the id.
        drop_columns: columns to ignore (constants, leaks, free text...).
        truth_column: optional known segment per row (benchmarks only; not a feature).
        numeric_columns: columns that must be numeric (a non-number is an error).
        categorical_columns: columns to treat as categories even if coded as numbers.
        date_columns: columns parsed as dates (``date_format``, e.g. ``"%d-%m-%Y"``) and
            replaced by ``<col>_days``, days before ``reference_date``.
        reference_date: the "as of" date (default: the latest date in ``date_columns``; also
            stored as ``CustomerData.reference_date``).
        feature_labels: column -> business words in segment names and figures (e.g.
            ``{Income: household income}``; a ``<col>_days`` date column is labelled by ``<col>``'s).
    """

    def __init__(
        self,
        name: str = "table",
        path: str | None = None,
        sep: str | None = None,
        encoding: str | None = None,
        decimal: str | None = None,
        sheet: str | int | None = None,
        id_column: str | None = None,
        drop_columns: list[str] | None = None,
        truth_column: str | None = None,
        numeric_columns: list[str] | None = None,
        categorical_columns: list[str] | None = None,
        date_columns: list[str] | None = None,
        date_format: str | None = None,
        reference_date: str | None = None,
        feature_labels: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.sep = sep
        self.encoding = encoding
        self.decimal = decimal
        self.sheet = sheet
        self.id_column = id_column
        self.drop_columns = as_list(drop_columns)
        self.truth_column = truth_column
        self.numeric_columns = as_list(numeric_columns)
        self.categorical_columns = as_list(categorical_columns)
        self.date_columns = as_list(date_columns)
        self.date_format = date_format
        self.reference_date = reference_date
        self.feature_labels = dict(feature_labels or {})

    def load(self) -> CustomerData:
        if not self.path:
            raise ConfigError("data.path is required for the table source (data.path=/path/to/file.csv)")
        file = str(self.path)
        meta: dict = {"path": file}
        raw = read_frame(self.path, sep=self.sep, str_columns=as_list(self.id_column), what="customer table",
                         encoding=self.encoding, decimal=self.decimal, sheet=self.sheet, meta=meta)
        require_columns(raw, [self.id_column, self.truth_column, *self.drop_columns], file)
        if self.id_column:
            ids = customer_ids(raw[self.id_column], file, self.id_column)
            unique_ids(ids, file, self.id_column)
        else:
            ids = pd.Series(range(len(raw)), index=raw.index, dtype="int64")
        truth = None
        if self.truth_column:
            missing = raw[self.truth_column].isna()
            if missing.any():
                fail_rows("missing truth label", file, self.truth_column, missing, raw[self.truth_column])
            truth = raw[self.truth_column].rename("truth")
        skip = [c for c in (self.id_column, self.truth_column) if c] + self.drop_columns
        attrs, ref = attribute_frame(
            raw.drop(columns=skip),
            file,
            numeric_columns=self.numeric_columns,
            categorical_columns=self.categorical_columns,
            date_columns=self.date_columns,
            date_format=self.date_format,
            reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
        )
        if attrs.shape[1] == 0:
            raise ConfigError(f"{file}: no attribute columns left after id/truth/drop_columns")
        varying = [c for c in attrs.columns if attrs[c].nunique(dropna=True) > 1]
        if not varying:
            raise DataValidationError(
                f"every attribute column is constant or missing ({attrs.shape[1]} column(s): "
                f"{', '.join(map(str, attrs.columns[:8]))}): nothing to segment on", file=file,
                hint="check data.sep (one column per field?) and data.drop_columns")
        customers = pd.concat([ids.rename("customer_id"), attrs], axis=1).reset_index(drop=True)
        if truth is not None:
            truth = truth.reset_index(drop=True)
        meta.update(n_attributes=attrs.shape[1], dropped_columns=self.drop_columns)
        if ref is not None:
            meta["date_reference"] = str(ref.date())
        labels = {**{f"{c}_days": v for c, v in self.feature_labels.items() if c in self.date_columns},
                  **self.feature_labels}
        data = CustomerData(name=self.name, customers=customers, truth=truth, reference_date=ref, meta=meta,
                            feature_labels=labels)
        return validate_customer_data(data)
