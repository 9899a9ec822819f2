"""Transaction lines as commerce systems export them: guest rows, prices, cancellations, returns.

A raw log of invoice lines (``InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice,
CustomerID``) is not a clean purchase table. ``LineSpec`` maps its columns and holds one policy
per quirk; each policy is an option of the transactions source, and each error message names
the option (``data.<key>=<value>``) that would handle the case:

- rows without a customer id (guest checkouts): ``missing_customer`` = ``error`` (default) |
  ``drop`` (counted as ``rows_without_customer_dropped``);
- a line amount given (``amount``) or computed as ``unit_price × quantity``
  (``unit_price=UnitPrice``); a zero or negative unit price (adjustments, samples):
  ``nonpositive_price`` = ``error`` | ``drop`` (``nonpositive_price_dropped``);
- cancellations (an ``invoice`` starting with ``cancel_prefix``, ``C`` by default) and returns
  (a negative quantity, or a negative amount): ``returns`` = ``error`` | ``drop``
  (``returns_dropped``) | ``net``;
- dates after today (or after ``reference_date``): ``future_dates`` = ``error`` | ``drop``.

The reasons are tested in that order (id, date, price, return) and each row is counted once,
under the first reason that applies.

Netting (``returns=net``; ``settle_returns``). A cancellation or return row of value
``v = |amount|`` is *item-matched* when its customer bought the same ``item`` (any time in the
data), *spend-matched* when the customer bought something else, and *unmatched* otherwise
(dropped, counted as ``returns_unmatched``). Item-matched values are subtracted from that
customer's purchase lines of the item, latest first, each down to zero at most; what exceeds
those purchases joins the spend-matched values and is subtracted from the customer's remaining
purchase lines of any item, latest first, never below zero; what still remains (returned more
than was ever bought) is counted as ``returned_value_unmatched`` and not netted. A purchase
line's quantity shrinks in proportion to its amount; lines netted to zero are dropped
(``purchase_rows_fully_returned``). The netted rows are kept in ``CustomerData.returns``
(customer, time, the value each netted, kind), from which the return features are computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.data.convert import _blank, customer_ids, fail_rows, numeric, require_columns, texts
from seglab.data.counts import record
from seglab.data.dates import dates, future_limit
from seglab.data.schema import RETURN_COLUMNS, TRANSACTION_COLUMNS
from seglab.errors import ConfigError, DataValidationError

#: |amount| above this is an error: float64 loses cents beyond ~9e15 and sums could overflow
MAX_AMOUNT = 1e15
#: The line policies and their values (``data.<policy>``).
POLICIES = {"missing_customer": ("error", "drop"), "returns": ("error", "drop", "net"),
             "nonpositive_price": ("error", "drop"), "future_dates": ("error", "drop")}


@dataclass
class LineSpec:
    """Which raw column is which, and the policy for each quirk (see the module docstring)."""

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str | None = "amount"
    quantity: str | None = None
    category: str | None = None
    date_format: str | None = None
    date_unit: str | None = None
    unit_price: str | None = None
    invoice: str | None = None
    item: str | None = None
    cancel_prefix: str = "C"
    missing_customer: str = "error"
    returns: str = "error"
    nonpositive_price: str = "error"
    future_dates: str = "error"
    reference_date: str | None = None

    def __post_init__(self) -> None:
        for key, allowed in POLICIES.items():
            value = str(getattr(self, key)).lower()
            if value not in allowed:
                raise ConfigError(f"data.{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
            setattr(self, key, value)
        if self.unit_price is not None and self.quantity is None:
            raise ConfigError("data.unit_price needs data.quantity (the amount is unit_price × quantity)")

    @property
    def columns(self) -> list[str | None]:
        amount = None if self.unit_price is not None else self.amount
        return [self.customer_id, self.timestamp, amount, self.quantity, self.category, self.unit_price,
                self.invoice, self.item]

    @property
    def extra(self) -> list[str]:
        """Helper columns the lines carry until returns are settled."""
        return ["item", "invoice", "kind"]


def _negative_hint() -> str:
    return "data.returns=net (subtract returns from purchases) or data.returns=drop"


def parse_lines(raw: pd.DataFrame, file: str, spec: LineSpec, meta: dict | None = None) -> pd.DataFrame:
    """Raw lines -> canonical columns plus ``item``, ``invoice`` and ``kind`` (``purchase`` |
    ``cancellation`` | ``return``), amounts and quantities of returns kept negative."""
    require_columns(raw, spec.columns, file)
    record(meta, "rows_read", len(raw))
    missing = _blank(raw[spec.customer_id])
    if missing.any():
        if spec.missing_customer == "error":
            fail_rows("missing customer id", file, spec.customer_id, missing, raw[spec.customer_id],
                      hint="data.missing_customer=drop (drops rows without a customer id, counted)")
        record(meta, "rows_without_customer_dropped", int(missing.sum()),
               f"{file}: dropped {int(missing.sum())} row(s) without a customer id (data.missing_customer=drop)")
        raw = raw.loc[~missing]
    out = pd.DataFrame(index=raw.index)
    out["customer_id"] = customer_ids(raw[spec.customer_id], file, spec.customer_id)
    out["timestamp"] = dates(raw[spec.timestamp], file, spec.timestamp, fmt=spec.date_format, allow_missing=False,
                             unit=spec.date_unit, not_after=future_limit(spec.reference_date),
                             future=spec.future_dates, meta=meta,
                             hint="data.future_dates=drop, or data.reference_date=<a later date> if the data is "
                                  "dated ahead on purpose")
    late = out["timestamp"].isna()
    if late.any():
        record(meta, "future_dates_dropped", int(late.sum()), f"{file}: dropped {int(late.sum())} row(s) dated in the future")
        out, raw = out.loc[~late], raw.loc[~late]
    qty = (numeric(raw[spec.quantity], file, spec.quantity, allow_missing=False) if spec.quantity is not None
           else pd.Series(1.0, index=raw.index))
    if spec.unit_price is not None:
        price = numeric(raw[spec.unit_price], file, spec.unit_price, allow_missing=False)
        bad = price <= 0
        if bad.any():
            if spec.nonpositive_price == "error":
                fail_rows(f"zero or negative unit price in column {spec.unit_price!r}", file, spec.unit_price, bad,
                          raw[spec.unit_price], hint="data.nonpositive_price=drop (drops such rows, counted)")
            record(meta, "nonpositive_price_dropped", int(bad.sum()),
                   f"{file}: dropped {int(bad.sum())} row(s) with a zero or negative unit price")
            out, raw, qty, price = out.loc[~bad], raw.loc[~bad], qty.loc[~bad], price.loc[~bad]
        amount = price * qty
        amount_col = spec.unit_price
    else:
        amount = numeric(raw[spec.amount], file, spec.amount, allow_missing=False)
        amount_col = spec.amount
    for col, values in ((amount_col, amount), (spec.quantity, qty)):
        huge = values.abs() > MAX_AMOUNT
        if col is not None and huge.any():
            fail_rows(f"value above {MAX_AMOUNT:.0e} in column {col!r} (float64 loses cents and sums can overflow)",
                      file, col, huge, raw[col])
    cancel = pd.Series(False, index=raw.index)
    if spec.invoice is not None:
        cancel = texts(raw[spec.invoice]).str.startswith(str(spec.cancel_prefix)) & (str(spec.cancel_prefix) != "")
    negative = (amount < 0) | (qty < 0)
    is_return = cancel | negative
    if is_return.any() and spec.returns == "error":
        if spec.unit_price is None and (amount < 0).any():
            fail_rows(f"negative value in column {spec.amount!r} (must be >= 0)", file, spec.amount, amount < 0,
                      raw[spec.amount], hint=_negative_hint())
        if (qty < 0).any():
            fail_rows(f"negative value in column {spec.quantity!r} (must be >= 0)", file, spec.quantity, qty < 0,
                      raw[spec.quantity], hint=_negative_hint())
        fail_rows(f"cancellation (invoice starting with {spec.cancel_prefix!r}) in column {spec.invoice!r}", file,
                  spec.invoice, cancel, raw[spec.invoice], hint=_negative_hint())
    record(meta, "cancellation_rows", int(cancel.sum()))
    record(meta, "return_rows", int((is_return & ~cancel).sum()))
    out["amount"] = amount.astype("float64")
    out["quantity"] = qty.astype("float64")
    if spec.category is None:
        out["category"] = "unknown"
    else:
        cat = texts(raw[spec.category])
        out["category"] = cat.where(cat != "", "unknown")
    out["category"] = out["category"].astype(str)
    out["item"] = texts(raw[spec.item]) if spec.item is not None else ""
    out["invoice"] = texts(raw[spec.invoice]) if spec.invoice is not None else ""
    out["kind"] = np.where(cancel, "cancellation", np.where(is_return, "return", "purchase"))
    if spec.returns == "drop" and is_return.any():
        record(meta, "returns_dropped", int(is_return.sum()),
               f"{file}: dropped {int(is_return.sum())} cancellation/return row(s) (data.returns=drop)")
        out = out.loc[~is_return]
    return out


def _allocate(frame: pd.DataFrame, keys: list[str], amount: str, budget: str) -> pd.Series:
    """What each row gives up when its group's ``budget`` is taken from ``amount``, rows in the
    frame's order first (callers sort latest first): ``clip(budget - earlier, 0, amount)``."""
    cum = frame.groupby(keys, sort=False)[amount].cumsum()
    return (frame[budget] - (cum - frame[amount])).clip(lower=0.0).clip(upper=frame[amount])


