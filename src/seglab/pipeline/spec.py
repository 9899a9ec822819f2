"""The fitted part of feature building: what a run learnt from its data besides the numbers.

`seglab.features.build_features` decides some things from the data it is given: the reference
date (the day after the last event), which categories get a share column (the most frequent),
which levels of a categorical attribute get a one-hot column, which text attributes look like
ids, and the start of the observation window (the recency of customers without transactions).
Built again on a batch of new customers, those choices would follow the batch: one customer
with a single category would get no share column at all. `FeatureSpec` records the training
run's choices (``from_training``) and ``build`` applies them to any `CustomerData`, so new
customers get exactly the columns, in the meaning, the preprocessor and model were fitted on.

``build`` calls ``build_features`` for the transaction features themselves (the reference
implementation, every engine) with share columns and attributes off, then adds the category
shares of the training categories, the attributes with the training levels, the text features
(`seglab.text.build_text_features`, the run's text featurizer), and finally the training
column order. On the training data it gives the training features (tested).

Reference date: the training run's by default (``reference_date``): assigning a customer
tomorrow measures recency against the same day the segments were fitted on. ``build(data,
reference_date="data")`` uses the new data's own (the day after its last event), an explicit
date string that date.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from seglab.errors import ConfigError

log = logging.getLogger("seglab")

_DAY = pd.Timedelta(days=1)
SHARE_PREFIX = "cat_share_"


@dataclass
class FeatureSpec:
    """The training run's feature-building choices (plain JSON; see the module docstring)."""

    options: dict[str, Any]  # features.build options
    engine: str = "auto"
    engine_options: dict[str, Any] = field(default_factory=dict)
    reference_date: str | None = None  # ISO timestamp of the training run's "as of"
    data_start: str | None = None  # first training transaction (recency of customers without any)
    columns: list[str] = field(default_factory=list)  # every feature column, training order
    profile_only: list[str] = field(default_factory=list)
    transaction_columns: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # categories with a share column
    category_columns: list[str] = field(default_factory=list)  # share columns, "other" included
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # customers column -> encoding
    text: dict[str, Any] | None = None  # the resolved text config (None: no text features)
    text_columns: list[str] = field(default_factory=list)
    precomputed: bool = False  # the run read a feature table: new input must be one too

    # --- learning the spec ----------------------------------------------------------------------
    @classmethod
    def from_training(cls, data: Any, features: pd.DataFrame, options: dict[str, Any], engine: str = "auto",
                      engine_options: dict | None = None, text: dict | None = None) -> FeatureSpec:
        """The choices ``build_features`` (and the text featurizer) made on the training ``data``,
        read from the features frame they produced."""
        from seglab.features import TRANSACTION_FEATURES

        info = features.attrs.get("features", {})
        columns = [str(c) for c in features.columns]
        spec = cls(options=dict(options), engine=engine, engine_options=dict(engine_options or {}),
                   reference_date=pd.Timestamp(data.as_of()).isoformat(), columns=columns,
                   profile_only=[str(c) for c in info.get("profile_only", [])],
                   precomputed=bool(info.get("precomputed", False)))
        if spec.precomputed:
            return spec
        spec.text_columns = [c for c in columns if c.startswith("text_")] if text else []
        spec.text = dict(text) if spec.text_columns else None
        spec.categories = [str(c) for c in info.get("top_categories", [])]
        spec.category_columns = [c for c in columns if c.startswith(SHARE_PREFIX)]
        core = set(TRANSACTION_FEATURES) | {"return_rate", "return_value_share", "cancellations"}
        spec.transaction_columns = [c for c in columns if c in core]
        tx = data.transactions
        if tx is not None and len(tx):
            from seglab.data.lazy import is_lazy

            spec.data_start = pd.Timestamp(tx.timestamp("min") if is_lazy(tx) else tx["timestamp"].min()).isoformat()
        taken = set(spec.transaction_columns) | set(spec.category_columns)
        spec.attributes = _attribute_spec(data.customers, set(columns), taken, info.get("attributes_one_hot", {}))
        return spec

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FeatureSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @property
    def model_columns(self) -> list[str]:
        """The columns the preprocessor reads (profile-only ones left out)."""
        return [c for c in self.columns if c not in set(self.profile_only)]

    # --- applying it ----------------------------------------------------------------------------
    def resolve_reference(self, data: Any, reference_date: str | None = None) -> pd.Timestamp:
        """``None``/``"training"``: the run's date; ``"data"``: ``data``'s own; else that date."""
        if reference_date in (None, "training"):
            return pd.Timestamp(self.reference_date) if self.reference_date else pd.Timestamp(data.as_of())
        if reference_date == "data":
            return pd.Timestamp(dataclasses.replace(data, reference_date=None).as_of())
        try:
            return pd.Timestamp(reference_date)
        except (ValueError, TypeError):
            raise ConfigError(f"reference date {reference_date!r} is not a date (training | data | YYYY-MM-DD)") from None

    def build(self, data: Any, reference_date: str | None = None, text_runner: Any = None) -> pd.DataFrame:
        """The features of ``data`` in the training run's columns and meaning (module docstring)."""
        if self.precomputed:
            raise ConfigError("this run clustered a precomputed feature table: give new customers as a feature "
                              f"table with the columns {', '.join(self.model_columns)}")
        as_of = self.resolve_reference(data, reference_date)
        data = dataclasses.replace(data, reference_date=as_of)
        ids = data.customer_ids
        parts = [self._transactions(data, as_of)]
        parts.append(self._attributes(data.customers, as_of))
        if self.text_columns:
            parts.append(self._text(data, text_runner))
        out = pd.concat([p for p in parts if p is not None and p.shape[1]], axis=1)
        missing = [c for c in self.columns if c not in out.columns]
        if missing:
            raise ConfigError(f"the new data gives no {', '.join(missing)} (the run was trained with them: "
                              "check that the input has the same kinds of data, e.g. netted returns)")
        out = out[self.columns].astype("float64")
        out.index = pd.Index(ids, name="customer_id")
        out.attrs["features"] = {"profile_only": list(self.profile_only), "as_of": as_of.isoformat()}
        return out

    def _transactions(self, data: Any, as_of: pd.Timestamp) -> pd.DataFrame | None:
        from seglab.features import TRANSACTION_FEATURES, build_features
        from seglab.features.build import fill_customers_without_transactions

        if not self.transaction_columns:
            return None
        ids = data.customer_ids
        tx = data.transactions
        start = pd.Timestamp(self.data_start) if self.data_start else as_of
        if tx is None or not len(tx):
            empty = pd.DataFrame(columns=list(TRANSACTION_FEATURES), dtype="float64")
            core = fill_customers_without_transactions(empty, ids, as_of, start, {})
        else:
            from seglab.data.lazy import is_lazy

            options = {**self.options, "top_categories": 0, "attributes": "none"}
            # the training engine for data on disk; new customers in memory (a batch, a request)
            # take the in-memory path rather than starting DuckDB or Spark (same features either way)
            engine = self.engine if is_lazy(tx) else "auto"
            core = build_features(data, engine=engine, engine_options=self.engine_options, **options)
            core = core.reset_index(drop=True)
            late = int((tx["timestamp"] > as_of).sum()) if "timestamp" in getattr(tx, "columns", []) else 0
            if late:
                log.warning("%d transactions are after the reference date %s (recency and trend measured from "
                            "it); use the new data's own date with reference_date=data", late, as_of.date())
        none = core["frequency"].to_numpy() == 0  # the training window's start, not the batch's
        core.loc[none, "recency_days"] = (as_of - start) / _DAY
        parts = [core.set_axis(pd.RangeIndex(len(core)))]
        if self.category_columns:
            parts.append(self._shares(tx, ids))
        return pd.concat(parts, axis=1)

    def _shares(self, tx: pd.DataFrame | None, ids: pd.Index) -> pd.DataFrame:
        """Shares of the training categories (rows or spend); categories the run never saw count
        in the total and in the ``other`` column when the run had one."""
        names = {c: f"{SHARE_PREFIX}{c}" for c in self.categories}
        other = next((c for c in self.category_columns if c not in names.values()), None)
        if tx is None or not len(tx):
            return pd.DataFrame(0.0, index=pd.RangeIndex(len(ids)), columns=self.category_columns)
        if not isinstance(tx, pd.DataFrame):
            tx, _ = tx.to_pandas_with_returns()
        tx = tx[tx["customer_id"].isin(ids)]
        cat = tx["category"].astype(str).map(names).fillna(other or "__unseen__")
        w = tx["amount"] if self.options.get("category_weight") == "amount" else pd.Series(1.0, index=tx.index)
        table = w.groupby([tx["customer_id"], cat], sort=False).sum().unstack(fill_value=0.0)
        total = table.sum(axis=1)
        table = table.reindex(columns=self.category_columns, fill_value=0.0)
        shares = table.div(total.where(total > 0), axis=0).fillna(0.0)
        return shares.reindex(ids, fill_value=0.0).reset_index(drop=True)

    def _attributes(self, customers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        """Attribute columns with the training encoding; a column the new data lacks is missing
        (NaN, or no level for one-hot), never an error: attributes are often profile-only."""
        n = len(customers)
        cols: dict[str, np.ndarray] = {}
        absent = []
        for col, enc in self.attributes.items():
            if col not in customers.columns:
                absent.append(col)
                s = pd.Series([None] * n, dtype="object")
            else:
                s = customers[col].reset_index(drop=True)
            kind = enc["kind"]
            if kind == "onehot":
                text = s.map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
                for level, name in zip(enc["levels"], enc["names"], strict=True):
                    cols[name] = (text == level).to_numpy(dtype="float64")
                if enc.get("other"):
                    cols[enc["other"]] = (text.notna() & ~text.isin(enc["levels"])).to_numpy(dtype="float64")
            elif kind == "datetime":
                stamps = pd.to_datetime(s, errors="coerce")
                cols[enc["name"]] = ((as_of - stamps) / _DAY).to_numpy(dtype="float64")
            else:
                cols[enc["name"]] = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
        inputs = [c for c in absent if any(n not in self.profile_only for n in _names(self.attributes[c]))]
        if inputs and n:
            log.warning("the new data has no %s (clustering inputs of the run): left missing, imputed by the "
                        "preprocessor", ", ".join(inputs))
        return pd.DataFrame(cols, index=pd.RangeIndex(n))

    def _text(self, data: Any, runner: Any) -> pd.DataFrame:
        from seglab.text import build_text_features
        from seglab.text.aggregate import COUNT_COLUMN, MASK_COLUMN

        ids = data.customer_ids
        frame = None
        if data.reviews is not None and len(data.reviews):
            frame = build_text_features(data, self.text, runner=runner)
        if frame is None:  # no reviews in this batch: no scores, the mask says so
            frame = pd.DataFrame(np.nan, index=ids, columns=self.text_columns)
            frame[COUNT_COLUMN] = 0.0
            frame[MASK_COLUMN] = 0.0
        return frame.reindex(columns=self.text_columns).reset_index(drop=True)


def _names(enc: dict[str, Any]) -> list[str]:
    return [*enc.get("names", []), *([enc["other"]] if enc.get("other") else []), *([enc["name"]] if "name" in enc else [])]


def _attribute_spec(customers: pd.DataFrame, columns: set[str], taken: set[str],
                    one_hot: dict[str, list[str]]) -> dict[str, dict]:
    """How each customers column became feature columns in the training run (dropped ones left out)."""
    spec: dict[str, dict] = {}
    for col in customers.columns:
        if col == "customer_id":
            continue
        s = customers[col]
        if str(col) in one_hot:
            names = list(one_hot[str(col)])
            other = f"{col}=other"
            kept = [n for n in names if n != other]
            spec[str(col)] = {"kind": "onehot", "names": kept, "levels": [n[len(str(col)) + 1:] for n in kept],
                              "other": other if other in names else None}
            continue
        base = f"{col}_days" if ptypes.is_datetime64_any_dtype(s) else str(col)
        name = f"attr_{base}" if base in taken else base  # build_features' rule for a name clash
        if name not in columns or not (ptypes.is_numeric_dtype(s) or ptypes.is_bool_dtype(s) or ptypes.is_datetime64_any_dtype(s)):
            continue  # screened out (privacy), skipped as id-like, or not an attribute feature
        spec[str(col)] = {"kind": "datetime" if ptypes.is_datetime64_any_dtype(s) else "numeric", "name": name}
    return spec
