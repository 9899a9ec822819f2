"""Sentences of real reviews, pooled by star rating, for the synthetic source's review text.

``sentence_pools(paths)`` reads one or more review files and returns ``{rating: sentences}``
for ratings 1-5. Files the reader knows (the text and rating columns are found by name):

- Women's E-Commerce Clothing Reviews (``Review Text``, ``Rating``; a zip of one CSV);
- Amazon 5-core reviews, JSON lines, optionally gzip (``reviewText``, ``overall``; the release
  repeats a review across product variants, so texts are deduplicated);
- any CSV/TSV/Parquet/JSON-lines file with ``text`` and ``rating`` columns.

Reviews are split into sentences at ``.``, ``!`` or ``?`` followed by a space; sentences of
3-60 words are kept once each. Every rating 1-5 needs at least one sentence (a corpus of only
positive reviews cannot give a lapsing customer's complaint).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.errors import DataValidationError

TEXT_COLUMNS = ("Review Text", "reviewText", "text", "review", "verified_reviews")
RATING_COLUMNS = ("Rating", "overall", "rating", "stars")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_WORDS, MAX_WORDS = 3, 60


def read_reviews_file(path: str | Path) -> pd.DataFrame:
    """``text`` and ``rating`` (int 1-5) of one review file; rows without text are dropped."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataValidationError("review corpus file not found (data.review_corpus)", file=str(p))
    name = p.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(p) as z:
                inner = [n for n in z.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX")]
                if not inner:
                    raise DataValidationError("zip holds no CSV file", file=str(p))
                with z.open(inner[0]) as fh:
                    raw = pd.read_csv(fh)
        elif ".json" in name:
            raw = pd.read_json(p, lines=True)
        elif name.endswith((".parquet", ".pq")):
            raw = pd.read_parquet(p)
        else:
            raw = pd.read_csv(p, sep="\t" if ".tsv" in name else ",")
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise DataValidationError(f"review corpus could not be read: {e}", file=str(p)) from None
    text_col = next((c for c in TEXT_COLUMNS if c in raw.columns), None)
    rating_col = next((c for c in RATING_COLUMNS if c in raw.columns), None)
    if text_col is None or rating_col is None:
        raise DataValidationError(
            f"review corpus needs a text column (one of {list(TEXT_COLUMNS)}) and a rating column "
            f"(one of {list(RATING_COLUMNS)}); columns: {list(raw.columns)}",
            file=str(p),
            column=TEXT_COLUMNS[0] if text_col is None else RATING_COLUMNS[0],
        )
    rating = pd.to_numeric(raw[rating_col], errors="coerce").round()
    out = pd.DataFrame({"text": raw[text_col].astype("string").str.strip(), "rating": rating})
    out = out[out["text"].notna() & (out["text"] != "") & out["rating"].between(1, 5)]
    return out.drop_duplicates("text").astype({"rating": "int64"}).reset_index(drop=True)


def split_sentences(texts: pd.Series) -> pd.Series:
    """One row per sentence (index = the review's row), whitespace collapsed."""
    sentences = texts.str.replace(r"\s+", " ", regex=True).str.split(_SENTENCE_END).explode()
    sentences = sentences.str.strip()
    words = sentences.str.count(" ") + 1
    return sentences[sentences.notna() & words.between(MIN_WORDS, MAX_WORDS)]


def sentence_pools(paths: str | Path | Iterable[str | Path]) -> dict[int, np.ndarray]:
    """``{rating: array of distinct sentences}`` for ratings 1-5 from the review files."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise DataValidationError("data.review_corpus names no file")
    reviews = pd.concat([read_reviews_file(p) for p in paths], ignore_index=True)
    sentences = split_sentences(reviews["text"])
    frame = pd.DataFrame({"sentence": sentences.to_numpy(), "rating": reviews["rating"].to_numpy()[sentences.index]})
    frame = frame.drop_duplicates("sentence")
    pools = {r: frame.loc[frame["rating"] == r, "sentence"].to_numpy(dtype=object) for r in range(1, 6)}
    empty = [r for r, pool in pools.items() if len(pool) == 0]
    if empty:
        raise DataValidationError(
            f"review corpus has no sentence for rating(s) {empty}: every rating 1-5 is needed",
            file=", ".join(map(str, paths)),
            column="rating",
        )
    return pools
