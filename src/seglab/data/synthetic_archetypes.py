"""The planted customer archetypes of the synthetic source (`seglab.data.synthetic`): how each
kind of customer buys, reviews and what it looks like, and how a segment count maps onto them."""

from __future__ import annotations

import numpy as np

CATEGORIES = ("groceries", "electronics", "fashion", "home", "beauty", "sports")
#: price multiplier per category (electronics cost more than groceries)
CATEGORY_PRICE = np.array([0.7, 1.6, 1.0, 1.2, 0.8, 1.1])

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
# fmt: on

REGIONS = ("north", "south", "east", "west")
CHANNELS = ("online", "store", "app")


def archetypes(n_segments: int) -> list[dict]:
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


def quota(n: int, p: np.ndarray) -> np.ndarray:
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
