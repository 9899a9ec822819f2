"""One request's raw events turned into the run's feature rows without pandas (a server's fast path).

``SegmentationPipeline.features`` on one customer's events spends tens of milliseconds around
the arithmetic: the data source's validation (``transactions_frame``), ``build_features``'
groupbys, the spec's category shares and attribute frames, each a handful of pandas frames. A
server answering one customer per request pays that every time. `EventFeatures` computes the same
columns for a few customers in plain Python and numpy, from what the run's `FeatureSpec`
recorded (reference date, trend window, training categories and their weighting, attribute
encodings, text columns):

- purchases are the events grouped by (customer, exact timestamp), as ``build_features`` does:
  recency and tenure from the last and first purchase, frequency, total and mean spend, the
  mean and sample standard deviation of the gaps between purchases, the mean quantity per
  purchase, the spend trend (log1p of the last window's spend minus that of the window before);
- category shares over the event rows (by count or amount, as in training; categories the run
  never saw count in the total and in its ``other`` column when it had one);
- attributes are absent from events (NaN, or no level of a one-hot attribute) and so are review
  scores (NaN, zero reviews), as the spec gives them for such input.

Timestamps are truncated to microseconds, as the data source stores them. ``features`` returns
``None`` -- the caller takes the general path, with its checks and its error messages -- for
anything it does not reproduce exactly: reviews, a value the data source would refuse or read
differently (a negative, missing or non-numeric amount, a timestamp that is not plain ISO
``YYYY-MM-DD[ HH:MM:SS[.f]]`` in one shape for the whole request (with or without a
time, with or without a fraction), a date before 1970, after
2261 or in the future, a quantity on some events only, a category that is not text), an id
that is not a plain string or integer, a customer without events, a run with features it does
not build (returns, a precomputed table), and requests above ``max_events`` events (the
vectorised general path is faster there).
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np

from seglab.data.dates import future_limit
from seglab.data.lines import MAX_AMOUNT  # the data source refuses amounts above it

log = logging.getLogger("seglab")

NS_PER_DAY = 86_400 * 10**9
_ISO = re.compile(r"(19[7-9]\d|2[01]\d\d|22[0-5]\d|226[01])-\d\d-\d\d(?:[ T]\d\d:\d\d:\d\d(?:\.\d{1,9})?)?")
_US = np.dtype("datetime64[us]")


class NotCompilable(Exception):
    """The run builds a feature this module does not (the message says which)."""


class EventFeatures:
    """A fitted `FeatureSpec` ready to turn a few customers' events into model rows (module docstring).

    Args:
        spec: the run's `FeatureSpec`.
        columns: the columns to return, in order (the pipeline's ``feature_columns``).
        max_events: requests with more events take the general path.
    """

    def __init__(self, spec: Any, columns: list[str], max_events: int = 2000) -> None:
        from seglab.features import TRANSACTION_FEATURES
        from seglab.text.aggregate import COUNT_COLUMN, MASK_COLUMN

        if spec.precomputed:
            raise NotCompilable("the run clustered a precomputed feature table")
        if not spec.transaction_columns:
            raise NotCompilable("the run has no transaction features")
        other = [c for c in spec.transaction_columns if c not in TRANSACTION_FEATURES]
        if other:
            raise NotCompilable(f"transaction feature(s) {', '.join(other)}")
        self.columns = list(columns)
        self.max_events = int(max_events)
        self.window = float(spec.options.get("trend_window_days", 90))
        self.by_amount = spec.options.get("category_weight") == "amount"
        self.reference = spec.reference_date
        names = {c: f"cat_share_{c}" for c in spec.categories}
        self.share_of = names
        self.other = next((c for c in spec.category_columns if c not in names.values()), None)
        self.category_columns = list(spec.category_columns)
        constant: dict[str, float] = {}
        absent_inputs = []
        for col, enc in spec.attributes.items():
            if enc["kind"] == "onehot":
                outs = [*enc["names"], *([enc["other"]] if enc.get("other") else [])]
                constant.update({name: 0.0 for name in outs})
            else:
                outs = [enc["name"]]
                constant[enc["name"]] = math.nan
            if any(name not in spec.profile_only for name in outs):
                absent_inputs.append(col)
        self.absent_inputs = absent_inputs
        for col in spec.text_columns:
            constant[col] = 0.0 if col in (COUNT_COLUMN, MASK_COLUMN) else math.nan
        self.constant = constant
        known = set(TRANSACTION_FEATURES) | set(self.category_columns) | set(constant)
        unknown = [c for c in self.columns if c not in known]
        if unknown:
            raise NotCompilable(f"feature column(s) {', '.join(unknown)}")

    # --- the request --------------------------------------------------------------------------
    def features(self, records: list[dict[str, Any]], reference_date: str | None = None,
                 ) -> tuple[list[str], np.ndarray] | None:
        """``(ids as text, rows)`` for event records (``{"customer_id", "events": [...]}``), one
        row per customer in order of first appearance, columns as ``self.columns``; ``None``
        for a request the general path must take (module docstring)."""
        parsed = self._parse(records)
        if parsed is None:
            return None
        ids, events = parsed
        try:
            stamps = np.array([e[0] for e in events], dtype=_US).astype("datetime64[ns]").view(np.int64)
        except ValueError:  # 2024-02-30: the general path names it
            return None
        if stamps.max() > future_limit(None).value:
            return None  # the data source refuses dates in the future (its message)
        as_of = self._as_of(reference_date, int(stamps.max()))
        if as_of is None:
            return None
        late = int((stamps > as_of).sum())
        if late:
            log.warning("%d transactions are after the reference date %s (recency and trend measured from "
                        "it); use the new data's own date with reference_date=data", late,
                        np.datetime64(as_of, "ns").astype("datetime64[D]"))
        if self.absent_inputs:
            log.warning("the new data has no %s (clustering inputs of the run): left missing, imputed by the "
                        "preprocessor", ", ".join(self.absent_inputs))
        rows = np.empty((len(ids), len(self.columns)), dtype=np.float64)
        position = {cid: i for i, cid in enumerate(ids)}
        per_customer: list[list[int]] = [[] for _ in ids]
        for j, e in enumerate(events):
            per_customer[position[e[4]]].append(j)
        for i, taken in enumerate(per_customer):
            values = self._customer([events[j] for j in taken], stamps[taken], as_of)
            rows[i] = [values[c] if c in values else self.constant[c] for c in self.columns]
        return ids, rows

    def _parse(self, records: list[dict[str, Any]]) -> tuple[list[str], list[tuple]] | None:
        """``(ids, events as (timestamp text, amount, quantity, category, id))`` or None."""
        ids: list[str] = []
        seen: set[str] = set()
        events: list[tuple] = []
        shape = None
        with_quantity = without_quantity = False
        for rec in records:
            if not isinstance(rec, dict):
                return None
            cid = rec.get("customer_id")
            if type(cid) is str:
                if not cid or cid != cid.strip():
                    return None
            elif type(cid) is not int:
                return None
            cid = str(cid)
            if rec.get("reviews") or not rec.get("events") or not isinstance(rec["events"], list):
                return None
            if cid not in seen:
                seen.add(cid)
                ids.append(cid)
            for e in rec["events"]:
                if not isinstance(e, dict):
                    return None
                stamp, amount = e.get("timestamp"), e.get("amount")
                if type(stamp) is not str or type(amount) not in (float, int):
                    return None
                stamp = stamp.strip()
                if not _ISO.fullmatch(stamp):
                    return None
                if shape is None:  # pandas infers one format for the column: other shapes would not parse
                    shape = (stamp[10:11], len(stamp) > 19)
                elif shape != (stamp[10:11], len(stamp) > 19):
                    return None
                if not 0.0 <= amount <= MAX_AMOUNT:  # negative (a return), NaN, inf, huge: refused
                    return None
                quantity = e.get("quantity")
                if quantity is None:
                    without_quantity = True
                    quantity = 1.0
                elif type(quantity) in (float, int) and 0.0 <= quantity <= MAX_AMOUNT:
                    with_quantity = True
                else:
                    return None
                category = e.get("category")
                if category is None:
                    category = "unknown"
                elif type(category) is str:
                    category = category.strip() or "unknown"
                else:
                    return None
                events.append((stamp[:26], float(amount), float(quantity), category, cid))
                if len(events) > self.max_events or (with_quantity and without_quantity):
                    return None
        return (ids, events) if events else None

    def _as_of(self, reference_date: str | None, last_ns: int) -> int | None:
        """``FeatureSpec.resolve_reference`` in nanoseconds: the run's date, the data's own (the
        day after the last event), or the date given; None for what it would refuse."""
        import pandas as pd

        if reference_date in (None, "training") and self.reference:
            return int(pd.Timestamp(self.reference).value)
        if reference_date in (None, "training", "data"):
            return (last_ns // NS_PER_DAY + 1) * NS_PER_DAY
        try:
            day = pd.Timestamp(reference_date)
        except (ValueError, TypeError):
            return None
        return None if day is pd.NaT or day.tz is not None else int(day.value)

    def _customer(self, events: list[tuple], stamps: np.ndarray, as_of: int) -> dict[str, float]:
        """One customer's transaction features and category shares (module docstring)."""
        amounts = np.array([e[1] for e in events])
        quantities = np.array([e[2] for e in events])
        order = np.argsort(stamps, kind="stable")
        times, start = np.unique(stamps[order], return_index=True)
        spend = np.add.reduceat(amounts[order], start)
        items = np.add.reduceat(quantities[order], start)
        n = len(times)
        total = float(spend.sum())
        out = {"recency_days": float(as_of - times[-1]) / NS_PER_DAY, "frequency": float(n),
               "monetary_total": total, "monetary_mean": total / n,
               "tenure_days": float(as_of - times[0]) / NS_PER_DAY, "basket_size": float(items.mean())}
        gaps = np.diff(times).astype(np.float64) / NS_PER_DAY
        out["gap_mean_days"] = float(gaps.mean()) if len(gaps) else math.nan
        out["gap_std_days"] = float(gaps.std(ddof=1)) if len(gaps) > 1 else math.nan
        age = (as_of - times).astype(np.float64) / NS_PER_DAY
        recent = spend[age < self.window].sum()
        past = spend[(age >= self.window) & (age < 2 * self.window)].sum()
        out["spend_trend"] = float(np.log1p(recent) - np.log1p(past))
        if self.category_columns:
            weights: dict[str, float] = {}
            for e in events:
                name = self.share_of.get(e[3], self.other or "__unseen__")
                weights[name] = weights.get(name, 0.0) + (e[1] if self.by_amount else 1.0)
            whole = sum(weights.values())
            for col in self.category_columns:
                out[col] = weights.get(col, 0.0) / whole if whole > 0 else 0.0
        return out


def compile_events(pipe: Any) -> EventFeatures | None:
    """``pipe``'s feature building for small event requests, or None (reason in
    ``pipe.__dict__["_fast_events_off"]``) when the run builds features this module does not."""
    try:
        return EventFeatures(pipe.spec_, pipe.feature_columns)
    except NotCompilable as err:
        pipe.__dict__["_fast_events_off"] = str(err)
        return None
