"""Data sources: every input becomes one canonical ``CustomerData`` (see ``schema``).

Each source is a class built from flat keyword arguments (a ``conf/data/<name>.yaml`` with a
``_target_``) whose ``load()`` returns a validated ``CustomerData``:

==================  =========================================================================
``synthetic``       generated customers with planted segments (the default; truth kept)
``transactions``    any transactions CSV/Parquet (+ optional reviews and customers files)
``table``           any customer-level CSV/Parquet (one row per customer)
``cdnow``           the CDNOW transaction log
``womens_reviews``  Women's E-Commerce Clothing Reviews (one reviewer per row, with text)
``amazon_beauty``   Amazon "All Beauty" 5-core reviews (per-reviewer behaviour plus text)
``usps``/``digits`` image benchmarks as customer-level tables with truth (DEC fidelity)
==================  =========================================================================

The validation rules and the duplicate/NaN policy shared by every file-reading source are in
``seglab.data.validate``.
"""

from seglab.data.amazon_beauty import AmazonBeautySource
from seglab.data.base import DataSource
from seglab.data.cdnow import CDNOWSource
from seglab.data.images import DigitsSource, USPSSource
from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS, CustomerData
from seglab.data.synthetic import SyntheticSource
from seglab.data.table import TableSource
from seglab.data.transactions import TransactionsSource
from seglab.data.validate import validate_customer_data
from seglab.data.womens_reviews import WomensReviewsSource

__all__ = [
    "REVIEW_COLUMNS",
    "TRANSACTION_COLUMNS",
    "AmazonBeautySource",
    "CDNOWSource",
    "CustomerData",
    "DataSource",
    "DigitsSource",
    "SyntheticSource",
    "TableSource",
    "TransactionsSource",
    "USPSSource",
    "WomensReviewsSource",
    "validate_customer_data",
]
