"""The default dataset: customers with planted segments, their purchases and their reviews.

Each customer belongs to one planted segment (the ground truth) drawn from five archetypes:

============================  =====================================================================
``loyal_high_spender``        long tenure, buys every ~3 weeks until today, large baskets of
                              electronics/fashion/home, spend rising slowly; warm reviews
``bargain_hunter``            buys small, cheap baskets (groceries/beauty/household) often and
                              irregularly; reviews about price, mixed
``lapsing``                   joined early, stopped buying 3-13 months ago, spend falling before
                              that; the most negative reviews
``new_customer``              first purchase in the last ~3 months, a few purchases so far;
                              neutral-to-positive reviews
``big_ticket``                rare (every ~3-4 months) but expensive single items
                              (electronics/home/sports); positive reviews
============================  =====================================================================

Every customer draws their own parameters around the archetype's (log-normal spread scaled by
``noise``): their mean gap between purchases, mean basket value, basket size, category mix
(Dirichlet), join date and last active date. Purchases are then laid out between those two
dates with gamma-distributed gaps (regular for loyal customers, bursty for bargain hunters) and
each purchase draws its own value, quantity and category. So segments overlap at the edges
(a frugal loyal customer looks like a bargain hunter; a lapsing customer who stopped recently
looks like a loyal one) while remaining separable in the usual behaviour features (recency,
frequency, monetary value, tenure, gaps, basket size, category shares, spend trend). Attributes
(``age``, ``gender``, ``region``, ``channel``, ``newsletter``) are only weakly or not at all
related to the segment; ``age`` is missing for a ``missing_age_rate`` share (left for the
imputer). No single column identifies the segment.

With ``n_segments != 5``: fewer segments take the first archetypes in the table's order; more
cycle through the archetypes again, each further round scaling basket value by 2.5 and gaps by
0.55 (``<archetype>_v2``...), which overlaps more, so planted structure gets harder to recover.

Reviews: a reviewing customer (probability ``review_prob`` times a per-segment factor) writes
1-3 short English reviews, each about one of their purchases (its category) and dated 1-14
days after it. The text's tone follows a latent sentiment drawn around the segment's mean (so
the rating 1-5 and the words agree with each other and correlate with the segment, with
overlap). The words are templated by default (about half the reviews also carry a
segment-typical remark such as "waited for the sale"), which gives only about 11,000 distinct
texts at any size; ``review_corpus=<review file>`` draws them from the sentences of real
reviews with the same rating instead, so distinct texts grow with N (``seglab.data.synthetic_text``).

Determinism and size: customers are generated in blocks of ``BLOCK_CUSTOMERS`` (100,000), block
``b`` from its own generator (``default_rng(seed)`` for the first, ``default_rng([seed, b])``
after), each with vectorised numpy (no per-customer Python loop). So the same arguments give
identical data whether it is generated in memory (``load``) or streamed to Parquet block by
block (``seglab.data.synthetic_parquet``), and datasets up to 100,000 customers are the ones a
single generator always gave. Segment quotas are exact per block. Measured on 2 CPU cores
(numpy 2.4, pandas 3.1): a block (about 2.7 million transactions, 40,000 reviews) takes about
3-4 s and 0.45 GB peak; ``load`` of 1,000,000 customers holds all blocks (about 1.4 GB of
frames), while writing Parquet keeps one block in memory whatever N is. Transactions average
about 27 per customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pandas as pd

from seglab.config.constraints import Date, Integral, Interval, ListOf, Real
from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.synthetic_archetypes import (  # noqa: F401
    ARCHETYPES,
    CATEGORIES,
    CATEGORY_PRICE,
    CHANNELS,
    REGIONS,
    archetypes,
    quota,
)
from seglab.data.synthetic_text import synthetic_reviews
from seglab.data.validate import validate_customer_data
from seglab.errors import ConfigError
from seglab.progress import Progress

#: Customers are generated in blocks of this many, block ``b`` from its own random stream
#: (``default_rng(seed)`` for block 0, ``default_rng([seed, b])`` after), so a dataset of any
#: size is the same whether it is generated in memory or written to Parquet block by block.
BLOCK_CUSTOMERS = 100_000


class SyntheticSource(DataSource):
    """Generate customers with planted segments (see the module docstring).

    Args:
        name: dataset name for the tracker.
        n_customers: number of customers (>= 100 recommended; any >= n_segments works).
        n_segments: number of planted segments (the truth has this many labels).
        seed: seed of the random streams; same arguments, same data.
        start_date, end_date: the observation period (inclusive); the reference date is the
            day after ``end_date``.
        review_prob: base probability that a customer writes reviews (times a segment factor).
        noise: scales every per-customer spread (1.0 default; 0 = identical customers per
            segment, 2 = heavily overlapping segments).
        missing_age_rate: share of customers whose ``age`` is missing (NaN).
        weights: optional segment shares (cycled/normalised); default the archetype weights.
        review_corpus: ``None`` (templated review text) or a review file (or list of files)
            whose sentences, pooled by star rating, make up the reviews (see
            ``seglab.data.review_corpus``); same reviewers, dates and ratings either way.
        holdout_days: days of purchases generated after ``end_date`` (0 = none), from a
            separate random stream so the window's data is unchanged; the reference date moves
            to the end of the holdout (``seglab.data.synthetic_holdout``; ``predict=on`` cuts
            at ``end_date``).
    """

    #: Each argument's allowed values (checked before anything is generated; `check` the combinations).
    _parameter_constraints: ClassVar[dict] = {
        "n_customers": [Interval(Integral, 1, None, closed="left")],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "start_date": [Date()],
        "end_date": [Date()],
        "review_prob": [Interval(Real, 0, 1, closed="both")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "missing_age_rate": [Interval(Real, 0, 1, closed="both")],
        "weights": [ListOf(Interval(Real, 0, None, closed="left")), None],
        "review_corpus": [str, ListOf(str), None],
        "holdout_days": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        name: str = "synthetic",
        n_customers: int = 5000,
        n_segments: int = 5,
        seed: int = 0,
        start_date: str = "2023-01-01",
        end_date: str = "2024-12-31",
        review_prob: float = 0.3,
        noise: float = 1.0,
        missing_age_rate: float = 0.02,
        weights: list[float] | None = None,
        review_corpus: str | list[str] | None = None,
        holdout_days: float = 0,
    ) -> None:
        self.name = name
        self.n_customers = int(n_customers)
        self.n_segments = int(n_segments)
        self.seed = int(seed)
        self.start_date = str(start_date)
        self.end_date = str(end_date)
        self.review_prob = float(review_prob)
        self.noise = float(noise)
        self.missing_age_rate = float(missing_age_rate)
        self.weights = None if weights is None else [float(w) for w in weights]
        self.review_corpus = review_corpus if review_corpus is None or isinstance(review_corpus, str) else [
            str(p) for p in review_corpus]
        self.holdout_days = float(holdout_days)

    # ------------------------------------------------------------------------------------------
    def load(self) -> CustomerData:
        """Generate every block in memory (use ``write_parquet`` for data larger than memory)."""
        blocks = list(self.blocks())
        if len(blocks) == 1:
            customers, transactions, reviews, truth = blocks[0]
        else:
            customers = pd.concat([b[0] for b in blocks], ignore_index=True)
            transactions = pd.concat([b[1] for b in blocks], ignore_index=True)
            reviews = pd.concat([b[2] for b in blocks], ignore_index=True)
            truth = pd.concat([b[3] for b in blocks], ignore_index=True)
            del blocks
        data = CustomerData(
            name=self.name,
            customers=customers,
            transactions=transactions,
            reviews=reviews,
            truth=truth,
            reference_date=self.reference_date(),
            meta=self.meta(truth, len(transactions), len(reviews)),
        )
        return validate_customer_data(data)

    def reference_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.end_date).normalize() + pd.Timedelta(days=1 + self.holdout_days)

    def meta(self, truth: pd.Series, n_transactions: int, n_reviews: int) -> dict:
        names = [a["name"] for a in archetypes(self.n_segments)]
        sizes = truth.value_counts()
        return {
            "generator": "synthetic",
            "segments": names,
            "segment_sizes": {n: int(sizes.get(n, 0)) for n in names},
            "n_transactions": int(n_transactions),
            "n_reviews": int(n_reviews),
            "seed": self.seed,
            "noise": self.noise,
            "review_corpus": self.review_corpus,
        }

    def blocks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]]:
        """``(customers, transactions, reviews, truth)`` per block of ``BLOCK_CUSTOMERS``
        customers, in customer order (ids continue across blocks; truth indexed 0..n-1 of the
        block). Peak memory is one block's, whatever ``n_customers`` is."""
        self.check()
        corpus = None
        if self.review_corpus:
            from seglab.data.review_corpus import sentence_pools

            corpus = sentence_pools(self.review_corpus)
        N = self.n_customers
        with Progress("generate synthetic customers", total=N, unit="customers") as bar:
            for b, lo in enumerate(range(0, N, BLOCK_CUSTOMERS)):
                n = min(BLOCK_CUSTOMERS, N - lo)
                rng = np.random.default_rng(self.seed if b == 0 else [self.seed, b])
                yield self._block(rng, n, lo, corpus)
                bar.update(n)

    def check(self) -> None:
        N, K = self.n_customers, self.n_segments
        if K < 1:
            raise ConfigError(f"data.n_segments must be >= 1, got {K}")
        if N < K:
            raise ConfigError(f"data.n_customers ({N}) must be >= data.n_segments ({K})")
        if not 0.0 <= self.review_prob <= 1.0:
            raise ConfigError(f"data.review_prob must be in [0, 1], got {self.review_prob}")
        D = (pd.Timestamp(self.end_date) - pd.Timestamp(self.start_date)).days + 1
        if D < 30:
            raise ConfigError(f"data.start_date..end_date must span at least 30 days, got {D:.0f}")
        if not self.holdout_days >= 0:
            raise ConfigError(f"data.holdout_days must be >= 0, got {self.holdout_days:g}")
        w = np.resize(np.array(self.weights if self.weights else [1.0], dtype=float), K)
        if (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"data.weights must be non-negative with a positive sum, got {self.weights}")

    def _block(self, rng, N: int, id_offset: int, corpus) -> tuple:
        K = self.n_segments
        start, end = pd.Timestamp(self.start_date), pd.Timestamp(self.end_date)
        D = float((end - start).days + 1)
        arch = archetypes(K)
        P = {
            k: np.array([a[k] for a in arch], dtype=float)
            for k in ("gap", "shape", "amount", "qty", "trend", "tone", "review", "newsletter")
        }
        sd = 0.6 * self.noise  # log-normal spread of per-customer parameters

        w = np.array(self.weights if self.weights else [a["weight"] for a in arch], dtype=float)
        w = np.resize(w, K)
        seg = rng.permutation(np.repeat(np.arange(K), quota(N, w / w.sum())))

        # per-customer parameters ---------------------------------------------------------------
        lognorm = lambda s: np.exp(rng.normal(0.0, s, N) - s * s / 2)  # noqa: E731  (mean 1)
        gap = P["gap"][seg] * lognorm(sd)
        amount_mean = P["amount"][seg] * lognorm(sd)
        qty_mean = 1.0 + (P["qty"][seg] - 1.0) * lognorm(sd)
        shape = P["shape"][seg]
        join_lo = np.array([a["join"][0] for a in arch])[seg]
        join_hi = np.array([a["join"][1] for a in arch])[seg]
        join = (join_lo + (join_hi - join_lo) * rng.random(N)) * D
        idle_lo = np.array([a["idle"][0] for a in arch])[seg]
        idle_hi = np.array([np.nan if a["idle"][1] is None else a["idle"][1] for a in arch])[seg]
        idle = np.where(
            np.isnan(idle_hi),
            rng.exponential(1.0, N) * idle_lo * max(self.noise, 0.05),
            idle_lo + (np.nan_to_num(idle_hi) - idle_lo) * rng.random(N),
        )
        last = np.clip(D - 1.0 - idle, join, D - 1.0)
        span = last - join
        n_tx = 1 + rng.poisson(span / gap)
        n_tx = np.minimum(n_tx, 2000)
        alpha = np.array([a["cats"] for a in arch], dtype=float)[seg] * 2.0 / max(self.noise, 0.05)
        cat_p = rng.gamma(alpha)
        cat_p /= cat_p.sum(axis=1, keepdims=True)

        # transactions ------------------------------------------------------------------------------
        T = int(n_tx.sum())
        cust = np.repeat(np.arange(N), n_tx)
        first_row = np.cumsum(n_tx) - n_tx
        g = rng.gamma(shape[cust], 1.0)
        g[first_row] = 0.0
        cs = np.cumsum(g)
        cs -= np.repeat(cs[first_row], n_tx)
        total = np.repeat(cs[first_row + n_tx - 1], n_tx)
        frac = np.divide(cs, total, out=np.zeros(T), where=total > 0)
        day = join[cust] + frac * span[cust] + rng.random(T) * 0.999
        day = np.minimum(day, D - 1e-6)
        del g, cs, total
        ts = start.to_datetime64().astype("datetime64[ns]") + (day * 86_400e9).astype("int64").astype(
            "timedelta64[ns]"
        )
        del day

        cat = np.empty(T, dtype=np.int8)
        cum = np.cumsum(cat_p, axis=1)
        chunk = 1 << 20
        for lo in range(0, T, chunk):
            hi = min(T, lo + chunk)
            u = rng.random(hi - lo)
            cat[lo:hi] = np.minimum((u[:, None] > cum[cust[lo:hi]]).sum(axis=1), len(CATEGORIES) - 1)
        trend = 1.0 + P["trend"][seg][cust] * (frac - 0.5)
        amount = amount_mean[cust] * CATEGORY_PRICE[cat] * trend * np.exp(rng.normal(-0.08, 0.4, T))
        amount = np.round(np.maximum(amount, 0.5), 2)
        del trend
        quantity = (1 + rng.poisson(qty_mean[cust] - 1.0)).astype("float64")

        customer_id = np.arange(id_offset, id_offset + N, dtype=np.int64)
        cats_arr = np.array(CATEGORIES, dtype=object)
        transactions = pd.DataFrame(
            {
                "customer_id": customer_id[cust],
                "timestamp": ts,
                "amount": amount,
                "quantity": quantity,
                "category": pd.array(cats_arr[cat], dtype="str"),
            }
        )
        if self.holdout_days > 0:
            from seglab.data.synthetic_holdout import holdout_transactions

            after = holdout_transactions(
                np.random.default_rng([self.seed, id_offset, 1]), arch, seg, customer_id, D, start, self.holdout_days,
                gap=gap, shape=shape, amount=amount_mean * (1.0 + 0.5 * P["trend"][seg]), qty_mean=qty_mean,
                cat_p=cat_p, categories=CATEGORIES, cat_price=CATEGORY_PRICE)
            transactions = pd.concat([transactions, after], ignore_index=True)

        # customers -------------------------------------------------------------------------------
        age_mu = np.array([a["age"][0] for a in arch], dtype=float)[seg]
        age_sd = np.array([a["age"][1] for a in arch], dtype=float)[seg]
        age = np.clip(np.round(rng.normal(age_mu, age_sd)), 18, 90)
        age[rng.random(N) < self.missing_age_rate] = np.nan
        ch_p = np.array([a["channel"] for a in arch], dtype=float)[seg]
        channel = (rng.random(N)[:, None] > np.cumsum(ch_p, axis=1)).sum(axis=1).clip(0, len(CHANNELS) - 1)
        customers = pd.DataFrame(
            {
                "customer_id": customer_id,
                "age": age,
                "gender": pd.array(
                    np.array(["female", "male"], dtype=object)[(rng.random(N) < 0.48).astype(int)],
                    dtype="str",
                ),
                "region": pd.array(
                    np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), N)], dtype="str"
                ),
                "channel": pd.array(np.array(CHANNELS, dtype=object)[channel], dtype="str"),
                "newsletter": rng.random(N) < P["newsletter"][seg],
            }
        )

        reviews = synthetic_reviews(
            rng, arch, seg, n_tx, first_row, ts, cat, D, start, review_prob=self.review_prob, noise=self.noise,
            categories=CATEGORIES, corpus=corpus, id_offset=id_offset,
        )
        names = np.array([a["name"] for a in arch], dtype=object)
        truth = pd.Series(pd.array(names[seg], dtype="str"), index=customers.index, name="segment")
        return customers, transactions, reviews, truth

    def write_parquet(self, out_dir, overwrite: bool = False):
        """Write this dataset as partitioned Parquet block by block (bounded memory); see
        ``seglab.data.synthetic_parquet``. Returns the folder."""
        from seglab.data.synthetic_parquet import write_synthetic_parquet

        return write_synthetic_parquet(self, out_dir, overwrite=overwrite)
