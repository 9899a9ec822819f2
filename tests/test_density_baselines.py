"""DBSCAN and HDBSCAN as their literature configures them: min_samples = 2 x the dimension of
the space clustered, eps by the k-distance knee, and (the conf/model default) a UMAP embedding
when the features mix point masses with spread-out values."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.models.classical import DBSCANModel, HDBSCANModel
from seglab.models.classical.density import auto_min_samples


def mixed_features(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated segments in 6 behaviour columns, beside what a customer table adds:
    a text block that is one imputed value for the 70% without reviews, a has-reviews flag
    (both down-weighted as the preprocessor's block weights do) and zero-inflated shares."""
    X, y = make_blobs(n_samples=n, centers=[[0, 0, 0, 0, 0, 0], [4, 4, 0, 0, 4, 0], [0, 4, 4, 4, 0, 0]],
                      cluster_std=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    wrote = rng.random(n) < 0.3
    text = np.where(wrote[:, None], rng.normal(size=(n, 3)), 0.0)
    shares = np.where(rng.random((n, 2)) < 0.5, 0.0, rng.exponential(1.0, (n, 2)))
    Z = np.column_stack([X, text, wrote.astype(float), shares])
    Z = (Z - Z.mean(0)) / Z.std(0)
    Z[:, 6:10] *= 0.4
    return Z, y


@pytest.fixture(scope="module")
def mixed():
    return mixed_features()


def test_auto_min_samples_is_twice_the_dimension():
    assert auto_min_samples(21) == 42 and auto_min_samples(5) == 10


def test_hdbscan_min_samples_auto_and_default():
    X, _ = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=0.5, random_state=0)
    auto = HDBSCANModel(min_samples="auto").fit(X)
    report = auto.fit_report()
    assert report["fit/min_samples"] == 8 and report["fit/space_dim"] == 4
    theirs = HDBSCAN(min_cluster_size=5, min_samples=8, copy=True).fit(X).labels_
    assert np.array_equal(auto.labels_, theirs)
    default = HDBSCANModel().fit(X).fit_report()  # None: scikit-learn's rule, min_samples = min_cluster_size
    assert default["fit/min_samples"] == default["fit/min_cluster_size"] == 5


def test_plain_density_models_fail_on_mixed_features(mixed):
    """The failure the embedding fixes: on the raw space one eps chains the segments (DBSCAN) and
    HDBSCAN calls the spread-out customers noise, though k-means would find the segments."""
    X, y = mixed
    dbscan = DBSCANModel(min_samples="auto").fit(X)
    assert dbscan.n_clusters_ <= 1 or adjusted_rand_score(y, dbscan.labels_) < 0.3
    hdbscan = HDBSCANModel(min_samples="auto").fit(X)
    assert hdbscan.fit_report()["fit/noise_share"] > 0.3


@pytest.mark.parametrize("cls", [DBSCANModel, HDBSCANModel])
def test_umap_embedding_finds_the_segments(cls, mixed):
    pytest.importorskip("umap")
    X, y = mixed
    model = cls(min_samples="auto", embedding="umap", embedding_dim=5, random_state=0).fit(X)
    report = model.fit_report()
    assert report["fit/space_dim"] == 5 and report["fit/min_samples"] == 10
    assert report["fit/n_clusters_found"] == 3 and report["fit/noise_share"] < 0.05
    assert adjusted_rand_score(y, model.labels_) > 0.95
    # the rows it was fitted on keep their labels through predict (UMAP returns their embedding)
    assert np.mean(model.predict(X) == model.labels_) > 0.99


def test_umap_embedding_bad_settings_are_config_errors(mixed):
    from seglab.errors import ConfigError

    with pytest.raises(ConfigError):
        DBSCANModel(embedding="tsne").fit(mixed[0])
    with pytest.raises(ConfigError):
        HDBSCANModel(embedding="umap", embedding_dim=0).fit(mixed[0])


@pytest.mark.parametrize("cls", [DBSCANModel, HDBSCANModel])
def test_umap_embedding_sampled_fit_assigns_the_rest(cls):
    """Rows outside the fitted sample are placed in the embedding from their nearest fitted rows."""
    pytest.importorskip("umap")
    X, y = mixed_features(n=900, seed=1)
    model = cls(min_samples="auto", embedding="umap", max_samples=500, random_state=0).fit(X)
    assert model.fit_report()["fit/sampled"] == 1.0
    keep = model.labels_ >= 0
    assert keep.mean() > 0.9 and adjusted_rand_score(y[keep], model.labels_[keep]) > 0.9


def test_a_density_run_reports_the_k_it_found(tmp_path):
    """The run's summary and console line give the clusters DBSCAN found, not the ignored n_clusters."""
    import json

    from hydra import compose, initialize_config_dir

    from seglab.console import segment_lines
    from seglab.train import run

    root = Path(__file__).resolve().parents[1]
    with initialize_config_dir(config_dir=str(root / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path}", "logger.mlflow=false", "model=dbscan",
                                           "model.embedding=null", "model.eps=3.0", "model.min_samples=5",
                                           "data.n_customers=300", "text=none", "explain.enabled=false",
                                           "n_clusters=7", "num_threads=1"])
    result = run(cfg, run_dir=tmp_path / "dbscan")
    found = int(result.metrics["fit/n_clusters_found"])
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["n_clusters"] == found != 7
    assert segment_lines(result)[0] == f"  segments: k={found} found by the model (noise, if any, is segment -1)"
