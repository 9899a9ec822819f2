"""A generated invoice-line retail log with every quirk real shop exports have, and its answer key.

The best-known public retail log has the columns ``InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country``, and it is not a clean purchase table: a quarter
of its lines are guest checkouts without a customer id, cancelled invoices start with ``C`` and
carry negative quantities, some returns have no ``C``, some return items the customer never
bought here (or come from customers with no purchase at all), some lines have a zero price
(samples) or a negative one (bad-debt adjustments), and lines repeat exactly. ``retail_log``
writes such a log, with chosen shares of each quirk, and returns ``planted``: how many lines of
each kind it planted, under the counter names of ``seglab.data.counts`` and with the
precedence of ``seglab.data.lines`` (a guest line is counted as a guest line whatever else it
is). Tests and ``scripts/bench_ingest.py`` check that the transactions source, with the options
of ``conf/data/retail.yaml``, counts exactly these numbers.

Nothing here is the real file: items, prices, customers and dates are drawn from a seeded
generator.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
DATE_FORMAT = "%m/%d/%Y %H:%M"
#: share of the log's lines of each quirk (the rest are ordinary purchase lines)
SHARES = {"guest": 0.25, "cancellation": 0.02, "return_item": 0.006, "return_spend": 0.003,
          "return_unmatched": 0.002, "zero_price": 0.004, "negative_price": 0.0005, "duplicate": 0.01}


def retail_log(n_lines: int = 40_000, seed: int = 0) -> tuple[pd.DataFrame, dict[str, int]]:
    """``n_lines`` rows in ``COLUMNS`` (dates as text in ``DATE_FORMAT``, ids as integers or
    empty) in date order, and the planted counts (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_items = 300
    codes = [f"{20000 + i}" + ("ABCDE"[i % 5] if i % 3 == 0 else "") for i in range(n_items)]
    prices = np.round(np.exp(rng.normal(1.0, 0.8, n_items)), 2).clip(0.19, 60)
    start = pd.Timestamp("2010-12-01 08:00")
    span_min = 373 * 24 * 60
    n_quirk = {k: int(round(v * n_lines)) for k, v in SHARES.items()}
    n_plain = n_lines - sum(n_quirk.values())
    n_customers = max(20, n_lines // 60)
    customers = np.arange(12346, 12346 + n_customers)
    countries = np.array(["United Kingdom"] * 8 + ["Germany", "France"])
    rows: list[tuple] = []
    state = {"invoice": 536365}

    def new_invoice(prefix: str = "") -> str:
        state["invoice"] += 1
        return f"{prefix}{state['invoice']}"

    def when(lo: float = 0.0) -> pd.Timestamp:
        return start + pd.Timedelta(minutes=int(lo + rng.integers(0, max(1, int(span_min - lo)))))

    def line(inv, item, qty, t, price, cid, country) -> tuple:
        return (inv, codes[item], f"ITEM {codes[item]}", int(qty), t, float(price), cid, country)

    # ordinary purchase invoices of registered customers (2-12 lines, distinct items)
    bought: dict[int, list[tuple]] = {}
    while len(rows) < n_plain:
        cid = int(rng.choice(customers))
        inv, t, country = new_invoice(), when(), rng.choice(countries)
        for item in rng.choice(n_items, size=int(rng.integers(2, 13)), replace=False)[: n_plain - len(rows)]:
            row = line(inv, int(item), rng.integers(1, 25), t, prices[item], cid, country)
            rows.append(row)
            bought.setdefault(cid, []).append(row)
    buyers = sorted(bought)
    planted: Counter = Counter()

    def purchase_of(cid: int) -> tuple:
        return bought[cid][int(rng.integers(0, len(bought[cid])))]

    def later(t: pd.Timestamp) -> pd.Timestamp:
        return t + pd.Timedelta(minutes=int(rng.integers(30, 20_000)))

    # guest lines: no customer id (some are also returns or zero-priced: still counted as guests)
    for _ in range(n_quirk["guest"]):
        item = int(rng.integers(0, n_items))
        qty, price = rng.integers(1, 30), prices[item]
        if rng.random() < 0.05:
            qty = -qty
        elif rng.random() < 0.03:
            price = 0.0
        rows.append(line(new_invoice("C" if qty < 0 else ""), item, qty, when(), price, None, "United Kingdom"))
    # cancellations: part or all of a purchased line, on a C invoice, later
    for _ in range(n_quirk["cancellation"]):
        inv, code, _, qty, t, price, cid, country = purchase_of(int(rng.choice(buyers)))
        item = codes.index(code)
        rows.append(line(new_invoice("C"), item, -int(rng.integers(1, qty + 1)), later(t), price, cid, country))
    # returns without C of a purchased item (some return more than was bought)
    for _ in range(n_quirk["return_item"]):
        inv, code, _, qty, t, price, cid, country = purchase_of(int(rng.choice(buyers)))
        back = qty + int(rng.integers(1, 5)) if rng.random() < 0.2 else int(rng.integers(1, qty + 1))
        rows.append(line(new_invoice(), codes.index(code), -back, later(t), price, cid, country))
    # returns of an item the customer never bought here
    for _ in range(n_quirk["return_spend"]):
        cid = int(rng.choice(buyers))
        own = {r[1] for r in bought[cid]}
        item = next(i for i in rng.permutation(n_items) if codes[i] not in own)
        rows.append(line(new_invoice(), int(item), -int(rng.integers(1, 6)), when(), prices[item], cid, "United Kingdom"))
    # returns of customers without any purchase
    strangers = np.arange(customers[-1] + 1, customers[-1] + 1 + max(1, n_quirk["return_unmatched"] // 2))
    for _ in range(n_quirk["return_unmatched"]):
        item = int(rng.integers(0, n_items))
        rows.append(line(new_invoice("C"), item, -int(rng.integers(1, 6)), when(), prices[item],
                         int(rng.choice(strangers)), "United Kingdom"))
    # zero prices (samples) and negative prices (bad-debt adjustments) of registered customers
    for _ in range(n_quirk["zero_price"]):
        cid = int(rng.choice(buyers))
        rows.append(line(new_invoice(), int(rng.integers(0, n_items)), rng.integers(1, 10), when(), 0.0, cid,
                         "United Kingdom"))
    for _ in range(n_quirk["negative_price"]):
        row = line(new_invoice("A"), 0, 1, when(), -float(np.round(rng.uniform(50, 5000), 2)), int(rng.choice(buyers)),
                   "United Kingdom")
        rows.append(row[:1] + ("B", "Adjust bad debt") + row[3:])
    # exact repeats of purchase lines
    plain = [r for v in bought.values() for r in v]
    for i in rng.choice(len(plain), size=n_quirk["duplicate"], replace=False):
        rows.append(plain[int(i)])

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame = frame.sort_values("InvoiceDate", kind="stable").reset_index(drop=True)
    frame["InvoiceDate"] = frame["InvoiceDate"].dt.strftime(DATE_FORMAT)
    frame["CustomerID"] = frame["CustomerID"].astype("Int64")
    planted.update(rows_read=len(frame), rows_without_customer_dropped=n_quirk["guest"],
                   nonpositive_price_dropped=n_quirk["zero_price"] + n_quirk["negative_price"],
                   cancellation_rows=n_quirk["cancellation"] + n_quirk["return_unmatched"],
                   return_rows=n_quirk["return_item"] + n_quirk["return_spend"],
                   returns_netted_item=n_quirk["cancellation"] + n_quirk["return_item"],
                   returns_netted_spend=n_quirk["return_spend"], returns_unmatched=n_quirk["return_unmatched"],
                   transactions_duplicates_dropped=n_quirk["duplicate"])
    return frame, dict(planted)


def write_retail_log(path, n_lines: int = 40_000, seed: int = 0) -> dict[str, int]:
    """Write ``retail_log`` to ``path`` (``.csv``, ``.csv.gz`` or ``.xlsx``); return the planted
    counts. In ``.xlsx`` dates are date cells and ids numbers, as spreadsheet exports have them."""
    from pathlib import Path

    frame, planted = retail_log(n_lines, seed)
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        frame = frame.assign(InvoiceDate=pd.to_datetime(frame["InvoiceDate"], format=DATE_FORMAT))
        frame.to_excel(path, index=False, sheet_name="Online Retail")
    else:
        frame.to_csv(path, index=False)
    return planted
