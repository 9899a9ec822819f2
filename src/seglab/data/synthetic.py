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
overlap); about half the reviews also carry a segment-typical remark ("waited for the sale",
"my first order here"...).

Determinism and cost: everything is drawn from one ``numpy.random.default_rng(seed)`` with
vectorised numpy (no per-customer Python loop), so the same arguments give identical data.
Measured on 2 CPU cores (numpy 2.4, pandas 3.1): 100,000 customers (about 2.7 million
transactions, 40,000 reviews) generate in about 3-4 s with about 0.45 GB peak memory;
1,000,000 customers (26.7 million transactions) in about 40 s with about 3.1 GB peak (the
frames themselves take 1.4 GB). Transactions average about 27 per customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.validate import validate_customer_data
from seglab.errors import ConfigError

CATEGORIES = ("groceries", "electronics", "fashion", "home", "beauty", "sports")
#: price multiplier per category (electronics cost more than groceries)
_CAT_PRICE = np.array([0.7, 1.6, 1.0, 1.2, 0.8, 1.1])

# Archetype table. gap: mean days between purchases; shape: gamma shape of the gaps (higher =
# more regular); amount: mean basket value; qty: mean items per basket; trend: relative change
# of basket value from first to last purchase; join: (lo, hi) of the join date as a share of
# the period; idle: (lo, hi) days between the last purchase and the period's end (exponential
# with mean lo when hi is None); cats: Dirichlet base weights over CATEGORIES; tone: mean
# review sentiment; review: relative propensity to review; age, channel weights (online,
# store, app), newsletter probability.
# fmt: off
ARCHETYPES: tuple[dict, ...] = (
    dict(name="loyal_high_spender", weight=0.20, gap=21.0, shape=4.0, amount=95.0, qty=3.0, trend=0.25,
         join=(0.0, 0.5), idle=(12.0, None), cats=(1, 4, 4, 3, 1, 2), tone=1.0, review=1.2,
         age=(44, 12), channel=(0.45, 0.30, 0.25), newsletter=0.55),
    dict(name="bargain_hunter", weight=0.26, gap=13.0, shape=1.3, amount=19.0, qty=4.5, trend=0.0,
         join=(0.0, 0.7), idle=(10.0, None), cats=(6, 1, 1, 3, 4, 1), tone=0.0, review=1.0,
         age=(37, 12), channel=(0.40, 0.45, 0.15), newsletter=0.55),
    dict(name="lapsing", weight=0.20, gap=32.0, shape=1.5, amount=48.0, qty=2.0, trend=-0.5,
         join=(0.0, 0.35), idle=(100.0, 400.0), cats=(2, 2, 4, 2, 3, 1), tone=-1.0, review=0.9,
         age=(41, 14), channel=(0.35, 0.45, 0.20), newsletter=0.30),
    dict(name="new_customer", weight=0.14, gap=14.0, shape=2.0, amount=40.0, qty=2.0, trend=0.0,
         join=(0.86, 0.99), idle=(8.0, None), cats=(2, 2, 3, 2, 2, 2), tone=0.4, review=0.7,
         age=(31, 9), channel=(0.40, 0.15, 0.45), newsletter=0.40),
    dict(name="big_ticket", weight=0.20, gap=100.0, shape=2.0, amount=330.0, qty=1.2, trend=0.0,
         join=(0.0, 0.6), idle=(60.0, None), cats=(1, 5, 1, 4, 1, 3), tone=0.6, review=1.1,
         age=(49, 12), channel=(0.50, 0.40, 0.10), newsletter=0.35),
)

REGIONS = ("north", "south", "east", "west")
CHANNELS = ("online", "store", "app")

