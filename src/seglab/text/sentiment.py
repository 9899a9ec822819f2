"""Turn model outputs into a sentiment score in [-1, 1] plus class probabilities.

Two ways to get there:

- `SentimentHead`: a small softmax MLP (or a linear layer) on the encoder's pooled embedding.
  The shipped head (``seglab/assets/sentiment_head_minilm.npz``, made by
  ``scripts/train_sentiment_head.py``) maps all-MiniLM-L6-v2 embeddings to negative/positive;
  `fit_ratings_head` fits one on a dataset's own star ratings (``text.head=ratings``).
  The score is the expectation of per-class scores under the class probabilities
  (negative = -1, positive = +1; ratings map linearly from [lowest, highest] to [-1, 1]).
- `label_scores_from_id2label`: for any sequence classifier, read each label's score from its
  name (``NEGATIVE``/``POSITIVE``/``neutral``, ``1 star``..``5 stars``, ``LABEL_0``/``LABEL_1``);
  ``text.label_scores`` overrides it.

The head runs in numpy: it is a few matrix products, and it keeps this file free of torch.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from seglab.errors import ConfigError

log = logging.getLogger(__name__)

#: The head shipped with seglab for the packaged all-MiniLM-L6-v2.
SHIPPED_HEAD = "sentiment_head_minilm.npz"


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class SentimentHead:
    """Standardize, then ReLU MLP layers, then softmax over ``classes``.

    Attributes:
        weights / biases: one (in, out) matrix and (out,) vector per layer; ReLU between layers.
        classes: class names, e.g. ``["negative", "positive"]`` or ``["1", "2", ..., "5"]``.
        class_scores: the score of each class in [-1, 1]; a review's score is ``proba @ class_scores``.
        mean / scale: input standardization (identity when ``None``).
        meta: how the head was made (corpora, seed, metrics); saved beside the weights.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    classes: list[str]
    class_scores: np.ndarray
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def in_dim(self) -> int:
        return int(self.weights[0].shape[0])

    def logits(self, emb: np.ndarray) -> np.ndarray:
        h = np.asarray(emb, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != self.in_dim:
            raise ConfigError(f"sentiment head expects embeddings of width {self.in_dim}, got shape {h.shape}")
        if self.mean is not None:
            h = (h - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, emb: np.ndarray) -> np.ndarray:
        return softmax(self.logits(emb).astype(np.float64))

    def score(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score in [-1, 1], class probabilities) per embedding row."""
        proba = self.predict_proba(emb)
        return np.clip(proba @ self.class_scores, -1.0, 1.0), proba

    # --- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"w{i}": w.astype(np.float32) for i, w in enumerate(self.weights)}
        arrays.update({f"b{i}": b.astype(np.float32) for i, b in enumerate(self.biases)})
        if self.mean is not None:
            arrays["mean"] = self.mean.astype(np.float32)
            arrays["scale"] = self.scale.astype(np.float32)
        arrays["class_scores"] = np.asarray(self.class_scores, dtype=np.float64)
        header = {"classes": list(self.classes), "n_layers": len(self.weights), "meta": self.meta}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentHead:
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                n = header["n_layers"]
                return cls(
                    weights=[z[f"w{i}"] for i in range(n)],
                    biases=[z[f"b{i}"] for i in range(n)],
                    classes=header["classes"],
                    class_scores=z["class_scores"],
                    mean=z["mean"] if "mean" in z else None,
                    scale=z["scale"] if "scale" in z else None,
                    meta=header.get("meta", {}),
                )
        except (OSError, KeyError, ValueError) as e:
            raise ConfigError(f"{path} is not a seglab sentiment head (.npz from SentimentHead.save): {e}") from e


def shipped_head_path() -> Path:
    return Path(str(resources.files("seglab") / "assets" / SHIPPED_HEAD))


def load_shipped_head() -> SentimentHead:
    path = shipped_head_path()
    if not path.exists():
        raise ConfigError(
            f"the shipped sentiment head {path} is missing; rebuild it with scripts/train_sentiment_head.py"
        )
    return SentimentHead.load(path)


def fit_ratings_head(emb: np.ndarray, ratings: np.ndarray, seed: int = 0, C: float = 1.0) -> SentimentHead:
    """A multinomial logistic head predicting the dataset's own star ratings (``text.head=ratings``).

    Classes are the distinct rating values; their scores map linearly from [lowest, highest]
    rating to [-1, 1], so the score is the expected rating on that scale.
    """
    from sklearn.linear_model import LogisticRegression

    ratings = np.asarray(ratings, dtype=np.float64)
    ok = np.isfinite(ratings)
    values = np.unique(ratings[ok])
    if len(values) < 2:
        raise ConfigError(
            f"text.head=ratings needs reviews with at least 2 distinct ratings; "
            f"got {int(ok.sum())} rated reviews with values {values.tolist()[:10]}"
        )
    if ok.sum() < 100:
        log.warning("text.head=ratings: fitting on only %d rated reviews; scores will be noisy", int(ok.sum()))
    X = np.asarray(emb, dtype=np.float64)[ok]
    y = np.searchsorted(values, ratings[ok])
    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit((X - mean) / scale, y)
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: logits (0, z) give softmax == sigmoid(z)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    lo, hi = values.min(), values.max()
    scores = 2.0 * (values - lo) / (hi - lo) - 1.0
    return SentimentHead(
        weights=[coef.T.astype(np.float32)],
        biases=[intercept.astype(np.float32)],
        classes=[f"{v:g}" for v in values],
        class_scores=scores,
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        meta={"kind": "ratings", "n_train": int(ok.sum()), "C": C, "seed": seed},
    )


_STAR = re.compile(r"^\s*(\d+)\s*stars?\s*$")


def label_scores_from_id2label(
    id2label: Mapping[int, str], override: Mapping[str, float] | None = None
) -> tuple[list[str], np.ndarray]:
    """(labels in id order, score per label in [-1, 1]) for a sequence classifier.

    ``override`` maps label names (or ids as strings) to scores and wins over the rules below.
    Rules on the lower-cased label: contains ``neg`` -> -1, ``pos`` -> +1, ``neu`` -> 0;
    ``"k star(s)"`` -> linear from the lowest to the highest star; generic ``LABEL_i`` with
    2 or 3 labels -> (-1, 1) or (-1, 0, 1) in id order (the SST-2/sentiment convention).
    """
    ids = sorted(int(k) for k in id2label)
    labels = [str(id2label[i] if i in id2label else id2label[str(i)]) for i in ids]
    if override:
        ov = {str(k): float(v) for k, v in override.items()}
        missing = [lab for i, lab in zip(ids, labels, strict=True) if lab not in ov and str(i) not in ov]
        if missing:
            raise ConfigError(f"text.label_scores has no score for labels {missing} (model labels: {labels})")
        scores = np.array([ov.get(lab, ov.get(str(i))) for i, lab in zip(ids, labels, strict=True)], float)
        return labels, np.clip(scores, -1.0, 1.0)
    low = [lab.lower() for lab in labels]
    if all(_STAR.match(lab) for lab in low):
        stars = np.array([int(_STAR.match(lab).group(1)) for lab in low], float)
        if stars.max() > stars.min():
            return labels, 2 * (stars - stars.min()) / (stars.max() - stars.min()) - 1
    scores = []
    for lab in low:
        if "neg" in lab:
            scores.append(-1.0)
        elif "pos" in lab:
            scores.append(1.0)
        elif "neu" in lab:
            scores.append(0.0)
        else:
            scores.append(None)
    if None not in scores:
        return labels, np.array(scores, float)
    if all(re.fullmatch(r"label_\d+", lab) for lab in low) and len(labels) in (2, 3):
        return labels, np.array([-1.0, 1.0] if len(labels) == 2 else [-1.0, 0.0, 1.0])
    raise ConfigError(
        f"cannot read a sentiment score from the model's labels {labels}; set "
        "text.label_scores, e.g. text.label_scores='{LABEL_0: -1, LABEL_1: 1}'"
    )


def classifier_scores(
    logits: np.ndarray, label_scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """(score, class probabilities) from a classifier's logits and per-label scores."""
    proba = softmax(np.asarray(logits, dtype=np.float64))
    return np.clip(proba @ np.asarray(label_scores, float), -1.0, 1.0), proba
