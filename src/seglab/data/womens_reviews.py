"""Women's E-Commerce Clothing Reviews (23,486 reviews; CC0): one reviewer per row, with text.

The release has no customer id, so each row is one customer (id = the row's value in the
file's unnamed index column, else the row number). ``customers`` holds the row's attributes:
``Age``, ``Rating``, ``Recommended IND``, ``Positive Feedback Count`` and the categorical
``Division Name``/``Department Name``/``Class Name`` (``Clothing ID`` is an id-like code with
over a thousand values and is dropped by default). ``reviews`` holds one review per customer,
``Title`` and ``Review Text`` joined as "title. text", with the star rating; the data has no
dates (timestamp NaT). Rows without any text keep their customer row but have no review
(counted in ``meta["reviews_without_text_dropped"]``). There are no transactions and no truth.

``path`` may be the zip as distributed (one CSV inside, plus macOS metadata that is ignored) or
the extracted CSV.
"""

from __future__ import annotations

import zipfile

import pandas as pd

from seglab.data.base import DataSource, as_list
from seglab.data.schema import CustomerData
from seglab.data.validate import (
    attribute_frame,
    check_file,
    customer_ids,
    require_columns,
    reviews_frame,
    unique_ids,
    validate_customer_data,
)
from seglab.errors import DataValidationError

ATTRIBUTES = (
    "Age",
    "Rating",
    "Recommended IND",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
)


class WomensReviewsSource(DataSource):
    """Load the Women's E-Commerce Clothing Reviews (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: the zip (or CSV).
        attributes: columns kept as customer attributes.
        text_columns: columns joined into the review text.
        max_rows: keep only the first ``max_rows`` rows (quick experiments); ``None`` = all.
    """

    def __init__(
        self,
        name: str = "womens_reviews",
        path: str = "../shared/data/womens_clothing_reviews/Womens_Clothing_E-Commerce_Reviews.csv.zip",
        attributes: list[str] | None = None,
        text_columns: list[str] | None = None,
        max_rows: int | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.attributes = as_list(attributes) if attributes is not None else list(ATTRIBUTES)
        self.text_columns = as_list(text_columns) if text_columns is not None else ["Title", "Review Text"]
        self.max_rows = None if max_rows is None else int(max_rows)

    def load(self) -> CustomerData:
        p = check_file(self.path, "Women's clothing reviews file")
        file = str(p)
        try:
            if p.suffix.lower() == ".zip":
                with zipfile.ZipFile(p) as zf:
                    members = [
                        m
                        for m in zf.namelist()
                        if m.lower().endswith(".csv") and not m.startswith("__MACOSX")
                    ]
                    if len(members) != 1:
                        raise DataValidationError(f"expected one CSV in the zip, found {members}", file=file)
                    with zf.open(members[0]) as fh:
                        raw = pd.read_csv(fh, nrows=self.max_rows)
            else:
                raw = pd.read_csv(p, nrows=self.max_rows)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, zipfile.BadZipFile, ValueError) as e:
            raise DataValidationError(f"could not read the reviews file: {e}", file=file) from None
        if len(raw) == 0:
            raise DataValidationError("the reviews file has no data rows", file=file)
        id_col = raw.columns[0] if str(raw.columns[0]).startswith("Unnamed") or raw.columns[0] == "" else None
        if id_col is not None:
            ids = customer_ids(raw[id_col], file, "<index column>")
        else:
            ids = pd.Series(range(len(raw)), index=raw.index).astype(str)
        unique_ids(ids, file, "<index column>")
        require_columns(raw, [*self.attributes, *self.text_columns], file)
        attrs, _ = attribute_frame(
            raw[self.attributes],
            file,
            numeric_columns=[
                c
                for c in ("Age", "Rating", "Recommended IND", "Positive Feedback Count")
                if c in self.attributes
            ],
        )
        customers = pd.concat([ids.rename("customer_id"), attrs], axis=1)
        meta: dict = {"path": file}
        rraw = raw[self.text_columns].copy()
        rraw["customer_id"] = ids
        rraw["rating"] = raw["Rating"] if "Rating" in raw.columns else float("nan")
        reviews = reviews_frame(
            rraw, file, customer_id="customer_id", text=self.text_columns, rating="rating", meta=meta
        )
        data = CustomerData(
            name=self.name, customers=customers.reset_index(drop=True), reviews=reviews, meta=meta
        )
        return validate_customer_data(data)
