"""File sources: column mapping, formats, customers files, and the real datasets (marked)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from seglab.data import (
    AmazonBeautySource,
    CDNOWSource,
    DigitsSource,
    TableSource,
    TransactionsSource,
    USPSSource,
    WomensReviewsSource,
)
from seglab.data.schema import REVIEW_COLUMNS, TRANSACTION_COLUMNS

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_transactions_column_mapping_and_customers_file(tmp_path):
    tx = tmp_path / "orders.tsv"
    tx.write_text(
        "client\twhen\ttotal\titems\tdept\n"
        "007\t03/01/2024\t10\t2\ttoys\n"
        "008\t04/01/2024\t20.5\t1\t\n"
        "999\t05/01/2024\t1\t1\ttoys\n"
    )
    cust = tmp_path / "clients.csv"
    cust.write_text(
        "cid,age,plan,joined,seg\n007,30,gold,01-01-2020,a\n008,,basic,01-06-2021,b\n010,51,gold,,a\n"
    )
    d = TransactionsSource(
        name="shop",
        path=str(tx),
        customer_id="client",
        timestamp="when",
        amount="total",
        quantity="items",
        category="dept",
        date_format="%d/%m/%Y",
        customers_path=str(cust),
        customers_id="cid",
        customers_date_columns=["joined"],
        customers_date_format="%d-%m-%Y",
        truth_column="seg",
    ).load()
    assert d.name == "shop"
    assert list(d.transactions.columns) == list(TRANSACTION_COLUMNS)
    assert list(d.customers["customer_id"]) == ["007", "008", "010"]  # leading zeros kept
    assert list(d.transactions["customer_id"]) == ["007", "008"]  # 999 is not a customer
    assert d.meta["transactions_unknown_customer_dropped"] == 1
    assert d.transactions["timestamp"].tolist() == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    assert d.transactions["category"].tolist() == ["toys", "unknown"]
    assert d.transactions["quantity"].tolist() == [2.0, 1.0]
    assert np.isnan(d.customers.loc[1, "age"])  # NaN attribute left for the imputer
    assert d.customers["joined_days"].tolist()[:2] == [517.0, 0.0]
    assert d.truth.tolist() == ["a", "b", "a"]
    assert d.as_of() == pd.Timestamp("2024-01-05")


def test_transactions_defaults_and_parquet(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame(
        {
            "customer_id": [3, 1, 3],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-09"]),
            "amount": [1.0, 2.0, 3.0],
        }
    ).to_parquet(p)
    d = TransactionsSource(path=str(p)).load()
    assert list(d.customers["customer_id"]) == ["3", "1"]  # order of first appearance
    assert (d.transactions["quantity"] == 1.0).all() and (d.transactions["category"] == "unknown").all()
    assert d.reviews is None and d.truth is None


def test_table_mapping(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("k;a;b;flag;junk;label\nx;1.5;red;0;zz;s1\ny;;blue;1;zz;s2\n")
    d = TableSource(
        path=str(p),
        sep=";",
        id_column="k",
        drop_columns=["junk"],
        truth_column="label",
        categorical_columns=["flag"],
    ).load()
    assert list(d.customers.columns) == ["customer_id", "a", "b", "flag"]
    assert d.customers["flag"].tolist() == ["0", "1"]
    assert pd.api.types.is_float_dtype(d.customers["a"]) and np.isnan(d.customers.loc[1, "a"])
    assert d.truth.tolist() == ["s1", "s2"]
    d = TableSource(path=str(p), sep=";").load()  # no id column: row number
    assert d.customers["customer_id"].tolist() == [0, 1]


def test_digits_source():
    d = DigitsSource().load()
    assert d.customers.shape == (1797, 65) and d.truth.nunique() == 10
    assert d.customers.drop(columns="customer_id").to_numpy().max() <= 1.0


def test_tiny_amazon_and_womens_files(tmp_path):
    rows = [
        {
            "overall": 5.0,
            "verified": True,
            "reviewerID": "R1",
            "asin": "a",
            "reviewText": "Nice",
            "summary": "Good",
            "unixReviewTime": 1_600_000_000,
            "vote": "1,200",
        },
        {
            "overall": 5.0,
            "verified": True,
            "reviewerID": "R1",
            "asin": "b",
            "reviewText": "Nice",
            "summary": "Good",
            "unixReviewTime": 1_600_000_000,
        },  # same review on another variant: a duplicate
        {
            "overall": 1.0,
            "verified": False,
            "reviewerID": "R1",
            "asin": "c",
            "reviewText": "Bad",
            "summary": "No",
            "unixReviewTime": 1_600_864_000,
        },
        {
            "overall": 3.0,
            "reviewerID": "R2",
            "asin": "a",
            "reviewText": "Ok",
            "unixReviewTime": 1_600_100_000,
        },
    ]
    p = tmp_path / "beauty.json.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows))
    d = AmazonBeautySource(path=str(p)).load()
    assert d.meta["duplicate_reviews_dropped"] == 1 and len(d.reviews) == 3
    c = d.customers.set_index("customer_id")
    assert c.loc["R1", "n_reviews"] == 2 and c.loc["R1", "gap_mean_days"] == 10.0
    assert c.loc["R1", "votes_total"] == 1200 and c.loc["R1", "verified_share"] == 0.5
    assert np.isnan(c.loc["R2", "rating_std"]) and d.transactions is None
    w = tmp_path / "w.csv"
    w.write_text(
        ",Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,Division Name,"
        "Department Name,Class Name\n0,1,30,Great!,Fits well,5,1,0,General,Tops,Knits\n1,2,40,,,2,0,3,General,Tops,Knits\n"
    )
    d = WomensReviewsSource(path=str(w)).load()
    assert d.n_customers == 2 and d.reviews["text"].tolist() == ["Great! Fits well"]
    assert d.meta["reviews_without_text_dropped"] == 1


@pytest.mark.parametrize("name", sorted(p.stem for p in CONF.glob("data/*.yaml")))
def test_every_data_config_targets_a_source_with_a_name(name):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"data={name}", "model=kmeans"])
    assert isinstance(cfg.data.name, str) and cfg.data.name
    src = (
        instantiate(cfg.data, path="x.csv")
        if OmegaConf.is_missing(cfg.data, "path")
        else instantiate(cfg.data)
    )
    assert src.name == cfg.data.name and callable(src.load)


# --- real datasets -------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_marketing_campaign(shared_data_dir):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["data=marketing_campaign", "model=kmeans"])
    d = instantiate(
        cfg.data, path=str(shared_data_dir / "marketing_campaign" / "marketing_campaign.csv")
    ).load()
    assert d.n_customers == 2240 and d.customers["customer_id"].is_unique
    assert d.customers["Income"].isna().sum() == 24  # left for the imputer
    assert "Dt_Customer_days" in d.customers and d.customers["Dt_Customer_days"].min() == 0
    assert "Z_Revenue" not in d.customers and d.customers["Education"].dtype != float
    assert d.as_of() == pd.Timestamp("2014-06-29")


@pytest.mark.shared_data
def test_mall_customers(shared_data_dir):
    d = TableSource(
        path=str(shared_data_dir / "mall_customers" / "Mall_Customers.csv"), id_column="CustomerID"
    ).load()
    assert d.customers.shape == (200, 5)


@pytest.mark.shared_data
def test_cdnow(shared_data_dir):
    d = CDNOWSource(path=str(shared_data_dir / "cdnow" / "CDNOW_master.txt")).load()
    assert d.n_customers == 23570 and len(d.transactions) == 69659
    assert d.transactions["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert d.as_of() == pd.Timestamp("1998-07-01")
    assert (d.transactions["category"] == "unknown").all()


@pytest.mark.shared_data
def test_usps(shared_data_dir):
    d = USPSSource(path=str(shared_data_dir / "usps" / "usps.h5")).load()
    assert d.customers.shape == (9298, 257) and d.truth.nunique() == 10
    assert d.customers["p000"].dtype == np.float32


@pytest.mark.shared_data
def test_amazon_beauty_dedup(shared_data_dir):
    d = AmazonBeautySource(
        path=str(shared_data_dir / "amazon_all_beauty_5core" / "All_Beauty_5.json.gz")
    ).load()
    assert (d.meta["raw_rows"], len(d.reviews), d.n_customers) == (5269, 1379, 991)
    assert d.meta["reviewers_with_2plus_reviews"] == 137
    assert list(d.reviews.columns) == list(REVIEW_COLUMNS)


@pytest.mark.shared_data
def test_womens_reviews(shared_data_dir):
    d = WomensReviewsSource(
        path=str(shared_data_dir / "womens_clothing_reviews" / "Womens_Clothing_E-Commerce_Reviews.csv.zip"),
        max_rows=500,
    ).load()
    assert d.n_customers == 500 and 400 < len(d.reviews) <= 500
    assert {"Age", "Rating", "Department Name"} <= set(d.customers.columns)
