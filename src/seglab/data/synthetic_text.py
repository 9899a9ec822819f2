"""Review text of the synthetic source: who reviews, when, with which rating, and the words.

Two ways to write the words, same reviewers, dates and ratings either way:

- **templated** (default, needs no files): an opener and a closer chosen by the rating, a
  sentence about the purchase's category and, in half the reviews, a segment-typical remark.
  About 11,000 distinct texts exist whatever the number of customers, so at scale the text
  cache answers almost every review and text throughput figures mean little.
- **corpus** (``review_corpus=path``): each review is 1-4 sentences drawn from the sentences of
  real reviews with the same star rating (``seglab.data.review_corpus``), so distinct texts
  grow with the number of reviews the way real ones do, and the words still follow the
  archetype's sentiment through the rating.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# fmt: off
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

#: sentences per corpus-drawn review: 1 + Poisson(mean), at most this many
MAX_CORPUS_SENTENCES = 4
_CORPUS_EXTRA_SENTENCES = 1.0


def synthetic_reviews(rng, arch, seg, n_tx, first_row, ts, cat, D, start, *, review_prob, noise,
                      categories, corpus=None, id_offset=0) -> pd.DataFrame:
    """The reviews of one block of customers (see ``seglab.data.synthetic`` for the model).

    ``corpus`` is ``None`` (templated words) or the rating -> sentences pools of
    ``seglab.data.review_corpus.sentence_pools``. The draws before the words are the same
    either way, so both give the same reviewers, dates and ratings.
    """
    N = len(seg)
    p = np.clip(review_prob * np.array([a["review"] for a in arch])[seg], 0.0, 1.0)
    writes = rng.random(N) < p
    n_rev = np.where(writes, np.minimum(1 + rng.poisson(0.35, N), 3), 0)
    R = int(n_rev.sum())
    rc = np.repeat(np.arange(N), n_rev)
    tx = first_row[rc] + np.floor(rng.random(R) * n_tx[rc]).astype(np.int64)
    end_ns = start.to_datetime64().astype("datetime64[ns]") + np.timedelta64(int(D * 86_400e9) - 1, "ns")
    rts = ts[tx] + (rng.uniform(1.0, 14.0, R) * 86_400e9).astype("int64").astype("timedelta64[ns]")
    rts = np.minimum(rts, end_ns)
    tone = np.array([a["tone"] for a in arch])[seg[rc]]
    sentiment = tone + rng.normal(0.0, 0.9 * max(noise, 0.05), R)
    rating = np.clip(np.round(3.0 + 1.1 * sentiment), 1, 5).astype(int)
    if corpus is None:
        text = _templated_text(rng, arch, seg[rc], cat[tx].astype(int), rating, categories)
    else:
        text = _corpus_text(rng, corpus, rating)
    return pd.DataFrame(
        {
            "customer_id": (rc + id_offset).astype(np.int64),
            "timestamp": rts,
            "text": text.astype("str"),
            "rating": rating.astype("float64"),
        }
    )


def _pick(rng, pools_by_key: dict, keys: np.ndarray) -> np.ndarray:
    """One random phrase per row from the pool of that row's key (vectorised per key)."""
    out = np.empty(len(keys), dtype=object)
    u = rng.random(len(keys))
    for k, pool in pools_by_key.items():
        m = keys == k
        if m.any():
            out[m] = np.asarray(pool, dtype=object)[(u[m] * len(pool)).astype(int)]
    return out


def _templated_text(rng, arch, review_seg, review_cat, rating, categories) -> pd.Series:
    opener = _pick(rng, _OPENERS, rating)
    about = _pick(rng, {j: _ABOUT[c] for j, c in enumerate(categories)}, review_cat)
    closer = _pick(rng, _CLOSERS, rating)
    theme = _pick(rng, {j: _THEMES[a["theme"]] for j, a in enumerate(arch)}, review_seg)
    use_theme = rng.random(len(rating)) < 0.5
    return (
        pd.Series(opener, dtype="str")
        + " "
        + pd.Series(about, dtype="str")
        + " "
        + pd.Series(np.where(use_theme, theme, closer), dtype="str")
    )


def _corpus_text(rng, pools: dict[int, np.ndarray], rating: np.ndarray) -> pd.Series:
    """1-4 sentences per review, each drawn from the real sentences of the review's rating."""
    R = len(rating)
    n_sent = np.minimum(1 + rng.poisson(_CORPUS_EXTRA_SENTENCES, R), MAX_CORPUS_SENTENCES)
    text = pd.Series(_pick(rng, pools, rating), dtype="str")
    for j in range(1, MAX_CORPUS_SENTENCES):
        more = pd.Series(_pick(rng, pools, rating), dtype="str")
        text = text.where(n_sent <= j, text + " " + more)
    return text
