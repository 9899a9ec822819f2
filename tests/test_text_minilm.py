"""The real packaged all-MiniLM-L6-v2 with the shipped sentiment head, offline; and text in a full run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seglab.text import score_texts
from seglab.text.encoder import TransformerRunner, minilm_path
from seglab.text.sentiment import load_shipped_head, shipped_head_path

ROOT = Path(__file__).resolve().parents[1]

POSITIVE = [
    "I absolutely love this dress, it fits perfectly and the fabric is gorgeous.",
    "Great service, friendly staff and the flight landed early. Thank you!",
    "Best purchase I have made this year, works like a charm.",
    "Wonderful quality, I would happily buy it again.",
    "Alexa is amazing, my kids adore it.",
]
NEGATIVE = [
    "Terrible quality, it ripped after one wash. Total waste of money.",
    "Worst airline ever: delayed three hours and they lost my bag.",
    "It stopped working after two days and support never answered.",
    "Awful fit, cheap fabric, I returned it immediately.",
    "Very disappointed, the speaker sounds horrible.",
]


@pytest.fixture(scope="module")
def runner():
    return TransformerRunner(None, batch_size=16, max_length=128)


def test_minilm_loads_from_the_package_offline(runner, monkeypatch):
    assert (minilm_path() / "config.json").is_file()
    assert runner.hidden_size == 384
    assert "local:model" in runner.identity  # a local folder, never a hub id


def test_shipped_head_is_packaged_with_its_note():
    path = shipped_head_path()
    assert path.is_file() and path.stat().st_size < 2_000_000
    head = load_shipped_head()
    assert head.classes == ["negative", "positive"] and head.in_dim == 384
    meta = head.meta
    assert "airline" in meta["not_trained_on"] and "alexa" in meta["not_trained_on"]
    assert not {"airline", "alexa"} & set(meta["train_corpora"])
    assert (path.parent / "README.md").is_file()


def test_shipped_adapter_is_packaged_for_the_pinned_base():
    """The adapter is small, records the sha256 of the packaged weights (so the pin holds), was not
    trained on the benchmark sets, and is calibrated on its validation split."""
    from seglab.text.adapter import load_adapter, shipped_adapter_path, weights_sha256

    path = shipped_adapter_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    adapter = load_adapter()
    assert adapter.base_sha256 == weights_sha256(minilm_path())
    meta = adapter.meta
    assert {"airline", "alexa"} <= set(meta["not_trained_on"]) and not {"airline", "alexa"} & set(meta["train_corpora"])
    cal = meta["calibration"]
    assert adapter.temperature == pytest.approx(cal["temperature"]) and cal["ece_after"] < 0.05
    assert adapter.head_weight.shape == (384, 2) and len(adapter.lora) > 0


@pytest.fixture(scope="module")
def ct2_runner(tmp_path_factory):
    pytest.importorskip("ctranslate2")
    return TransformerRunner(None, batch_size=4, max_length=128, backend="ctranslate2",
                             convert_dir=tmp_path_factory.mktemp("ct2"), num_threads=2)


@pytest.mark.parametrize("backend", ["torch", "ctranslate2"])
@pytest.mark.parametrize("head", ["shipped", "adapter"])
def test_minilm_ranks_positive_above_negative(backend, head, request, tmp_path_factory):
    if head == "adapter":
        from seglab.text.features import make_runner

        cfg = {"name": "minilm", "head": "adapter", "backend": backend, "max_length": 128,
               "cache_dir": str(tmp_path_factory.getbasetemp() / "adapter_cache")}
        runner = make_runner(cfg)
    else:
        cfg = {"name": "minilm", "head": "shipped"}
        runner = request.getfixturevalue("runner" if backend == "torch" else "ct2_runner")
    assert runner.backend == backend
    rs = score_texts(POSITIVE + NEGATIVE, cfg, runner=runner)
    assert rs.provenance["text.head"] == head
    pos, neg = rs.score[: len(POSITIVE)], rs.score[len(POSITIVE):]
    assert pos.min() > neg.max(), (pos, neg)
    assert (pos > 0).all() and (neg < 0).all()
    assert rs.classes == ["negative", "positive"]
    np.testing.assert_allclose(rs.score, rs.proba[:, 1] - rs.proba[:, 0], atol=1e-9)


def test_run_with_text_writes_no_review_text(tmp_path):
    """A full `seglab.train.run` with text=minilm: text features join, no review text in any artifact."""
    from hydra import compose, initialize_config_dir

    from seglab.train import run

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path / 'logs'}", "data.n_customers=200", "model=kmeans",
                                           "text=minilm", "logger.experiment_name=text",
                                           f"text.cache_dir={tmp_path / 'cache'}"])
    result = run(cfg, run_dir=tmp_path / "run")
    data_reviews = _synthetic_reviews(cfg)
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["metrics"]["data/n_features"] > 0
    # provenance: the sha256 of the weights loaded, in metrics.json and in the MLflow run's tags
    from mlflow.tracking import MlflowClient

    from seglab.text.adapter import weights_sha256

    sha = weights_sha256(minilm_path())
    assert summary["text"]["text.weights_sha256"] == sha
    tags = MlflowClient(result.tracking_uri).get_run(result.mlflow_run_id).data.tags
    assert tags["text.weights_sha256"] == sha and tags["text.head"] == cfg.text.head
    profiles = (result.run_dir / "profiles.csv").read_text()
    assert "text_sent_mean" in profiles
    # no review text in the run dir, the MLflow store/artifacts or the text cache
    snippets = {t.strip()[:40] for t in data_reviews if len(t.strip()) >= 25}
    assert snippets and any((tmp_path / "cache").rglob("*.sqlite"))
    blobs = [p.read_bytes() for p in (tmp_path).rglob("*") if p.is_file()]
    for s in list(snippets)[:50]:
        needle = s.encode()
        assert not any(needle in b for b in blobs), f"review text found in an artifact: {s!r}"


def _synthetic_reviews(cfg) -> list[str]:
    from hydra.utils import instantiate

    data = instantiate(cfg.data, _convert_="all").load()
    return data.reviews["text"].astype(str).tolist()


@pytest.mark.shared_data
def test_benchmark_corpora_load(shared_data_dir):
    from seglab.text.corpora import load_corpus

    sizes = {"airline": (11541, 0.205), "alexa": (3150, 0.918), "rotten_tomatoes": (12808, 0.578)}
    for name, (n, pos) in sizes.items():
        df = load_corpus(name, shared_data_dir)
        assert len(df) == n and df["label"].mean() == pytest.approx(pos, abs=1e-3), name
        assert df["text"].map(type).eq(str).all()


@pytest.mark.shared_data
def test_shipped_head_beats_vader_on_held_out_sets(shared_data_dir):
    """The headline bar in the default suite: +5 points over VADER on airline (accuracy) and Alexa
    (balanced accuracy), with the default backend (int8 on CPU). Alexa is scored whole (the margin
    there is about 6 points, too thin for a sample); airline on a seeded sample of 3,000 of its
    11,541 tweets (margin about 16 points; the sample's standard error is under 1 point)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from seglab.text.corpora import load_corpus

    vader = SentimentIntensityAnalyzer()
    for name, metric in (("airline", accuracy_score), ("alexa", balanced_accuracy_score)):
        df = load_corpus(name, shared_data_dir)
        if name == "airline":
            df = df.sample(n=3000, random_state=0)
        rs = score_texts(df["text"].tolist(), {"name": "minilm"}, skip_empty=False)  # defaults: max_length 256
        ours = metric(df["label"], (rs.score >= 0).astype(int))
        vad = metric(df["label"], [int(vader.polarity_scores(t)["compound"] >= 0.05) for t in df["text"]])
        assert ours >= vad + 0.05, (name, ours, vad)
