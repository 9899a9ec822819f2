"""Why a customer is in a segment: surrogate-tree rules and permutation feature importance.

Surrogate tree (``surrogate_tree``)
    A shallow ``DecisionTreeClassifier`` is trained to predict the segment labels from the
    *un-preprocessed* features (so its thresholds read in money, days and counts), on a
    seeded, stratified ``1 - test_size`` share of the customers. Its **fidelity** is the
    accuracy of the tree's predictions against the clustering's labels on the held-out
    customers: how much of the segmentation the printed rules actually explain. Every leaf
    becomes a rule ``feature <= t and ...`` for the segment it predicts, with its support
    (training customers in the leaf) and precision (share of them really in that segment).
    Missing values follow the tree's learned direction (scikit-learn >= 1.3) and are not
    spelled out in the rule text.

Permutation importance (``permutation_importance_table``)
    ``sklearn.inspection.permutation_importance`` with agreement (accuracy) between the
    model's ``predict`` on permuted data and the labels: the drop when one feature is
    shuffled. Applied to the clustering model itself on the preprocessed matrix (what the
    model uses) and to the surrogate tree on the held-out customers (what the rules use).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from seglab.evaluate.profiles import numeric_feature_columns, segment_name


def fidelity_score(predictor: Any, X, labels: Sequence[int] | np.ndarray) -> float:
    """Share of rows where ``predictor.predict(X)`` equals the clustering's ``labels``."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.asarray(predictor.predict(X)) == labels))