# --- review text pools -----------------------------------------------------------------------
_OPENERS = {
    1: ("Terrible experience.", "Very disappointed.", "Awful, would not recommend.", "Complete waste of money.",
        "Really poor quality.", "Never again."),
    2: ("Not great.", "Somewhat disappointed.", "Below my expectations.", "Meh, not worth it.",
        "Could have been much better.", "A bit of a letdown."),
    3: ("It's okay.", "Average overall.", "Does the job, nothing special.", "Mixed feelings about this one.",
        "Fine for the price.", "Neither good nor bad."),
    4: ("Pretty good.", "Happy with this purchase.", "Good quality overall.", "Nice, does what it says.",
        "Solid choice.", "I like it."),
    5: ("Absolutely love it!", "Excellent, highly recommend.", "Fantastic quality!", "Perfect, exactly what I wanted.",
        "Outstanding service and product.", "Best purchase this year!"),
}
_ABOUT = {
    "groceries": ("Ordered my weekly groceries.", "The food items arrived fresh.", "Bought pantry staples."),
    "electronics": ("Got new headphones.", "Bought a laptop accessory.", "Picked up a smart speaker."),
    "fashion": ("Bought a jacket and shoes.", "Ordered a couple of shirts.", "Tried the new dress line."),
    "home": ("Got some kitchen gear.", "Ordered bedding and towels.", "Bought a lamp for the living room."),
    "beauty": ("Bought skincare products.", "Ordered shampoo and lotion.", "Tried a new perfume."),
    "sports": ("Bought running gear.", "Ordered a yoga mat.", "Got a new bike helmet."),
}
_CLOSERS = {
    1: ("Support never answered.", "Arrived broken and late.", "I want a refund.", "Quality fell apart in days."),
    2: ("Delivery was slow.", "The quality is not what it used to be.", "Returns were a hassle.",
        "Overpriced for what you get."),
    3: ("Delivery was on time.", "Might buy again.", "Packaging could be better.", "It is what it is."),
    4: ("Delivery was quick.", "Will probably order again.", "Good value.", "Customer service was helpful."),
    5: ("Fast delivery and great support.", "Will definitely order again!", "Five stars from me.",
        "The staff went above and beyond."),
}
_THEMES = {
    "loyal_high_spender": ("I have been a customer for years.", "I keep coming back to this shop.",
                           "My go-to store for everything."),
    "bargain_hunter": ("I waited for the sale.", "Only worth it with a discount code.",
                       "Compared prices everywhere first.", "Cheap, and that is why I bought it."),
    "lapsing": ("I used to shop here a lot more.", "Not sure I will come back.",
                "Service has gone downhill lately.", "Thinking about switching stores."),
    "new_customer": ("My first order here.", "Just discovered this shop.", "Trying this store for the first time."),
    "big_ticket": ("A big purchase, so I researched carefully.", "Expensive but built to last.",
                   "Worth every penny for a premium item."),
}
# fmt: on


def _archetypes(n_segments: int) -> list[dict]:
    """``n_segments`` archetype dicts: the first ones in order, then scaled variants."""
    out = []
    for j in range(n_segments):
        base = dict(ARCHETYPES[j % len(ARCHETYPES)])
        r = j // len(ARCHETYPES)
        if r:
            base["theme"] = base["name"]
            base["name"] = f"{base['name']}_v{r + 1}"
            base["amount"] *= 2.5**r
            base["gap"] *= 0.55**r
        else:
            base["theme"] = base["name"]
        out.append(base)
    return out


def _quota(n: int, p: np.ndarray) -> np.ndarray:
    """Integer segment sizes summing to ``n``, proportional to ``p`` (largest remainders), and
    at least 1 for every segment with ``p > 0`` when ``n`` allows."""
    raw = n * p
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    for j in np.flatnonzero((counts == 0) & (p > 0)):
        big = int(np.argmax(counts))
        if counts[big] > 1:
            counts[big] -= 1
            counts[j] += 1
    return counts


