"""The CDNOW transaction log: 23,570 customers' CD purchases, Jan 1997 - Jun 1998.

``CDNOW_master.txt`` is whitespace separated: customer id, date (YYYYMMDD), number of CDs,
dollar value; some copies start with a header line (``customer_id date number_of_cds
dollar_value``), which is detected and skipped. The file is also shipped by the PyPI package
``lifetimes`` (``lifetimes/datasets/CDNOW_master.txt``).

Mapping: quantity = number of CDs, amount = dollars, category ``"unknown"`` (there is none).
Rows that repeat (same customer, day, CDs and dollars) are kept by default: a customer can
genuinely place two identical orders on one day, and dates are at day resolution; set
``drop_duplicates=true`` to drop them. Several rows on one day form one purchase downstream
(features treat a distinct (customer, timestamp) as one basket). No ground truth.
"""

from __future__ import annotations

import pandas as pd

from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.validate import check_file, transactions_frame, validate_customer_data
from seglab.errors import DataValidationError

_COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]


class CDNOWSource(DataSource):
    """Load ``CDNOW_master.txt`` (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: the file.
        drop_duplicates: drop exact repeated rows (default False, see above).
        reference_date: the "as of" date (default: the day after the last purchase).
    """

    def __init__(
        self,
        name: str = "cdnow",
        path: str = "../shared/data/cdnow/CDNOW_master.txt",
        drop_duplicates: bool = False,
        reference_date: str | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.drop_duplicates = bool(drop_duplicates)
        self.reference_date = reference_date

    def load(self) -> CustomerData:
        p = check_file(self.path, "CDNOW file")
        with open(p, encoding="utf-8", errors="replace") as fh:
            first = fh.readline().split()
        has_header = bool(first) and not first[0].isdigit()
        try:
            raw = pd.read_csv(
                p,
                sep=r"\s+",
                header=None,
                names=_COLUMNS,
                skiprows=1 if has_header else 0,
                dtype={"customer_id": str, "date": str},
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            raise DataValidationError(f"CDNOW file could not be parsed: {e}", file=str(p)) from None
        if len(raw) == 0:
            raise DataValidationError("CDNOW file has no data rows", file=str(p))
        meta: dict = {"path": str(p)}
        tx = transactions_frame(
            raw,
            str(p),
            customer_id="customer_id",
            timestamp="date",
            amount="dollar_value",
            quantity="number_of_cds",
            date_format="%Y%m%d",
            drop_duplicates=self.drop_duplicates,
            meta=meta,
        )
        customers = pd.DataFrame({"customer_id": pd.unique(tx["customer_id"])})
        data = CustomerData(
            name=self.name,
            customers=customers,
            transactions=tx,
            reference_date=pd.Timestamp(self.reference_date) if self.reference_date else None,
            meta=meta,
        )
        return validate_customer_data(data)