@dataclass
class SurrogateResult:
    """``tree``; ``feature_names``; ``fidelity`` (held-out accuracy vs the labels),
    ``fidelity_train``; ``n_train``/``n_test``; ``rules`` (one row per leaf: ``segment``,
    ``rule``, ``support``, ``precision``); ``test_index`` (row positions held out)."""

    tree: DecisionTreeClassifier
    feature_names: list[str]
    fidelity: float
    fidelity_train: float
    n_train: int
    n_test: int
    rules: pd.DataFrame
    test_index: np.ndarray

    def metrics(self) -> dict[str, float]:
        return {
            "explain/surrogate_fidelity": self.fidelity,
            "explain/surrogate_fidelity_train": self.fidelity_train,
            "explain/surrogate_n_leaves": float(self.tree.get_n_leaves()),
        }


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def tree_rules(tree: DecisionTreeClassifier, feature_names: Sequence[str]) -> pd.DataFrame:
    """One row per leaf: the segment it predicts, the rule (thresholds on one feature merged
    into one interval), its training support and precision. Sorted by segment, then support."""
    t = tree.tree_
    rows = []

    def walk(node: int, bounds: dict[int, list[float]]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            cls = int(np.argmax(counts))
            parts = []
            for f, (lo, hi) in sorted(bounds.items()):
                name = feature_names[f]
                if lo > -np.inf and hi < np.inf:
                    parts.append(f"{_fmt(lo)} < {name} <= {_fmt(hi)}")
                elif lo > -np.inf:
                    parts.append(f"{name} > {_fmt(lo)}")
                else:
                    parts.append(f"{name} <= {_fmt(hi)}")
            total = float(counts.sum())
            rows.append(
                {
                    "segment": segment_name(int(tree.classes_[cls])),
                    "label": int(tree.classes_[cls]),
                    "rule": " and ".join(parts) or "(all customers)",
                    "support": int(t.n_node_samples[node]),
                    "precision": float(counts[cls] / total) if total > 0 else float("nan"),
                }
            )
            return
        f, thr = int(t.feature[node]), float(t.threshold[node])
        lo, hi = bounds.get(f, [-np.inf, np.inf])
        walk(int(t.children_left[node]), {**bounds, f: [lo, min(hi, thr)]})
        walk(int(t.children_right[node]), {**bounds, f: [max(lo, thr), hi]})

    walk(0, {})
    out = pd.DataFrame(rows, columns=["segment", "label", "rule", "support", "precision"])
    out = out.sort_values(["label", "support"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return out.drop(columns="label")


def surrogate_tree(
    features: pd.DataFrame,
    labels: Sequence[int] | np.ndarray,
    *,
    max_depth: int = 3,
    min_samples_leaf: float | int = 0.01,
    test_size: float = 0.25,
    max_samples: int | None = 100000,
    random_state: int = 0,
) -> SurrogateResult:
    """Fit a shallow decision tree that imitates the segmentation; report its fidelity.

    Args:
        features: un-preprocessed numeric features (original units), aligned with ``labels``.
        labels: the segments (noise -1 is one more class).
        max_depth: depth of the tree (3 = at most 8 rules: readable).
        min_samples_leaf: minimum leaf size (a float is a share of the training rows).
        test_size: share of customers held out to measure fidelity.
        max_samples: fit and test on a seeded sample of this many customers at most.
        random_state: seeds the sample, the split and the tree.
    """
    labels = np.asarray(labels, dtype=int)
    cols = numeric_feature_columns(features)
    X = features[cols].astype(float).to_numpy()
    idx = np.arange(len(X))
    rng = np.random.RandomState(random_state)
    if max_samples is not None and len(X) > max_samples:
        idx = np.sort(rng.choice(len(X), size=int(max_samples), replace=False))
    _, counts = np.unique(labels[idx], return_counts=True)
    stratify = labels[idx] if counts.min() >= 2 and len(counts) > 1 else None
    train, test = train_test_split(idx, test_size=test_size, random_state=random_state, stratify=stratify)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=random_state
    ).fit(X[train], labels[train])
    return SurrogateResult(
        tree=tree,
        feature_names=cols,
        fidelity=fidelity_score(tree, X[test], labels[test]),
        fidelity_train=fidelity_score(tree, X[train], labels[train]),
        n_train=len(train),
        n_test=len(test),
        rules=tree_rules(tree, cols),
        test_index=np.sort(test),
    )


def _agreement(estimator: Any, X, y) -> float:
    return float(np.mean(np.asarray(estimator.predict(X)) == np.asarray(y)))


def permutation_importance_table(
    predictor: Any,
    X,
    labels: Sequence[int] | np.ndarray,
    feature_names: Sequence[str],
    *,
    n_repeats: int = 5,
    max_samples: int | None = 5000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Permutation importance of each column of ``X`` for ``predictor.predict`` reproducing
    ``labels`` (``sklearn.inspection.permutation_importance``, scoring = agreement).

    Returns a frame ``feature``, ``importance_mean``, ``importance_std``, sorted by importance.
    """
    X = np.asarray(X)
    labels = np.asarray(labels)
    if max_samples is not None and len(X) > max_samples:
        idx = np.sort(
            np.random.RandomState(random_state).choice(len(X), size=int(max_samples), replace=False)
        )
        X, labels = X[idx], labels[idx]
    res = permutation_importance(
        predictor, X, labels, scoring=_agreement, n_repeats=n_repeats, random_state=random_state
    )
    out = pd.DataFrame(
        {
            "feature": list(feature_names),
            "importance_mean": res.importances_mean,
            "importance_std": res.importances_std,
        }
    )
    return out.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)


def write_explanations(
    run_dir: str | Path,
    features: pd.DataFrame,
    X: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    model: Any | None = None,
    *,
    feature_names: Sequence[str] | None = None,
    max_depth: int = 3,
    n_repeats: int = 5,
    max_samples: int | None = 5000,
    random_state: int = 0,
) -> dict[str, float]:
    """Surrogate rules and permutation importances into ``run_dir``.

    Writes ``surrogate_rules.csv`` (segment, rule, support, precision), ``explanations.json``
    (fidelity, rules per segment, importances) and ``feature_importance.csv`` (columns
    ``of`` = ``model`` | ``surrogate``, ``feature``, ``importance_mean``, ``importance_std``);
    the model's importances need ``model`` and the preprocessed ``X`` with its
    ``feature_names`` (``preprocessor.feature_names_out_``). Returns ``explain/*`` metrics.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, dtype=int)
    sur = surrogate_tree(features, labels, max_depth=max_depth, random_state=random_state)
    sur.rules.to_csv(run_dir / "surrogate_rules.csv", index=False)
    cols = sur.feature_names
    Xf = features[cols].astype(float).to_numpy()
    tables = [
        permutation_importance_table(
            sur.tree,
            Xf[sur.test_index],
            labels[sur.test_index],
            cols,
            n_repeats=n_repeats,
            max_samples=max_samples,
            random_state=random_state,
        ).assign(of="surrogate")
    ]
    if model is not None:
        names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(np.shape(X)[1])]
        tables.insert(
            0,
            permutation_importance_table(
                model,
                X,
                labels,
                names,
                n_repeats=n_repeats,
                max_samples=max_samples,
                random_state=random_state,
            ).assign(of="model"),
        )
    imp = pd.concat(tables, ignore_index=True)[["of", "feature", "importance_mean", "importance_std"]]
    imp.to_csv(run_dir / "feature_importance.csv", index=False)
    metrics = sur.metrics()
    summary = {
        "surrogate": {
            "fidelity_heldout": sur.fidelity,
            "fidelity_train": sur.fidelity_train,
            "n_train": sur.n_train,
            "n_test": sur.n_test,
            "max_depth": max_depth,
            "rules": {
                seg: grp.drop(columns="segment").to_dict(orient="records")
                for seg, grp in sur.rules.groupby("segment")
            },
        },
        "importance": {
            of: grp.head(10).drop(columns="of").to_dict(orient="records") for of, grp in imp.groupby("of")
        },
    }
    (run_dir / "explanations.json").write_text(json.dumps(summary, indent=2, default=float))
    return metrics
