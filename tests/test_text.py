"""The text path on a tiny random BERT saved with save_pretrained: the real loading code, offline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seglab.data.schema import CustomerData
from seglab.errors import ConfigError
from seglab.text import build_text_features, score_texts
from seglab.text.cache import VectorCache
from seglab.text.encoder import TransformerRunner
from seglab.text.sentiment import SentimentHead, label_scores_from_id2label

WORDS = (
    "good great love excellent happy fine nice bad awful hate terrible poor sad the a it is was "
    "this that product dress fit size color very not and but so i my you"
).split()


def _write_tiny(path, classifier: bool):
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz", "##s", "##ed"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizer(str(path / "vocab.txt"), model_max_length=64)
    cfg = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )
    cfg.position_embedding_type = "absolute"  # as in real BERT configs; CTranslate2's converter reads it
    import torch

    torch.manual_seed(0)
    if classifier:
        cfg.num_labels = 2
        cfg.id2label = {0: "NEGATIVE", 1: "POSITIVE"}
        cfg.label2id = {"NEGATIVE": 0, "POSITIVE": 1}
        model = BertForSequenceClassification(cfg)
    else:
        model = BertModel(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return _write_tiny(tmp_path_factory.mktemp("tiny_bert_encoder"), classifier=False)


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    return _write_tiny(tmp_path_factory.mktemp("tiny_bert_classifier"), classifier=True)


ODD_TEXTS = [
    "good dress , love it",
    "",
    "   \n\t ",
    "bad " * 5000,  # very long: truncated to max_length
    "Das Kleid ist wunderschön, ich liebe es!",
    "質がとても良いです 😀",
    "o produto chegou quebrado",
    "nul\x00byte and a lone surrogate \ud800",
]


def test_encoder_batched_equals_one_at_a_time(tiny_encoder):
    """Length-sorted dynamic padding must not change any text's embedding."""
    texts = ["good", "this dress is very nice and the fit is great", "bad", "i hate it", "the color is so sad"]
    batched = TransformerRunner(tiny_encoder, batch_size=4, max_length=32).run(texts)
    single = TransformerRunner(tiny_encoder, batch_size=1, max_length=32).run(texts)
    assert batched.shape == (5, 16)
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_odd_texts_do_not_crash(tiny_encoder, tiny_classifier):
    for model, name, head in ((tiny_encoder, "minilm", "ratings"), (tiny_classifier, "hf_classifier", "model")):
        ratings = np.arange(len(ODD_TEXTS) * 3) % 5 + 1.0
        texts = ODD_TEXTS * 3 + [None, float("nan")]
        rs = score_texts(texts, {"name": name, "model": str(model), "head": head, "max_length": 32},
                         ratings=np.concatenate([ratings, [np.nan, np.nan]]))
        assert rs.score.shape == (len(texts),)
        blank = np.array([i % len(ODD_TEXTS) in (1, 2) for i in range(len(ODD_TEXTS) * 3)] + [True, True])
        assert np.isnan(rs.score[blank]).all()  # empty/whitespace texts carry no sentiment
        assert np.isfinite(rs.score[~blank]).all()
        assert (np.abs(rs.score[~blank]) <= 1).all()
        np.testing.assert_allclose(rs.proba[~blank].sum(axis=1), 1.0, atol=1e-6)


def test_classifier_path_scores_from_id2label(tiny_classifier):
    from transformers import AutoModelForSequenceClassification

    rs = score_texts(["good", "bad bad"], {"name": "hf_classifier", "model": str(tiny_classifier)})
    assert rs.classes == ["NEGATIVE", "POSITIVE"]
    np.testing.assert_allclose(rs.score, rs.proba[:, 1] - rs.proba[:, 0], atol=1e-9)
    # same numbers as calling the model directly
    import torch
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_classifier)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier, dtype=torch.float32).eval()
    with torch.inference_mode():
        p = model(**tok(["good", "bad bad"], return_tensors="pt", padding=True)).logits.softmax(-1).numpy()
    np.testing.assert_allclose(rs.proba, p, atol=1e-5)


