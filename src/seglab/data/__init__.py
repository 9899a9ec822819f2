"""Data sources: every input becomes one canonical ``CustomerData`` (see ``schema``).

Each source is a class built from flat keyword arguments (a ``conf/data/<name>.yaml`` with a
``_target_``) whose ``load()`` returns a validated ``CustomerData``:

=====================  =====================================================================================
``synthetic``          generated customers with planted segments (the default; truth kept)
``synthetic_parquet``  the synthetic data written as partitioned Parquet (``seglab.data.synthetic_parquet``)
``transactions``       any transactions CSV/Parquet file, folder or glob (+ optional reviews and customers)
``table``              any customer-level CSV/Parquet (one row per customer)
``features``           a precomputed per-customer feature table (e.g. computed on Spark in a cluster)
``cdnow``              the CDNOW transaction log
``womens_reviews``     Women's E-Commerce Clothing Reviews (one reviewer per row, with text)
``amazon_beauty``      Amazon "All Beauty" 5-core reviews (per-reviewer behaviour plus text)
``usps``/``digits``    image benchmarks as customer-level tables with truth (DEC fidelity)
=====================  =====================================================================================

The validation rules and the duplicate/NaN policy shared by every file-reading source are in
``seglab.data.validate``.
"""

from seglab.data.amazon_beauty import AmazonBeautySource
from seglab.data.base import DataSource
from seglab.data.cdnow import CDNOWSource
from seglab.data.features_table import FeaturesSource
from seglab.data.images import DigitsSource, USPSSource
from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS, CustomerData
from seglab.data.synthetic import SyntheticSource
from seglab.data.synthetic_parquet import SyntheticParquetSource
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
    "FeaturesSource",
    "SyntheticParquetSource",
    "SyntheticSource",
    "TableSource",
    "TransactionsSource",
    "USPSSource",
    "WomensReviewsSource",
    "validate_customer_data",
]