def settle_returns(lines: pd.DataFrame, spec: LineSpec, meta: dict | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Canonical purchases and, with ``returns=net``, the netted return rows (see the module
    docstring). ``lines`` are ``parse_lines`` outputs concatenated in file and row order."""
    canonical = list(TRANSACTION_COLUMNS)
    if spec.returns != "net":
        return lines[canonical], None
    lines = lines.reset_index(drop=True)
    buy = lines.loc[lines["kind"] == "purchase", canonical + ["item"]].copy()
    ret = lines.loc[lines["kind"] != "purchase"].copy()
    ret["value"] = ret["amount"].abs()
    ret["qty"] = ret["quantity"].abs()
    if ret.empty or buy.empty:  # nothing to net, or nothing to net against
        for key in ("returns_netted_item", "returns_netted_spend", "purchase_rows_fully_returned",
                    "returned_value_unmatched"):
            record(meta, key, 0)
        record(meta, "returns_unmatched", len(ret),
               f"dropped {len(ret)} cancellation/return row(s) of customers without any purchase to net them against")
        return buy[canonical].reset_index(drop=True), pd.DataFrame({c: ret[c].iloc[:0] for c in RETURN_COLUMNS})
    bought_items = pd.MultiIndex.from_frame(buy[["customer_id", "item"]].drop_duplicates())
    item_match = pd.MultiIndex.from_frame(ret[["customer_id", "item"]]).isin(bought_items)
    if spec.item is None:
        item_match[:] = False
    spend_match = ~item_match & ret["customer_id"].isin(set(buy["customer_id"])).to_numpy()
    ret["match"] = np.where(item_match, "item", np.where(spend_match, "spend", "none"))
    record(meta, "returns_netted_item", int(item_match.sum()))
    record(meta, "returns_netted_spend", int(spend_match.sum()))
    n_none = int((ret["match"] == "none").sum())
    record(meta, "returns_unmatched", n_none,
           f"dropped {n_none} cancellation/return row(s) of customers without any purchase to net them against")

    # 1. item-matched value from the same customer's lines of the same item, latest first
    buy = buy.iloc[::-1].sort_values(["timestamp"], ascending=False, kind="stable")
    r_item = ret[ret["match"] == "item"].groupby(["customer_id", "item"])["value"].sum().rename("r_item")
    buy = buy.join(r_item, on=["customer_id", "item"])
    buy["r_item"] = buy["r_item"].fillna(0.0)
    buy["take1"] = _allocate(buy, ["customer_id", "item"], "amount", "r_item")
    bought = buy.groupby(["customer_id", "item"])["amount"].sum()
    excess = (r_item - bought.reindex(r_item.index)).clip(lower=0.0)
    # 2. the excess and the spend-matched value from the customer's remaining lines, latest first
    pool = pd.concat([excess.groupby(level=0).sum(),
                      ret[ret["match"] == "spend"].groupby("customer_id")["value"].sum()]).groupby(level=0).sum()
    pool = pool.astype("float64")
    buy["left"] = buy["amount"] - buy["take1"]
    buy["pool"] = buy["customer_id"].map(pool).fillna(0.0)
    buy["take2"] = _allocate(buy, ["customer_id"], "left", "pool")
    remaining = buy.groupby("customer_id")["left"].sum()
    unmatched_value = float((pool - remaining.reindex(pool.index).fillna(0.0)).clip(lower=0.0).sum())
    record(meta, "returned_value_unmatched", unmatched_value)

    taken = buy["take1"] + buy["take2"]
    new = buy["amount"] - taken
    full = (taken > 0) & (new.abs() <= 1e-9 * buy["amount"].abs().clip(lower=1.0))
    share = np.where(buy["amount"] > 0, new.clip(lower=0.0) / buy["amount"].where(buy["amount"] > 0, 1.0), 1.0)
    buy["quantity"] = buy["quantity"] * share
    buy["amount"] = new.where(~full, 0.0).clip(lower=0.0)
    record(meta, "purchase_rows_fully_returned", int(full.sum()))
    purchases = buy.loc[~full].sort_index()[canonical].reset_index(drop=True)

    # the value each matched return row netted: its share of its group's takes
    t_item = buy.groupby(["customer_id", "item"])["take1"].sum()
    t_pool = buy.groupby("customer_id")["take2"].sum()
    matched = ret[ret["match"] != "none"].copy()
    keys = pd.MultiIndex.from_frame(matched[["customer_id", "item"]])
    frac1 = (t_item / r_item).reindex(keys).fillna(0.0).to_numpy()
    frac1 = np.where(matched["match"] == "item", frac1, 0.0)
    to_pool = matched["value"].to_numpy() * (1.0 - frac1)
    frac2 = (t_pool / pool.where(pool > 0)).reindex(matched["customer_id"]).fillna(0.0).to_numpy()
    matched["amount"] = matched["value"].to_numpy() * frac1 + to_pool * frac2
    matched["quantity"] = matched["qty"] * np.where(matched["value"] > 0, matched["amount"] / matched["value"]
                                                    .where(matched["value"] > 0, 1.0), 0.0)
    returns = matched[list(RETURN_COLUMNS)].reset_index(drop=True)
    return purchases, returns


def check_spend(n_rows: int, n_nonzero: int, file: str, amount: str | None) -> None:
    """All-zero amounts are an error: the spend features would be constant and silently dropped."""
    if n_rows and not n_nonzero:
        raise DataValidationError(
            f"every amount is 0 ({n_rows} rows): no spend to segment on", file=file, column=amount,
            hint="map data.amount to the spend column, or data.unit_price=<price column> with data.quantity")
