"""Amazon 2018 "All Beauty" 5-core reviews: per-reviewer behaviour over time, plus text.

The release repeats one review across product variants, so reviews are first deduplicated on
``(reviewerID, reviewText, unixReviewTime)`` (5,269 raw rows -> 1,379 distinct reviews of 991
reviewers; the count dropped is ``meta["duplicate_reviews_dropped"]``).

Why no ``transactions``: the data records reviews, not purchases, and has no money. Treating a
review as a purchase with ``amount = 0`` would make every monetary feature constant and the
spend trend undefined, and presenting reviews as sales would mislead profiles. Instead the
behaviour the data does hold is computed here, per reviewer, as customer attributes (days are
relative to the reference date, the day after the last review)::

    n_reviews           distinct reviews written
    n_products          distinct products (asin) reviewed
    recency_days        days since the reviewer's last review
    tenure_days         days since their first review
    gap_mean_days       mean days between consecutive reviews (NaN with one review: imputed)
    rating_mean         mean star rating (1-5)
    rating_std          standard deviation of the ratings (NaN with one review: imputed)
    verified_share      share of reviews marked as verified purchases
    votes_total         helpful votes received (the "vote" field, "1,234" style strings parsed)
    text_length_mean    mean review length in words

``reviews`` holds every distinct review: text = "summary. reviewText", rating = ``overall``,
timestamp from ``unixReviewTime``. No truth.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd

from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.validate import check_file, numeric, require_columns, reviews_frame, validate_customer_data
from seglab.errors import DataValidationError

_REQUIRED = ("reviewerID", "asin", "overall", "reviewText", "unixReviewTime")


class AmazonBeautySource(DataSource):
    """Load ``All_Beauty_5.json.gz`` (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: the gzip'd JSON-lines file (an uncompressed ``.json`` also works).
        reference_date: the "as of" date (default: the day after the last review).
    """

    def __init__(
        self,
        name: str = "amazon_beauty",
        path: str = "../shared/data/amazon_all_beauty_5core/All_Beauty_5.json.gz",
        reference_date: str | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.reference_date = reference_date

    def load(self) -> CustomerData:
        p = check_file(self.path, "Amazon reviews file")
        file = str(p)
        opener = gzip.open if p.suffix == ".gz" else open
        rows = []
        try:
            with opener(p, "rt", encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as e:
                            raise DataValidationError(
                                f"invalid JSON on data row {i}: {e}",
                                file=file,
                                rows=[i],
                                examples=[line[:80]],
                            ) from None
        except (OSError, EOFError, UnicodeDecodeError) as e:
            raise DataValidationError(f"could not read the file: {e}", file=file) from None
        if not rows:
            raise DataValidationError("the file has no reviews", file=file)
        raw = pd.DataFrame(rows)
        require_columns(raw, _REQUIRED, file)
        for col in ("summary", "verified", "vote"):
            if col not in raw.columns:
                raw[col] = np.nan
        n_raw = len(raw)
        raw["reviewText"] = raw["reviewText"].fillna("")
        raw = raw.drop_duplicates(subset=["reviewerID", "reviewText", "unixReviewTime"], keep="first")
        meta: dict = {"path": file, "raw_rows": n_raw, "duplicate_reviews_dropped": n_raw - len(raw)}

        reviews = reviews_frame(
            raw,
            file,
            customer_id="reviewerID",
            text=["summary", "reviewText"],
            timestamp="unixReviewTime",
            date_unit="s",
            rating="overall",
            meta=meta,
        )
        ts = reviews["timestamp"]
        if ts.isna().any():
            raise DataValidationError("missing unixReviewTime", file=file, column="unixReviewTime")
        ref = (
            pd.Timestamp(self.reference_date)
            if self.reference_date
            else ts.max().normalize() + pd.Timedelta(days=1)
        )

        # per-reviewer behaviour from the deduplicated rows (also those without text)
        b = pd.DataFrame(
            {
                "customer_id": raw["reviewerID"].astype(str).str.strip(),
                "asin": raw["asin"].astype(str),
                "timestamp": pd.to_datetime(pd.to_numeric(raw["unixReviewTime"]), unit="s").astype(
                    "datetime64[ns]"
                ),
                "rating": numeric(raw["overall"], file, "overall", allow_missing=True),
                "verified": raw["verified"].astype("boolean").astype("float64"),
                "votes": pd.to_numeric(
                    raw["vote"].astype("string").str.replace(",", ""), errors="coerce"
                ).fillna(0.0),
                "words": raw["reviewText"].astype(str).str.split().str.len().astype("float64"),
            }
        ).sort_values(["customer_id", "timestamp"], kind="stable")
        b["gap"] = b.groupby("customer_id")["timestamp"].diff() / pd.Timedelta(days=1)
        g = b.groupby("customer_id", sort=False)
        day = pd.Timedelta(days=1)
        customers = pd.DataFrame(
            {
                "n_reviews": g.size().astype("float64"),
                "n_products": g["asin"].nunique().astype("float64"),
                "recency_days": (ref - g["timestamp"].max()) / day,
                "tenure_days": (ref - g["timestamp"].min()) / day,
                "gap_mean_days": g["gap"].mean(),
                "rating_mean": g["rating"].mean(),
                "rating_std": g["rating"].std(ddof=1),
                "verified_share": g["verified"].mean(),
                "votes_total": g["votes"].sum(),
                "text_length_mean": g["words"].mean(),
            }
        )
        customers = customers.rename_axis("customer_id").reset_index()
        meta["n_reviewers"] = len(customers)
        meta["reviewers_with_2plus_reviews"] = int((customers["n_reviews"] >= 2).sum())
        data = CustomerData(
            name=self.name, customers=customers, reviews=reviews, reference_date=ref, meta=meta
        )
        return validate_customer_data(data)
