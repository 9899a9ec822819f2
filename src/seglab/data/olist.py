"""Olist (Brazilian e-commerce) as a relational export: orders, items, payments, customers,
products with translated categories, reviews. A preset for the relational source pattern.

The files of the public release join on keys (the folder's default names below)::

    orders (order_id, customer_id, order_status, order_purchase_timestamp)
      ├── customers (customer_id -> customer_unique_id, customer_state)   one row per ORDER's customer
      ├── items     (order_id, product_id, price, freight_value)          one row per item
      │     └── products (product_id -> product_category_name) -> translation (-> ..._english)
      ├── payments  (order_id, payment_type, payment_installments)
      └── reviews   (order_id, review_score, review_comment_title, review_comment_message, review_creation_date)

Olist gives every order a new ``customer_id``; the person is ``customer_unique_id``, which is
the customer here. Each item line is a transaction: time = the order's purchase time, amount =
``price + freight_value`` (what the line cost the customer; it matches the order's payments in
99.6% of the sample's orders), category = the product category in English (the
Portuguese name where the translation lacks it, ``unknown`` without a category), item = the
product, invoice = the order. Units of one product in one order (numbered ``order_item_id``
lines) are one line with their number as quantity. Orders with status ``canceled`` or ``unavailable`` follow
``returns``: ``drop`` (default: their lines are dropped, counted as ``returns_dropped``),
``net`` (each line is cancelled by a matching negative line, so the return features count them),
or ``error``.

Customer attributes (profile-only next to the transactions, ``features.build.attributes``):
``customer_state``, the mean number of payment installments, the most used payment type and the
mean review score (over every review, with or without text). Reviews: title and message joined,
score as rating, the review's creation date as time; reviews without text are dropped (counted).
The text is Portuguese: the packaged English MiniLM is the wrong model for it (``docs/data.md``
says what to use instead, ``experiments/ingest.md`` measures how far its scores are from the
stars).

What the behaviour features can show here: the 4,000-order sample has almost no repeat buyers
(2 of 3,998), so ``frequency`` is 1, ``tenure_days`` equals ``recency_days`` and the gaps are
missing for nearly everyone; segments come from when, how much, how many items, which
categories, and the review text, not from purchase rhythm or loyalty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seglab.data.base import DataSource, as_list
from seglab.data.counts import record
from seglab.data.lines import LineSpec, check_spend, parse_lines, settle_returns
from seglab.data.read import read_frame
from seglab.data.repairs import drop_exact_duplicates
from seglab.data.schema import CustomerData
from seglab.data.tables import reviews_frame
from seglab.data.validate import require_columns, validate_customer_data
from seglab.errors import DataValidationError

FILES = {
    "orders": "olist_orders_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
    "products": "olist_products_dataset.csv",
    "categories": "product_category_name_translation.csv",
}


class OlistSource(DataSource):
    """Load an Olist export (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: the folder holding the files.
        files: file names by role (``orders``, ``customers``, ``items``, ``payments``,
            ``reviews``, ``products``, ``categories``), relative to ``path``; missing roles get
            the release's names. ``reviews``/``payments``/``products``/``categories`` may be
            ``null`` to leave them out.
        cancelled_statuses: order statuses that mean the order did not happen.
        returns: ``drop`` | ``net`` | ``error`` for the lines of such orders.
        review_text: review columns joined into the text.
        encoding: text encoding of the files (``None`` = UTF-8).
    """

    def __init__(self, name: str = "olist", path: str | None = None, files: dict | None = None,
                 cancelled_statuses: list[str] | None = None, returns: str = "drop",
                 review_text: list[str] | None = None, encoding: str | None = None) -> None:
        self.name = name
        self.path = path
        self.files = {**FILES, **dict(files or {})}
        self.cancelled_statuses = as_list(cancelled_statuses) or ["canceled", "unavailable"]
        self.returns = returns
        self.review_text = as_list(review_text) or ["review_comment_title", "review_comment_message"]
        self.encoding = encoding

    def _read(self, role: str, str_columns: list[str], meta: dict) -> pd.DataFrame | None:
        name = self.files.get(role)
        if not name:
            return None
        return read_frame(Path(str(self.path)) / name, str_columns=str_columns, what=f"olist {role} file",
                          encoding=self.encoding, meta=meta)

    def load(self) -> CustomerData:
        from seglab.errors import ConfigError

        if not self.path:
            raise ConfigError("data.path is required for the olist source (the folder of the export's CSV files)")
        meta: dict = {"path": str(self.path)}
        orders = self._read("orders", ["order_id", "customer_id"], meta)
        customers = self._read("customers", ["customer_id", "customer_unique_id"], meta)
        items = self._read("items", ["order_id", "product_id"], meta)
        f = {role: str(Path(str(self.path)) / str(n)) for role, n in self.files.items() if n}
        require_columns(orders, ["order_id", "customer_id", "order_status", "order_purchase_timestamp"], f["orders"])
        require_columns(customers, ["customer_id", "customer_unique_id"], f["customers"])
        require_columns(items, ["order_id", "product_id", "price", "freight_value"], f["items"])
        person = customers.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
        orders = orders.assign(person=orders["customer_id"].map(person))
        unknown = orders["person"].isna()
        if unknown.any():
            raise DataValidationError(f"order of a customer_id absent from the customers file ({int(unknown.sum())} "
                                      "row(s))", file=f["orders"], column="customer_id",
                                      rows=list(np.flatnonzero(unknown)[:5]))
        record(meta, "orders_without_items", int((~orders["order_id"].isin(items["order_id"])).sum()))
        lines = items.merge(orders[["order_id", "person", "order_status", "order_purchase_timestamp"]],
                            on="order_id", how="inner", validate="many_to_one")
        lines["amount"] = pd.to_numeric(lines["price"], errors="coerce") + pd.to_numeric(lines["freight_value"],
                                                                                        errors="coerce")
        lines["category"] = self._categories(lines["product_id"], meta)
        # units of one product in one order are numbered lines (order_item_id 1, 2...): one line, quantity n
        keys = ["order_id", "product_id", "person", "order_status", "order_purchase_timestamp", "category"]
        lines = lines.groupby(keys, sort=False, dropna=False).agg(amount=("amount", "sum"),
                                                                   quantity=("amount", "size")).reset_index()
        lines["quantity"] = lines["quantity"].astype("float64")
        cancelled = lines["order_status"].isin(self.cancelled_statuses)
        n_cancelled = int(cancelled.sum())
        if self.returns == "net":  # each line of a cancelled order is undone by a cancellation line
            undo = lines[cancelled].assign(amount=lambda d: -d["amount"], quantity=lambda d: -d["quantity"],
                                           order_id=lambda d: "C" + d["order_id"])
            lines = pd.concat([lines, undo], ignore_index=True)
        elif self.returns == "drop":
            record(meta, "cancellation_rows", n_cancelled)
            record(meta, "returns_dropped", n_cancelled, f"{f['items']}: dropped {n_cancelled} item line(s) of "
                   f"orders with status {'/'.join(self.cancelled_statuses)}")
            lines = lines[~cancelled]
        else:  # error: parse_lines names the first cancelled order's lines and the options
            lines.loc[cancelled, "order_id"] = "C" + lines.loc[cancelled, "order_id"]
        spec = LineSpec(customer_id="person", timestamp="order_purchase_timestamp", amount="amount",
                        quantity="quantity", category="category", invoice="order_id", item="product_id",
                        returns=self.returns)
        # rows in messages are those of the item lines joined with their orders, not of one file
        joined = f"{f['items']} joined with {Path(f['orders']).name}"
        parsed = parse_lines(lines.reset_index(drop=True), joined, spec, meta)
        parsed, n_dup = drop_exact_duplicates(parsed)
        record(meta, "transactions_duplicates_dropped", n_dup)
        tx, returns = settle_returns(parsed, spec, meta)
        check_spend(len(tx), int((tx["amount"] > 0).sum()), f["items"], "price")
        population = pd.Index(pd.unique(tx["customer_id"]), name="customer_id")
        attrs = self._attributes(orders, customers, population, meta)
        reviews = self._reviews(orders, population, meta)
        data = CustomerData(name=self.name, customers=attrs, transactions=tx.reset_index(drop=True), reviews=reviews,
                            meta=meta, returns=returns)
        return validate_customer_data(data)

    def _categories(self, product_ids: pd.Series, meta: dict) -> pd.Series:
        products = self._read("products", ["product_id"], meta)
        if products is None:
            return pd.Series("unknown", index=product_ids.index)
        names = products.drop_duplicates("product_id").set_index("product_id")["product_category_name"]
        translation = self._read("categories", [], meta)
        if translation is not None:
            english = translation.set_index("product_category_name")["product_category_name_english"]
            names = names.map(english).fillna(names)
        return product_ids.map(names).fillna("unknown").astype(str)

    def _attributes(self, orders, customers, population, meta) -> pd.DataFrame:
        out = pd.DataFrame({"customer_id": population.astype(str)})
        first = customers.drop_duplicates("customer_unique_id").set_index("customer_unique_id")
        if "customer_state" in first.columns:
            out["customer_state"] = out["customer_id"].map(first["customer_state"])
        person = orders.set_index("order_id")["person"]
        payments = self._read("payments", ["order_id"], meta)
        if payments is not None:
            payments = payments.assign(person=payments["order_id"].map(person)).dropna(subset=["person"])
            g = payments.groupby("person")
            out["payment_installments_mean"] = out["customer_id"].map(
                pd.to_numeric(payments["payment_installments"], errors="coerce").groupby(payments["person"]).mean())
            out["payment_type"] = out["customer_id"].map(g["payment_type"].agg(lambda s: s.value_counts().index[0]))
        reviews = self._read("reviews", ["order_id"], meta)
        if reviews is not None:
            score = pd.to_numeric(reviews["review_score"], errors="coerce")
            out["review_score_mean"] = out["customer_id"].map(score.groupby(reviews["order_id"].map(person)).mean())
        return out

    def _reviews(self, orders, population, meta) -> pd.DataFrame | None:
        raw = self._read("reviews", ["order_id", "review_id"], meta)
        if raw is None:
            return None
        file = str(Path(str(self.path)) / self.files["reviews"])
        raw = raw.assign(person=raw["order_id"].map(orders.set_index("order_id")["person"]))
        orphan = raw["person"].isna()
        if orphan.any():
            raise DataValidationError(f"review of an order absent from the orders file ({int(orphan.sum())} row(s))",
                                      file=file, column="order_id", rows=list(np.flatnonzero(orphan)[:5]))
        reviews = reviews_frame(raw, file, customer_id="person", text=self.review_text, timestamp="review_creation_date",
                                rating="review_score", meta=meta)
        known = reviews["customer_id"].isin(population)
        record(meta, "reviews_unknown_customer_dropped", int((~known).sum()))  # their orders were cancelled
        return reviews.loc[known].reset_index(drop=True)