@pytest.mark.parametrize(
    "id2label,override,expected",
    [
        ({0: "NEGATIVE", 1: "POSITIVE"}, None, [-1, 1]),
        ({0: "negative", 1: "neutral", 2: "positive"}, None, [-1, 0, 1]),
        ({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}, None, [-1, -0.5, 0, 0.5, 1]),
        ({0: "LABEL_0", 1: "LABEL_1"}, None, [-1, 1]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, None, [-1, 0, 1]),
        ({0: "sad", 1: "happy"}, {"sad": -1, "happy": 0.5}, [-1, 0.5]),
    ],
)
def test_label_scores(id2label, override, expected):
    labels, scores = label_scores_from_id2label(id2label, override)
    assert labels == [id2label[i] for i in sorted(id2label)]
    np.testing.assert_allclose(scores, expected)


def test_label_scores_unknown_labels_ask_for_config():
    with pytest.raises(ConfigError, match="label_scores"):
        label_scores_from_id2label({0: "sports", 1: "politics", 2: "tech", 3: "art"})


def test_cache_skips_encoding_and_holds_no_text(tiny_encoder, tmp_path):
    runner = TransformerRunner(tiny_encoder, max_length=32)
    calls = []
    real_run = runner.run

    def counting(texts):
        calls.append(len(texts))
        return real_run(texts)

    runner.run = counting
    cfg = {"name": "minilm", "model": str(tiny_encoder), "head": "ratings", "cache_dir": str(tmp_path / "c")}
    texts = ["a very distinctive secret review", "good", "good", "bad"]
    ratings = [1.0, 5.0, 5.0, 1.0]
    first = score_texts(texts, cfg, ratings=ratings, runner=runner)
    assert calls == [3]  # duplicates encoded once
    second = score_texts(texts, cfg, ratings=ratings, runner=runner)
    assert calls == [3]  # everything came from the cache
    np.testing.assert_allclose(first.embedding, second.embedding)
    blob = b"".join(p.read_bytes() for p in (tmp_path / "c").rglob("*") if p.is_file())
    assert b"distinctive" not in blob and b"secret" not in blob
    # a different max_length is a different model identity: a separate cache
    other = VectorCache(tmp_path / "c", TransformerRunner(tiny_encoder, max_length=8).identity, 16)
    assert other.path != VectorCache(tmp_path / "c", runner.identity, 16).path


def _data(reviews: pd.DataFrame | None) -> CustomerData:
    customers = pd.DataFrame({"customer_id": ["c3", "c1", "c2", "c4"], "age": [30, 40, 50, 60]})
    return CustomerData(name="t", customers=customers, reviews=reviews, reference_date=pd.Timestamp("2024-01-01"))


def test_build_text_features_frame(tiny_encoder, tmp_path):
    reviews = pd.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c3", "c9"],
        "timestamp": pd.to_datetime(["2023-01-01", "2023-12-01", "2023-06-01", None, "2023-06-01"]),
        "text": ["good great love", "bad awful", "   ", "i hate this product", "nice"],
        "rating": [5.0, 1.0, 3.0, 2.0, 4.0],
    })
    cfg = {"name": "minilm", "model": str(tiny_encoder), "head": "ratings", "embed_dim": 2,
           "cache_dir": str(tmp_path / "cache")}
    out = build_text_features(_data(reviews), cfg)
    assert list(out.index) == ["c3", "c1", "c2", "c4"] and out.index.name == "customer_id"
    assert all(c.startswith("text_") for c in out.columns)
    assert out.columns[0] == "text_has_reviews"
    assert {"text_n_reviews", "text_sent_mean", "text_sent_std", "text_sent_min", "text_sent_last",
            "text_share_negative", "text_sent_recency_mean", "text_emb_0", "text_emb_1"} <= set(out.columns)
    assert out["text_has_reviews"].tolist() == [1, 1, 0, 0]  # c2 has only a blank review, c4 none
    assert out["text_n_reviews"].tolist() == [1, 2, 0, 0]
    no = out.loc[["c2", "c4"]].drop(columns=["text_has_reviews", "text_n_reviews"])
    assert no.isna().all().all()  # NaN, not fake zeros
    yes = out.loc[["c3", "c1"]]
    assert yes.notna().all().all()
    # no review text anywhere in the frame: numeric columns only
    assert all(pd.api.types.is_numeric_dtype(t) for t in out.dtypes)


