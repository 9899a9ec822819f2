"""The text path's one entry point: reviews in `CustomerData` -> per-customer ``text_`` features.

``build_text_features(data, cfg_text)`` is what `seglab.train.run` calls; ``cfg_text`` is the
resolved ``text`` config group (``conf/text/*.yaml``):

- ``name``: ``none`` (no text features) | ``minilm`` | ``hf_classifier``;
- ``model``: Hugging Face id or local folder (``null`` = the packaged all-MiniLM-L6-v2);
- ``head``: ``shipped`` (minilm's bundled sentiment head) | ``model`` (hf_classifier's own
  labels) | ``ratings`` (fit a head on the dataset's own star ratings) | a path to a ``.npz``
  head saved by `SentimentHead.save`;
- ``label_scores``: hf_classifier only, ``{label: score}`` overriding the ``id2label`` rules;
- ``batch_size``, ``max_length``, ``device``, ``num_threads``, ``progress``: speed knobs;
- ``cache_dir``: on-disk cache of model outputs (``null`` disables it);
- ``embed_dim``: number of PCA components of the mean review embedding (0 = none);
- ``recency_half_life_days``, ``negative_threshold``: aggregation (see `seglab.text.aggregate`);
- ``seed``: the ratings head and PCA.

Review text never leaves this module: the returned frame, the cache and the log lines carry
scores, aggregates, hashes and counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.text.aggregate import MASK_COLUMN, aggregate_scores, embedding_features

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "name": "minilm",
    "model": None,
    "head": None,  # shipped for minilm, model for hf_classifier
    "label_scores": None,
    "batch_size": 64,
    "max_length": 256,
    "device": "cpu",
    "num_threads": None,
    "progress": "auto",
    "cache_dir": None,
    "embed_dim": 0,
    "recency_half_life_days": 180.0,
    "negative_threshold": 0.0,
    "seed": 0,
}


@dataclass
class ReviewScores:
    """Per-review model output, aligned with the input texts.

    Attributes:
        score: sentiment in [-1, 1] (NaN where the text was empty or whitespace-only and
            ``skip_empty`` was set).
        proba: class probabilities, shape (n, len(classes)) (NaN rows where ``score`` is NaN).
        classes: class names of ``proba``'s columns.
        embedding: mean-pooled model embedding (n, hidden) or ``None``.
    """

    score: np.ndarray
    proba: np.ndarray
    classes: list[str]
    embedding: np.ndarray | None


def resolve_config(cfg_text: Mapping[str, Any] | None) -> dict[str, Any]:
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in dict(cfg_text or {}).items()})
    name = str(cfg["name"]).lower()
    if name not in ("none", "minilm", "hf_classifier"):
        raise ConfigError(f"text.name must be none, minilm or hf_classifier, got {cfg['name']!r}")
    cfg["name"] = name
    if cfg["head"] in (None, "", "default"):
        cfg["head"] = "shipped" if name == "minilm" else "model"
    if cfg["model"] in ("???", ""):
        cfg["model"] = None
    if name == "hf_classifier" and not cfg["model"]:
        raise ConfigError("text=hf_classifier needs text.model=<Hugging Face id or local folder>")
    if name == "minilm" and cfg["head"] == "model":
        raise ConfigError("text=minilm has no classification layer: use text.head=shipped, ratings or a .npz path")
    return cfg


def clean_texts(texts: Sequence[Any]) -> list[str]:
    """Texts as str; None/NaN become ''; lone surrogates and NULs cannot break the tokenizer."""
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            out.append("")
            continue
        s = str(t).replace("\x00", " ")
        out.append(s.encode("utf-8", "replace").decode("utf-8"))
    return out


def make_runner(cfg: Mapping[str, Any]):
    from seglab.text.encoder import TransformerRunner

    return TransformerRunner(
        model=cfg.get("model"),
        kind="encoder" if cfg["name"] == "minilm" else "classifier",
        device=str(cfg.get("device") or "cpu"),
        batch_size=int(cfg.get("batch_size") or 64),
        max_length=int(cfg.get("max_length") or 256),
        num_threads=cfg.get("num_threads"),
        progress=cfg.get("progress", "auto"),
        backend=str(cfg.get("backend") or "auto"),
        compute_type=str(cfg.get("compute_type") or "int8"),
        convert_dir=Path(cfg["cache_dir"]) / "ct2" if cfg.get("cache_dir") else None,
    )


def score_texts(
    texts: Sequence[Any],
    cfg_text: Mapping[str, Any] | None = None,
    ratings: Sequence[float] | None = None,
    runner: Any = None,
    skip_empty: bool = True,
) -> ReviewScores:
    """Score every text: (score in [-1, 1], class probabilities, pooled embedding).

    ``ratings`` (aligned with ``texts``) is needed only for ``head=ratings``. ``runner`` lets a
    caller reuse a loaded `TransformerRunner` (benchmarks, tests).
    """
    from seglab.text.cache import VectorCache
    from seglab.text.sentiment import (
        SentimentHead,
        classifier_scores,
        fit_ratings_head,
        label_scores_from_id2label,
        load_shipped_head,
    )

    cfg = resolve_config(cfg_text)
    if cfg["name"] == "none":
        raise ConfigError("score_texts needs a text model (text.name is none)")
    texts = clean_texts(texts)
    n = len(texts)
    valid = np.array([bool(t.strip()) for t in texts]) if skip_empty else np.ones(n, bool)
    runner = runner or make_runner(cfg)
    cache = VectorCache(cfg.get("cache_dir"), runner.identity, runner.out_dim)
    todo = [t for t, ok in zip(texts, valid, strict=True) if ok]
    try:
        out = cache.get_or_compute(todo, runner.run, on_missing=runner.open_progress)
    finally:
        runner.close_progress()
    if n:
        log.info("text: %d texts (%d empty skipped), cache hits %d, encoded %d", n, n - len(todo), cache.hits, cache.misses)

    if runner.kind == "classifier":
        logits, emb = out[:, : runner.n_labels], out[:, runner.n_labels :]
    else:
        logits, emb = None, out

    head = cfg["head"]
    if head == "model":
        if logits is None:
            raise ConfigError("text.head=model needs a sequence classifier (text=hf_classifier)")
        classes, label_scores = label_scores_from_id2label(runner.id2label, cfg.get("label_scores"))
        score, proba = classifier_scores(logits, label_scores)
    else:
        if head == "shipped":
            if runner.kind != "encoder" or runner.hidden_size != 384:
                raise ConfigError("the shipped head fits all-MiniLM-L6-v2 embeddings only; use text.head=ratings")
            sh = load_shipped_head()
        elif head == "ratings":
            if ratings is None:
                raise ConfigError("text.head=ratings needs review ratings, and this data has none")
            r = np.asarray(ratings, dtype=np.float64)[valid]
            sh = fit_ratings_head(emb, r, seed=int(cfg.get("seed") or 0))
        else:
            sh = SentimentHead.load(head)
        classes = list(sh.classes)
        score, proba = sh.score(emb) if len(emb) else (np.zeros(0), np.zeros((0, len(classes))))

    full_score = np.full(n, np.nan)
    full_proba = np.full((n, len(classes)), np.nan)
    full_emb = np.full((n, emb.shape[1]), np.nan, dtype=np.float32)
    full_score[valid] = score
    full_proba[valid] = proba
    full_emb[valid] = emb
    return ReviewScores(score=full_score, proba=full_proba, classes=classes, embedding=full_emb)


def build_text_features(data, cfg_text: Mapping[str, Any]) -> pd.DataFrame | None:
    """Per-customer ``text_`` features for ``data`` (a `CustomerData`), or ``None``.

    ``None`` when ``cfg_text["name"] == "none"`` or the data has no reviews. Otherwise a frame
    indexed by ``customer_id`` in the order of ``data.customers`` with ``text_has_reviews``
    (0/1 mask, first so a correlation filter keeps it), ``text_n_reviews``, the sentiment
    aggregates of `seglab.text.aggregate` (NaN for customers without reviews) and, if
    ``embed_dim > 0``, ``text_emb_0..``.
    """
    cfg = resolve_config(cfg_text)
    if cfg["name"] == "none" or data.reviews is None or len(data.reviews) == 0:
        return None
    reviews = data.reviews
    for col in ("customer_id", "text"):
        if col not in reviews.columns:
            raise ConfigError(f"data.reviews has no {col!r} column (columns: {list(reviews.columns)})")
    ratings = reviews["rating"].to_numpy(dtype=float) if "rating" in reviews.columns else None
    if cfg["head"] == "ratings" and (ratings is None or not np.isfinite(ratings).any()):
        raise ConfigError(f"text.head=ratings: dataset {data.name!r} has no review ratings")
    rs = score_texts(reviews["text"].tolist(), cfg, ratings=ratings)
    cids = data.customer_ids
    review_cid = reviews["customer_id"].to_numpy()
    unknown = int((~pd.Index(review_cid).isin(cids)).sum())
    if unknown:
        log.warning("text: %d reviews belong to customers not in data.customers; ignored", unknown)
    agg = aggregate_scores(
        cids,
        review_cid,
        rs.score,
        timestamps=reviews["timestamp"] if "timestamp" in reviews.columns else None,
        as_of=data.as_of(),
        half_life_days=float(cfg["recency_half_life_days"]),
        negative_threshold=float(cfg["negative_threshold"]),
    )
    cols = [MASK_COLUMN] + [c for c in agg.columns if c != MASK_COLUMN]
    agg = agg[cols]
    embed_dim = int(cfg.get("embed_dim") or 0)
    if embed_dim > 0:
        emb = embedding_features(
            cids, review_cid, rs.embedding, np.isfinite(rs.score), embed_dim, seed=int(cfg.get("seed") or 0)
        )
        agg = agg.join(emb)
    log.info(
        "text: %d of %d customers have scored reviews; mean score %.3f",
        int(agg[MASK_COLUMN].sum()), len(agg), float(np.nanmean(rs.score)) if np.isfinite(rs.score).any() else float("nan"),
    )
    return agg
