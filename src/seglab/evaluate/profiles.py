"""Segment profiles: what each segment looks like, in the units a marketer reads.

``segment_profiles(features, labels)`` takes the *un-preprocessed* feature frame
(``build_features``' output: money, days, counts, shares) and returns one row per segment plus
a population row ``"all"``:

- ``segment`` (str: ``"0"``, ``"1"``, ..., ``"noise"`` for label -1, ``"all"``), ``name`` (a
  short description from the most distinctive features, e.g. ``"high spend · frequent ·
  positive reviews"``), ``size``, ``share`` (of all customers);
- with ``proba``: ``soft_size`` (sum of the segment's probability column) and
  ``mean_confidence`` (mean of the members' highest probability);
- business indicators, when the features exist (transaction data):
  ``revenue`` (sum of ``monetary_total``), ``revenue_share``, ``aov`` (average order value =
  revenue / purchases), ``purchase_frequency`` (mean purchases per customer over the observed
  window), ``purchases_per_year`` (365 · purchases / customer-days of tenure, each tenure
  floored at 30 days so that one-off new customers do not give infinite rates),
  ``churn_share`` (share with ``recency_days > churn_days``: no purchase in the last N days),
  and ``clv``, a deliberately simple customer-lifetime-value estimate (Gupta & Lehmann's
  constant-retention formula): ``margin · annual_value · r / (1 + discount_rate - r)`` with
  ``annual_value = aov · purchases_per_year`` and retention ``r = 1 - churn_share``; it is an
  order-of-magnitude guide to compare segments, not a forecast;
- ``mean_sentiment`` when a sentiment column exists (a name containing ``sentiment``,
  preferring one ending in ``mean``), ``top_categories`` from the ``cat_share_*`` columns
  (the three largest mean shares, e.g. ``"books 42% · music 31% · dvd 12%"``);
- then the mean of every numeric feature (NaNs ignored).

``segment_deviations`` gives each segment's feature means as z-scores against the
population (``(segment mean - population mean) / population std``); the descriptive names
come from the largest of these (|z| >= ``min_z``). A run writes them to its run dir with
``seglab.diagnostics.run_reports.write_profiles`` (``profiles.csv``, ``profile_deviations.csv``,
``segment_names.json``, ``profiles.png``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from seglab.evaluate.inputs import NOISE, as_labels

#: Segment id of the population row in a profiles frame.
POPULATION = "all"
#: Segment id of the noise row (label -1) in a profiles frame.
NOISE_SEGMENT = "noise"
NOISE_NAME = "noise (no segment)"

#: Words for a feature far above / below the population mean (used by ``describe``).
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "recency_days": ("lapsed", "recently active"),
    "frequency": ("frequent", "infrequent"),
    "monetary_total": ("high spend", "low spend"),
    "monetary_mean": ("big orders", "small orders"),
    "tenure_days": ("long-standing", "new"),
    "gap_mean_days": ("slow to return", "quick to return"),
    "gap_std_days": ("irregular", "regular"),
    "basket_size": ("large baskets", "small baskets"),
    "spend_trend": ("spending more", "spending less"),
    "age": ("older", "younger"),
}


#: Business-language labels of seglab's own features (what a name or a figure prints instead of
#: the column name); ``profiles.feature_labels`` in the config adds to or overrides them.
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "days since last purchase", "frequency": "purchases", "monetary_total": "total spend",
    "monetary_mean": "average order value", "tenure_days": "days as a customer",
    "gap_mean_days": "days between purchases", "gap_std_days": "irregularity of purchases",
    "basket_size": "items per order", "spend_trend": "spend trend",
    "text_has_reviews": "writes reviews", "text_n_reviews": "number of reviews",
    "text_sent_mean": "review sentiment", "text_sent_std": "spread of review sentiment",
    "text_sent_min": "worst review sentiment", "text_sent_last": "latest review sentiment",
    "text_sent_recency_mean": "recent review sentiment", "text_share_negative": "share of negative reviews",
}


def feature_label(column: str, labels: dict[str, str] | None = None) -> str:
    """The words for a feature column: ``labels`` (the config's mapping), then ``FEATURE_LABELS``,
    then ``cat_share_x`` -> "share of x", else the column name itself."""
    column = str(column)
    if labels and column in labels:
        return str(labels[column])
    if column in FEATURE_LABELS:
        return FEATURE_LABELS[column]
    if column.startswith("cat_share_"):
        return f"share of {column[len('cat_share_'):]}"
    return column


def segment_name(label: int) -> str:
    """The string a profiles frame uses for a label: ``"0"``, ``"1"``, ..., ``"noise"``."""
    return NOISE_SEGMENT if int(label) == NOISE else str(int(label))


def numeric_feature_columns(features: pd.DataFrame) -> list[str]:
    """Columns a profile averages: numeric and boolean ones, never the customer id."""
    cols = features.select_dtypes(include=["number", "bool"]).columns
    return [c for c in cols if c != "customer_id"]


def sentiment_column(columns: Sequence[str]) -> str | None:
    """The feature that holds review sentiment, if any (``*sentiment*``, ``*mean`` preferred)."""
    cands = [c for c in columns if "sentiment" in str(c).lower()]
    if not cands:
        return None
    means = [c for c in cands if str(c).lower().endswith("mean")]
    return (means or cands)[0]


def feature_phrase(column: str, z: float, labels: dict[str, str] | None = None) -> str | None:
    """A few words for "this segment is far above (z > 0) / below (z < 0) average on column".

    None for a category share below average: shares sum to one, so "little X" only echoes
    the category the segment is heavy in. A column in ``labels`` (the config's mapping) is
    "high <label>" / "low <label>"; a column with no words of its own uses ``feature_label``.
    """
    high = z > 0
    if labels and column in labels:
        return f"{'high' if high else 'low'} {labels[column]}"
    if column in FEATURE_WORDS:
        return FEATURE_WORDS[column][0 if high else 1]
    if column == "text_has_reviews":
        return "writes reviews" if high else "few reviews"
    if column == "text_sent_std":
        return "mixed reviews" if high else "consistent reviews"
    if column.startswith("text_sent_"):  # mean, last, min, recency-weighted: one idea, said once
        return "positive reviews" if high else "negative reviews"
    if column == "text_share_negative":
        return "many negative reviews" if high else "few negative reviews"
    low = str(column).lower()
    if "sentiment" in low:
        return "positive reviews" if high else "negative reviews"
    if "rating" in low:
        return "high ratings" if high else "low ratings"
    if low.startswith("cat_share_"):
        cat = str(column)[len("cat_share_") :]
        return f"{cat}-heavy" if high else None
    if "=" in str(column):
        return f"mostly {column}" if high else f"few {column}"
    words = feature_label(column)
    return f"high {words}" if high else f"low {words}"


def _groups(labels: np.ndarray) -> list[tuple[int | None, np.ndarray]]:
    groups: list[tuple[int | None, np.ndarray]] = [(int(c), labels == c) for c in np.unique(labels)]
    groups.append((None, np.ones(len(labels), dtype=bool)))
    return groups


def segment_deviations(features: pd.DataFrame, labels: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """Segment feature means as z-scores against the population, one row per segment.

    ``(segment mean - population mean) / population std`` (ddof=0, NaNs ignored); a
    constant feature gives 0. Index: the segment strings of ``segment_profiles`` (no
    population row).
    """
    labels = as_labels(labels)
    if len(features) != labels.shape[0]:
        raise ValueError(f"features has {len(features)} rows but labels has {labels.shape[0]}")
    cols = numeric_feature_columns(features)
    values = features[cols].astype(float).reset_index(drop=True)
    mu = values.mean(axis=0)
    sd = values.std(axis=0, ddof=0).replace(0.0, np.nan)
    rows = {}
    for c in np.unique(labels):
        seg_mean = values[labels == c].mean(axis=0)
        rows[segment_name(int(c))] = ((seg_mean - mu) / sd).fillna(0.0)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    out.index.name = "segment"
    return out


def describe(deviation: pd.Series, *, n_terms: int = 3, min_z: float = 0.5,
             labels: dict[str, str] | None = None) -> str:
    """A short name from the features with the largest |z| (at least ``min_z``), in the words of
    ``feature_phrase`` (``labels``: the config's feature -> label mapping)."""
    z = deviation.dropna()
    z = z[z.abs() >= min_z]
    order = z.abs().sort_values(ascending=False, kind="stable").index
    phrases: list[str] = []
    for col in order:
        phrase = feature_phrase(str(col), float(z[col]), labels)
        if phrase is not None and phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == n_terms:
            break
    return " · ".join(phrases) or "average"


def segment_names(deviations: pd.DataFrame, *, n_terms: int = 3, min_z: float = 0.5,
                  labels: dict[str, str] | None = None) -> dict[str, str]:
    """Segment -> descriptive name from its row of ``segment_deviations`` (``describe``), names
    that would repeat numbered by their segment so they tell segments apart. Reports re-derive
    the names of saved runs with it (``profile_deviations.csv``), in today's words."""
    names = {str(seg): (NOISE_NAME if str(seg) == NOISE_SEGMENT
                        else describe(row, n_terms=n_terms, min_z=min_z, labels=labels))
             for seg, row in deviations.iterrows()}
    counts = pd.Series(list(names.values())).value_counts()
    return {seg: (f"{name} (segment {seg})" if counts[name] > 1 and seg != NOISE_SEGMENT else name)
            for seg, name in names.items()}


def _business(values: pd.DataFrame, mask: np.ndarray, total_revenue: float, opts: dict) -> dict[str, float]:
    if "monetary_total" not in values or "frequency" not in values:
        return {}
    seg = values[mask]
    revenue = float(seg["monetary_total"].sum())
    purchases = float(seg["frequency"].sum())
    out = {
        "revenue": revenue,
        "revenue_share": revenue / total_revenue if total_revenue > 0 else float("nan"),
        "aov": revenue / purchases if purchases > 0 else float("nan"),
        "purchase_frequency": float(seg["frequency"].mean()) if len(seg) else float("nan"),
    }
    if "tenure_days" in values:
        days = float(np.maximum(seg["tenure_days"].fillna(0.0), 30.0).sum())
        out["purchases_per_year"] = 365.0 * purchases / days if days > 0 else float("nan")
    if "recency_days" in values:
        out["churn_share"] = (
            float((seg["recency_days"] > opts["churn_days"]).mean()) if len(seg) else float("nan")
        )
    if "purchases_per_year" in out and "churn_share" in out:
        r = 1.0 - out["churn_share"]
        annual = out["aov"] * out["purchases_per_year"]
        out["clv"] = float(opts["margin"] * annual * r / (1.0 + opts["discount_rate"] - r))
    return out


def _top_categories(values: pd.DataFrame, mask: np.ndarray, n: int = 3) -> str | None:
    cols = [c for c in values.columns if str(c).startswith("cat_share_")]
    if not cols or not mask.any():
        return None
    means = values.loc[mask, cols].mean(axis=0).sort_values(ascending=False, kind="stable")
    return " · ".join(f"{str(c)[len('cat_share_') :]} {v:.0%}" for c, v in means.head(n).items() if v > 0)


def segment_profiles(
    features: pd.DataFrame,
    labels: Sequence[int] | np.ndarray,
    *,
    proba: np.ndarray | None = None,
    churn_days: float = 180,
    margin: float = 1.0,
    discount_rate: float = 0.1,
    name_terms: int = 3,
    name_min_z: float = 0.5,
    feature_labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per segment (sorted by label, noise first) plus the population row ``"all"``.

    Args:
        features: one row per customer, aligned by position with ``labels``, in original units.
            Non-numeric columns and ``customer_id`` are skipped.
        labels: segment per customer; -1 (noise) gets its own row ``"noise"``.
        proba: optional (n, k) soft assignments (adds ``soft_size``, ``mean_confidence``).
        churn_days: a customer with ``recency_days`` above this counts as churned.
        margin: profit margin applied to revenue in ``clv`` (1.0 = revenue-based CLV).
        discount_rate: yearly discount rate in ``clv``.
        name_terms, name_min_z: the descriptive name uses up to ``name_terms`` features whose
            segment mean is at least ``name_min_z`` population standard deviations away.
        feature_labels: feature -> business words for the names (``profiles.feature_labels``;
            seglab's own features have defaults, ``FEATURE_LABELS``).

    Returns:
        The frame described in the module docstring.
    """
    labels = as_labels(labels)
    if len(features) != labels.shape[0]:
        raise ValueError(f"features has {len(features)} rows but labels has {labels.shape[0]}")
    n = labels.shape[0]
    cols = numeric_feature_columns(features)
    values = features[cols].astype(float).reset_index(drop=True)
    if proba is not None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape[0] != n:
            raise ValueError(f"proba has {proba.shape[0]} rows but labels has {n}")
    deviations = segment_deviations(features, labels)
    senti = sentiment_column(cols)
    total_revenue = float(values["monetary_total"].sum()) if "monetary_total" in values else 0.0
    opts = {"churn_days": float(churn_days), "margin": float(margin), "discount_rate": float(discount_rate)}

    rows = []
    for label, mask in _groups(labels):
        seg = POPULATION if label is None else segment_name(label)
        if label is None:
            name = "all customers"
        elif label == NOISE:
            name = "noise (no segment)"
        else:
            name = describe(deviations.loc[seg], n_terms=name_terms, min_z=name_min_z, labels=feature_labels)
        row: dict[str, object] = {
            "segment": seg,
            "name": name,
            "size": int(mask.sum()),
            "share": float(mask.mean()) if n else float("nan"),
        }
        if proba is not None:
            if label is None:
                row["soft_size"] = float(proba.sum()) if proba.size else 0.0
            elif 0 <= label < proba.shape[1]:
                row["soft_size"] = float(proba[:, label].sum())
            else:
                row["soft_size"] = float("nan")
            row["mean_confidence"] = (
                float(proba[mask].max(axis=1).mean()) if mask.any() and proba.size else float("nan")
            )
        row.update(_business(values, mask, total_revenue, opts))
        if senti is not None:
            row["mean_sentiment"] = float(values.loc[mask, senti].mean())
        top = _top_categories(values, mask)
        if top is not None:
            row["top_categories"] = top
        means = values[mask].mean(axis=0) if mask.any() else pd.Series(np.nan, index=cols)
        row.update({c: float(means[c]) for c in cols})
        rows.append(row)
    out = pd.DataFrame(rows)
    # descriptive names must tell segments apart: number repeated ones
    named = out["segment"].ne(POPULATION) & out["segment"].ne(NOISE_SEGMENT)
    dup = out.loc[named, "name"].duplicated(keep=False)
    for i in dup[dup].index:
        out.loc[i, "name"] = f"{out.loc[i, 'name']} (segment {out.loc[i, 'segment']})"
    return out
