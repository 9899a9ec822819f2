"""A guard that refactors leave every model's labels where they were.

Each model is built the way a run builds it (``seglab.train.build_model`` on the composed
``conf/model/<name>.yaml``, ``n_clusters=4``, ``seed=0``; deep models with tiny budgets:
``model.max_epochs=3``, and ``model.cluster_max_epochs=2`` where there is a clustering phase;
``OVERRIDES`` below),
fitted on a fixed, deliberately overlapping data set (``make_blobs(600, 8, centers=6,
cluster_std=3.0, random_state=0)`` as float32, clustered into 4 so that the models disagree),
and the md5 of its ``labels_`` (int64 bytes) is compared with the one below.

How the fingerprints were made: by the code *before* the issue-12 refactor (commit d3d792e, the
flat-keyword deep constructors and ``models/classical.py``), run from a git worktree of that
commit with its own ``conf/`` (torch 2.13 CPU, scikit-learn 1.9.1, numpy 2.4.6, one thread). The
refactored code gave the same md5 for every model here (and for dbscan, n2d and dec_paper).

When to update a fingerprint: only in a commit that changes a model's behaviour *on purpose*
(a new default in ``conf/model``, a bug fix in a fit), saying so in the commit message. A
refactor, a rename or a new code path that is off by default must leave them unchanged; if one
moves, find out why before touching the number.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from sklearn.datasets import make_blobs

CONF = Path(__file__).resolve().parents[1] / "conf"

#: md5 of labels_ (int64) per conf/model option, computed by the pre-refactor code (d3d792e).
FINGERPRINTS = {
    "kmeans": "ed7734aa41e7614b24f09e444d686cd9",
    "minibatch_kmeans": "5cf726bbf8dfd8687b16bef103bc414f",
    "gmm": "0200793feb014a9205a279bad9c75fc8",
    "pca_kmeans": "3bb1453fa1229790b2e7d33b6f265505",
    "hierarchical": "1069e8fa8e342d93586c9282277a5f62",
    "spectral": "8be020bed15be48dc0b4ff7b7d7e0727",
    "hdbscan": "09c0ab71b6ab8f6cf1feb22ed3ed6913",
    "consensus": "494088859f9d8955856ba32a038398e3",
    "ae_kmeans": "4b2adca5b25ce500fe6e48bc709a3416",
    "dec": "d62dffd59d2f17909449f1058199db41",
    "idec": "398ef541a04f91607ff266746a7f8343",
    "dbscan": "535156a72b2820dca9cea4df95825fbc",
    "n2d": "cfba193e648292f38ca4167c79c2adb6",
    "dec_paper": "765a2cfdcfcd0625e22f6d3ca48620b3",
}
#: Overrides per model: tiny budgets for the deep ones, and the pre-refactor defaults where a later
#: commit changed a default on purpose (5d6af54: gmm.yaml's covariance_type became ``bic``,
#: dbscan.yaml's min_samples ``auto``; issue 18: dbscan.yaml and hdbscan.yaml cluster a UMAP
#: embedding, hdbscan.yaml's min_samples ``auto``), so the code path the fingerprint was made with
#: is still the one checked.
OVERRIDES = {"ae_kmeans": ["model.max_epochs=3"],
             "dec": ["model.max_epochs=3", "model.cluster_max_epochs=2"],
             "idec": ["model.max_epochs=3", "model.cluster_max_epochs=2"],
             "n2d": ["model.max_epochs=3"],
             "dec_paper": ["model.max_epochs=3", "model.cluster_max_epochs=2"],
             "gmm": ["model.covariance_type=full"], "dbscan": ["model.min_samples=10", "model.embedding=null"],
             "hdbscan": ["model.min_samples=null", "model.embedding=null"]}


def _data() -> np.ndarray:
    X, _ = make_blobs(600, 8, centers=6, cluster_std=3.0, random_state=0)
    return X.astype(np.float32)


def _labels(name: str, tmp_path: Path) -> np.ndarray:
    from seglab.train import build_model

    overrides = [f"model={name}", "n_clusters=4", "seed=0", *OVERRIDES.get(name, [])]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    trainer = dict(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer.update(logger=False, enable_checkpointing=False, default_root_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(cfg, trainer, None).fit(_data())
    return np.asarray(model.labels_, dtype=np.int64)


#: n2d's first UMAP pays numba's compilation (about 30 s): run with the slow group, after the
#: conformance checks have compiled it.
SLOW = {"n2d"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in sorted(FINGERPRINTS)])
def test_labels_match_the_pre_refactor_fingerprint(name, tmp_path):
    labels = _labels(name, tmp_path)
    assert hashlib.md5(labels.tobytes()).hexdigest() == FINGERPRINTS[name], (
        f"{name}: labels moved (cluster sizes {np.bincount(labels + 1).tolist()}, noise first); "
        "see this file's docstring before updating the fingerprint")


def test_the_fingerprints_tell_the_models_apart():
    """The data set is hard enough that no two models agree exactly: a fingerprint that every
    model shared would not notice a model silently turning into another."""
    assert len(set(FINGERPRINTS.values())) == len(FINGERPRINTS)