class SyntheticSource(DataSource):
    """Generate customers with planted segments (see the module docstring).

    Args:
        name: dataset name for the tracker.
        n_customers: number of customers (>= 100 recommended; any >= n_segments works).
        n_segments: number of planted segments (the truth has this many labels).
        seed: seed of the one random generator; same arguments, same data.
        start_date, end_date: the observation period (inclusive); the reference date is the
            day after ``end_date``.
        review_prob: base probability that a customer writes reviews (times a segment factor).
        noise: scales every per-customer spread (1.0 default; 0 = identical customers per
            segment, 2 = heavily overlapping segments).
        missing_age_rate: share of customers whose ``age`` is missing (NaN).
        weights: optional segment shares (cycled/normalised); default the archetype weights.
    """

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

    # ------------------------------------------------------------------------------------------
    def load(self) -> CustomerData:
        N, K = self.n_customers, self.n_segments
        if K < 1:
            raise ConfigError(f"data.n_segments must be >= 1, got {K}")
        if N < K:
            raise ConfigError(f"data.n_customers ({N}) must be >= data.n_segments ({K})")
        if not 0.0 <= self.review_prob <= 1.0:
            raise ConfigError(f"data.review_prob must be in [0, 1], got {self.review_prob}")
        start, end = pd.Timestamp(self.start_date), pd.Timestamp(self.end_date)
        D = float((end - start).days + 1)
        if D < 30:
            raise ConfigError(f"data.start_date..end_date must span at least 30 days, got {D:.0f}")
        rng = np.random.default_rng(self.seed)
        arch = _archetypes(K)
        P = {
            k: np.array([a[k] for a in arch], dtype=float)
            for k in ("gap", "shape", "amount", "qty", "trend", "tone", "review", "newsletter")
        }
        sd = 0.6 * self.noise  # log-normal spread of per-customer parameters

        w = np.array(self.weights if self.weights else [a["weight"] for a in arch], dtype=float)
        w = np.resize(w, K)
        if (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"data.weights must be non-negative with a positive sum, got {self.weights}")
        seg = rng.permutation(np.repeat(np.arange(K), _quota(N, w / w.sum())))

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
        amount = amount_mean[cust] * _CAT_PRICE[cat] * trend * np.exp(rng.normal(-0.08, 0.4, T))
        amount = np.round(np.maximum(amount, 0.5), 2)
        del trend
        quantity = (1 + rng.poisson(qty_mean[cust] - 1.0)).astype("float64")

        customer_id = np.arange(N, dtype=np.int64)
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

        reviews = self._reviews(rng, arch, seg, n_tx, first_row, ts, cat, D, start)
        names = np.array([a["name"] for a in arch], dtype=object)
        truth = pd.Series(pd.array(names[seg], dtype="str"), index=customers.index, name="segment")
        meta = {
            "generator": "synthetic",
            "segments": [a["name"] for a in arch],
            "segment_sizes": {a["name"]: int((seg == j).sum()) for j, a in enumerate(arch)},
            "n_transactions": T,
            "n_reviews": len(reviews),
            "seed": self.seed,
            "noise": self.noise,
        }
        data = CustomerData(
            name=self.name,
            customers=customers,
            transactions=transactions,
            reviews=reviews,
            truth=truth,
            reference_date=end.normalize() + pd.Timedelta(days=1),
            meta=meta,
        )
        return validate_customer_data(data)

    # ------------------------------------------------------------------------------------------
    def _reviews(self, rng, arch, seg, n_tx, first_row, ts, cat, D, start) -> pd.DataFrame:
        N = len(seg)
        p = np.clip(self.review_prob * np.array([a["review"] for a in arch])[seg], 0.0, 1.0)
        writes = rng.random(N) < p
        n_rev = np.where(writes, np.minimum(1 + rng.poisson(0.35, N), 3), 0)
        R = int(n_rev.sum())
        rc = np.repeat(np.arange(N), n_rev)
        tx = first_row[rc] + np.floor(rng.random(R) * n_tx[rc]).astype(np.int64)
        end_ns = start.to_datetime64().astype("datetime64[ns]") + np.timedelta64(int(D * 86_400e9) - 1, "ns")
        rts = ts[tx] + (rng.uniform(1.0, 14.0, R) * 86_400e9).astype("int64").astype("timedelta64[ns]")
        rts = np.minimum(rts, end_ns)
        tone = np.array([a["tone"] for a in arch])[seg[rc]]
        sentiment = tone + rng.normal(0.0, 0.9 * max(self.noise, 0.05), R)
        rating = np.clip(np.round(3.0 + 1.1 * sentiment), 1, 5).astype(int)

        def pick(pools_by_key, keys):
            """One random phrase per row from the pool of that row's key (vectorised per key)."""
            out = np.empty(R, dtype=object)
            u = rng.random(R)
            for k, pool in pools_by_key.items():
                m = keys == k
                if m.any():
                    out[m] = np.array(pool, dtype=object)[(u[m] * len(pool)).astype(int)]
            return out

        opener = pick(_OPENERS, rating)
        about = pick({j: _ABOUT[c] for j, c in enumerate(CATEGORIES)}, cat[tx].astype(int))
        closer = pick(_CLOSERS, rating)
        theme = pick({j: _THEMES[a["theme"]] for j, a in enumerate(arch)}, seg[rc])
        use_theme = rng.random(R) < 0.5
        text = (
            pd.Series(opener, dtype="str")
            + " "
            + pd.Series(about, dtype="str")
            + " "
            + pd.Series(np.where(use_theme, theme, closer), dtype="str")
        )
        return pd.DataFrame(
            {
                "customer_id": rc.astype(np.int64),
                "timestamp": rts,
                "text": text.astype("str"),
                "rating": rating.astype("float64"),
            }
        )
