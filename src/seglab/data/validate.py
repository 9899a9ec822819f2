"""Checks at the data-source boundary: bad input becomes a ``DataValidationError``, never a
traceback from deep inside pandas. This module is the policy; the code is split by concern:

=======================  ===================================================================
``seglab.data.read``     files: formats (CSV/TSV, compressed, Excel, Parquet), separators,
                         encodings, empty and truncated files
``seglab.data.convert``  columns: ids, numbers, text, customer attributes
``seglab.data.dates``    dates: formats, time zones, range, dates in the future
``seglab.data.lines``    transaction lines: guest rows, prices, cancellations, returns (policies)
``seglab.data.tables``   canonical transactions and reviews from raw frames
``seglab.data.repairs``  counted repairs: duplicates, rows of customers outside the population
``seglab.data.matching`` joins on customer ids: a mismatch that drops most rows is an error
``seglab.data.checks``   the canonical invariants every source ends with
``seglab.data.counts``   the counters every repair is recorded in, reported by each run
=======================  ===================================================================

Every name below is importable from here as before. A message names the file, the column,
example rows and their values, and, when an option would handle the case, the option::

    missing customer id (3 row(s)) | file: tx.csv | column: 'CustomerID' | rows (0-based, first 3): 4, 9, 17 | values: None, None, None | to go on: data.missing_customer=drop (drops rows without a customer id, counted)

Row numbers are 0-based positions among the file's *data* rows (the header is not counted), so
row 0 is the first line after the header.

Policy (what is an error, what is repaired, what is left alone)
----------------------------------------------------------------
Errors (``DataValidationError``, exit code 2 from ``train.py``):

- a missing file (the message lists what the folder holds), an empty file, a file with a header
  but no data rows, a file that cannot be parsed (a truncated Parquet file), text that is not
  valid in ``encoding`` (the rows are named; ``data.encoding=latin-1``);
- a required column that is absent (the message lists the columns that are there);
- a missing customer id (NaN or blank) in any table, unless a transactions source says
  ``data.missing_customer=drop``;
- a duplicate customer id in a customer-level table (``customers``, ``table``): one row per
  customer is the definition of that table, so a repeat means the file is not what the config
  says it is;
- a non-numeric value in a numeric column (``amount``, ``quantity``, ``rating``, a column listed
  in ``numeric_columns``; numbers with a decimal comma point at ``data.decimal=','``), and, in a
  customer-level table, a text column whose non-missing values are at least 95% numbers
  (almost certainly a typo such as ``"12,5"`` or ``"n/a "``; declare it ``categorical`` if it is
  not); a value above 1e15 in an amount or quantity (float64 loses cents, sums overflow);
- a missing value in ``amount`` or ``quantity``; a negative one, a cancellation or a zero price,
  unless ``data.returns`` / ``data.nonpositive_price`` say what to do (``seglab.data.lines``);
  every amount 0 (no spend to segment on);
- a date that cannot be parsed with the configured format, outside 1677-2262, a missing
  transaction date (a purchase must be placed in time; a missing *review* date is allowed),
  a transaction date in the future (unless ``data.future_dates=drop``), a column mixing times
  with and without a UTC offset;
- transactions or reviews whose ids mostly do not match the customers file and are written
  differently (``1.0`` vs ``1``), or of which none matches;
- a customer table whose every attribute is constant or missing (nothing to segment on).

Repaired and counted in ``CustomerData.meta`` (``seglab.data.counts``: reported as ``data/*``
metrics, in ``metrics.json``, the tracker and a warning in the run summary):

- exact duplicate transaction rows are dropped (``n_duplicates_dropped``; sources may switch
  this off with ``drop_duplicates=False`` where repeats are genuine);
- exact duplicate reviews (same customer, text and date) are dropped;
- reviews without text (empty or whitespace) are dropped;
- transactions and reviews of customer ids absent from a given customers file are dropped
  (``n_unmatched_transactions``, ``n_unmatched_reviews``): the customers file defines the
  population;
- the drop and net policies of ``seglab.data.lines`` (rows without a customer id, zero prices,
  cancellations and returns, future dates);
- times with a UTC offset are converted to UTC; trailing empty columns are dropped;
- a missing category becomes ``"unknown"``.

Left alone:

- a missing customer attribute (NaN age, income...) stays NaN for the preprocessor's imputer;
- a missing review rating stays NaN; a long review is truncated by the text model's
  ``max_length``, not here.

``validate_customer_data`` finally checks the canonical invariants documented in
``seglab.data.schema`` (columns, dtypes, unique ids, truth alignment) for every source, file
based or generated.
"""

from __future__ import annotations

from seglab.data.checks import validate_customer_data
from seglab.data.convert import (
    NUMERIC_TYPO_SHARE,
    _blank,
    _plain,
    attribute_frame,
    customer_ids,
    fail_rows,
    numeric,
    require_columns,
    texts,
    unique_ids,
)
from seglab.data.dates import dates
from seglab.data.read import check_file, default_sep, read_frame
from seglab.data.repairs import drop_exact_duplicates, member_of, restrict_to_customers
from seglab.data.tables import reviews_frame, transactions_frame

__all__ = [
    "NUMERIC_TYPO_SHARE",
    "_blank",
    "_plain",
    "attribute_frame",
    "check_file",
    "customer_ids",
    "dates",
    "default_sep",
    "drop_exact_duplicates",
    "fail_rows",
    "member_of",
    "numeric",
    "read_frame",
    "require_columns",
    "restrict_to_customers",
    "reviews_frame",
    "texts",
    "transactions_frame",
    "unique_ids",
    "validate_customer_data",
]