def test_build_text_features_none_cases(tiny_encoder):
    assert build_text_features(_data(None), {"name": "minilm", "model": str(tiny_encoder)}) is None
    empty = pd.DataFrame({c: [] for c in ("customer_id", "timestamp", "text", "rating")})
    assert build_text_features(_data(empty), {"name": "minilm"}) is None
    reviews = pd.DataFrame({"customer_id": ["c1"], "timestamp": [pd.NaT], "text": ["x"], "rating": [1.0]})
    assert build_text_features(_data(reviews), {"name": "none"}) is None


def test_config_errors(tiny_encoder):
    reviews = pd.DataFrame({"customer_id": ["c1"], "timestamp": [pd.NaT], "text": ["good"], "rating": [np.nan]})
    with pytest.raises(ConfigError, match="ratings"):
        build_text_features(_data(reviews), {"name": "minilm", "model": str(tiny_encoder), "head": "ratings"})
    with pytest.raises(ConfigError, match="hf_classifier needs"):
        build_text_features(_data(reviews), {"name": "hf_classifier"})
    with pytest.raises(ConfigError, match="shipped head"):
        build_text_features(_data(reviews), {"name": "minilm", "model": str(tiny_encoder), "head": "shipped"})
    with pytest.raises(ConfigError, match="config.json"):
        TransformerRunner(tiny_encoder.parent)


def test_head_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    head = SentimentHead(
        weights=[rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32)],
        biases=[np.zeros(4, np.float32), np.zeros(2, np.float32)],
        classes=["negative", "positive"], class_scores=np.array([-1.0, 1.0]),
        mean=np.zeros(8, np.float32), scale=np.ones(8, np.float32), meta={"made_by": "test"},
    )
    x = rng.normal(size=(5, 8)).astype(np.float32)
    loaded = SentimentHead.load(head.save(tmp_path / "h.npz"))
    np.testing.assert_allclose(loaded.score(x)[0], head.score(x)[0])
    assert loaded.meta == {"made_by": "test"} and loaded.classes == ["negative", "positive"]
    with pytest.raises(ConfigError):
        loaded.score(np.zeros((2, 3)))


def test_ctranslate2_backend_matches_torch(tiny_encoder, tmp_path):
    """The CTranslate2 path gives the torch embedding (exactly at float32, closely at int8)."""
    pytest.importorskip("ctranslate2")
    texts = ["good", "this dress is very nice and the fit is great", "bad", "i hate it", "the color is so sad", ""]
    ref = TransformerRunner(tiny_encoder, batch_size=4, max_length=32).run(texts)
    f32 = TransformerRunner(tiny_encoder, batch_size=2, max_length=32, backend="ctranslate2",
                            compute_type="float32", convert_dir=tmp_path, num_threads=2)
    assert f32.backend == "ctranslate2" and f32.model is None
    np.testing.assert_allclose(f32.run(texts), ref, atol=1e-4)
    int8 = TransformerRunner(tiny_encoder, batch_size=4, max_length=32, backend="ctranslate2",
                             compute_type="int8", convert_dir=tmp_path, num_threads=1)
    assert (np.sum(int8.run(texts) * ref, axis=1) > 0.95).all()
    assert int8.identity != f32.identity != TransformerRunner(tiny_encoder, max_length=32).identity
    assert len(list(tmp_path.glob("ct2_*"))) == 2  # one conversion per compute type, reused after


def test_backend_choice(tiny_encoder, tiny_classifier):
    pytest.importorskip("ctranslate2")
    assert TransformerRunner(tiny_classifier, kind="classifier", backend="auto").backend == "torch"
    with pytest.raises(ConfigError, match="backend=torch"):
        TransformerRunner(tiny_classifier, kind="classifier", backend="ctranslate2")
    with pytest.raises(ConfigError, match="text.backend"):
        TransformerRunner(tiny_encoder, backend="onnx")


def test_auto_backend_falls_back_to_torch_when_conversion_fails(tiny_encoder, monkeypatch):
    pytest.importorskip("ctranslate2")
    from seglab.text import ct2_backend

    def broken(*a, **k):
        raise AttributeError("converter does not know this config")

    monkeypatch.setattr(ct2_backend, "converted_model", broken)
    runner = TransformerRunner(tiny_encoder, backend="auto")
    assert runner.backend == "torch" and runner.model is not None and "ctranslate2" not in runner.identity
    with pytest.raises(ConfigError, match="could not convert"):
        TransformerRunner(tiny_encoder, backend="ctranslate2")
