"""Per-customer aggregates of per-review sentiment scores (pure pandas/numpy, no model).

Columns (all prefixed ``text_``), one row per customer in the order of ``customers``:

==========================  =========================================================================
``text_n_reviews``          number of scored reviews (non-empty text); 0 for customers without any
``text_sent_mean``          mean score
``text_sent_std``           population standard deviation (ddof=0: 0.0 for a single review)
``text_sent_min``           lowest score
``text_sent_last``          score of the most recent review (latest timestamp; NaT counts as
                            oldest; ties go to the later row)
``text_share_negative``     share of reviews with score < ``negative_threshold``
``text_sent_recency_mean``  mean weighted by ``0.5 ** (age_days / half_life_days)``, age measured
                            from ``as_of``; undated reviews count as the oldest dated review
                            in the data (all undated: the plain mean)
``text_emb_0..``            optional: PCA of the customer's mean review embedding
``text_has_reviews``        1 if the customer has at least one scored review, else 0
==========================  =========================================================================

Customers without scored reviews get NaN in every sentiment and embedding column, never a
made-up zero: ``text_has_reviews`` is the mask that tells a model to ignore them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SENTIMENT_COLUMNS = (
    "text_sent_mean",
    "text_sent_std",
    "text_sent_min",
    "text_sent_last",
    "text_share_negative",
    "text_sent_recency_mean",
)
MASK_COLUMN = "text_has_reviews"
COUNT_COLUMN = "text_n_reviews"


def aggregate_scores(
    customer_ids: pd.Index,
    review_customer: np.ndarray,
    scores: np.ndarray,
    timestamps: pd.Series | np.ndarray | None = None,
    as_of: pd.Timestamp | None = None,
    half_life_days: float = 180.0,
    negative_threshold: float = 0.0,
) -> pd.DataFrame:
    """Aggregate review ``scores`` (aligned with ``review_customer``) per customer.

    Reviews whose customer is not in ``customer_ids`` or whose score is NaN are ignored.
    """
    if half_life_days <= 0:
        from seglab.errors import ConfigError

        raise ConfigError(f"text.recency_half_life_days must be > 0, got {half_life_days}")
    customer_ids = pd.Index(customer_ids, name="customer_id")
    n = len(scores)
    ts = (
        pd.to_datetime(pd.Series(np.asarray(timestamps)), errors="coerce")
        if timestamps is not None
        else pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    )
    df = pd.DataFrame(
        {
            "cid": np.asarray(review_customer),
            "s": np.asarray(scores, dtype=np.float64),
            "ts": ts.to_numpy(),
            "pos": np.arange(n),
        }
    )
    df = df[df["s"].notna() & df["cid"].isin(customer_ids)]

    # recency weights
    dated = df["ts"].notna()
    if dated.any():
        ref = pd.Timestamp(as_of) if as_of is not None else df.loc[dated, "ts"].max()
        age = (ref - df["ts"]).dt.total_seconds() / 86400.0
        age = age.clip(lower=0.0)
        age = age.fillna(age[dated].max())
        df["w"] = np.power(0.5, age.to_numpy() / float(half_life_days))
    else:
        df["w"] = 1.0
    df["ws"] = df["w"] * df["s"]
    df["neg"] = (df["s"] < negative_threshold).astype(float)

    g = df.groupby("cid", sort=False)
    out = pd.DataFrame(index=customer_ids)
    out[COUNT_COLUMN] = g.size().reindex(customer_ids).fillna(0).astype(int).to_numpy()
    out["text_sent_mean"] = g["s"].mean().reindex(customer_ids).to_numpy()
    out["text_sent_std"] = g["s"].std(ddof=0).reindex(customer_ids).to_numpy()
    out["text_sent_min"] = g["s"].min().reindex(customer_ids).to_numpy()
    # most recent: sort by (timestamp with NaT first, row position), take the last per customer
    tsk = df["ts"].to_numpy().astype("datetime64[ns]").view("int64")  # NaT is the smallest int64
    order = df.assign(tsk=tsk).sort_values(["tsk", "pos"], kind="stable")
    out["text_sent_last"] = order.groupby("cid", sort=False)["s"].last().reindex(customer_ids).to_numpy()
    out["text_share_negative"] = g["neg"].mean().reindex(customer_ids).to_numpy()
    out["text_sent_recency_mean"] = (g["ws"].sum() / g["w"].sum()).reindex(customer_ids).to_numpy()
    out[MASK_COLUMN] = (out[COUNT_COLUMN] > 0).astype(int)
    return out


def embedding_features(
    customer_ids: pd.Index,
    review_customer: np.ndarray,
    embeddings: np.ndarray,
    valid: np.ndarray,
    embed_dim: int,
    seed: int = 0,
) -> pd.DataFrame:
    """``text_emb_0..embed_dim-1``: PCA of each customer's mean review embedding (NaN without reviews)."""
    from sklearn.decomposition import PCA

    customer_ids = pd.Index(customer_ids, name="customer_id")
    cols = [f"text_emb_{i}" for i in range(embed_dim)]
    out = pd.DataFrame(np.nan, index=customer_ids, columns=cols)
    keep = np.asarray(valid, bool) & (customer_ids.get_indexer(np.asarray(review_customer)) >= 0)
    if not keep.any() or embed_dim <= 0:
        return out
    emb = pd.DataFrame(np.asarray(embeddings, dtype=np.float64)[keep])
    emb["cid"] = np.asarray(review_customer)[keep]
    means = emb.groupby("cid", sort=False).mean()
    k = int(min(embed_dim, means.shape[0], means.shape[1]))
    z = np.zeros((means.shape[0], embed_dim))
    if k > 0:
        z[:, :k] = PCA(n_components=k, svd_solver="full", random_state=seed).fit_transform(means.to_numpy())
    out.loc[means.index, cols] = z
    return out
