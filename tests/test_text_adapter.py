"""The LoRA sentiment adapter: merge, persistence, provenance check and fallback, calibration,
neutral band and resumable scoring, on tiny random BERTs saved with save_pretrained (seconds)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from seglab.errors import ConfigError
from seglab.text import score_texts
from seglab.text.adapter import SentimentAdapter, lora_from_peft, merged_model_dir, weights_sha256
from seglab.text.cache import VectorCache
from seglab.text.calibration import expected_calibration_error, fit_temperature, nll
from seglab.text.features import plan_model

WORDS = "good great love bad awful hate the a it is dress fit very not".split()
TEXTS = ["good dress", "i hate it", "awful fit", "love it very good", "the dress is not good", "great"]


def _tiny_bert(path, hidden: int, seed: int = 0):
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(path / "vocab.txt"), model_max_length=32).save_pretrained(path)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    cfg.position_embedding_type = "absolute"
    torch.manual_seed(seed)
    BertModel(cfg).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny16(tmp_path_factory):
    return _tiny_bert(tmp_path_factory.mktemp("tiny16"), hidden=16)


@pytest.fixture(scope="module")
def tiny384(tmp_path_factory):
    """Another base of MiniLM's width: the frozen shipped head fits it, the adapter must not."""
    return _tiny_bert(tmp_path_factory.mktemp("tiny384"), hidden=384)


def _peft_model(base, seed=1):
    peft = pytest.importorskip("peft")
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    model = AutoModel.from_pretrained(str(base), dtype=torch.float32)
    cfg = peft.LoraConfig(r=2, lora_alpha=6, target_modules=["query", "value", "intermediate.dense"],
                          init_lora_weights=False)  # random B: a non-zero update to merge
    return peft.get_peft_model(model, cfg)


def _adapter_for(base, tmp_path, base_sha=None, temperature=2.0) -> SentimentAdapter:
    lora, scaling = lora_from_peft(_peft_model(base))
    hidden = next(iter(lora.values()))[0].shape[1]
    rng = np.random.default_rng(0)
    adapter = SentimentAdapter(lora=lora, scaling=scaling, head_weight=rng.normal(size=(hidden, 2)).astype(np.float32),
                               head_bias=np.array([0.1, -0.1], np.float32), temperature=temperature,
                               base_sha256=base_sha or weights_sha256(base), meta={"test": True})
    adapter.save(tmp_path / "adapter.npz")
    return SentimentAdapter.load(tmp_path / "adapter.npz")


def test_merge_equals_peft_merge_and_unload(tiny16):
    from safetensors.numpy import load_file

    model = _peft_model(tiny16)
    lora, scaling = lora_from_peft(model)
    assert scaling == pytest.approx(3.0) and len(lora) == 3
    ours = SentimentAdapter(lora=lora, scaling=scaling, head_weight=np.zeros((16, 2)), head_bias=np.zeros(2),
                            temperature=1.0, base_sha256="x").merge(load_file(str(tiny16 / "model.safetensors")))
    theirs = {k: v.numpy() for k, v in model.merge_and_unload().state_dict().items()}
    changed = 0
    for name, w in theirs.items():
        np.testing.assert_allclose(ours[name], w, atol=1e-6, err_msg=name)
        changed += name in lora
    assert changed == 3


def test_save_load_roundtrip_and_calibrated_head(tiny16, tmp_path):
    adapter = _adapter_for(tiny16, tmp_path, temperature=2.0)
    assert len(adapter.sha256) == 64 and adapter.meta == {"test": True}
    assert next(iter(adapter.lora.values()))[0].dtype == np.float16  # stored small
    emb = np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32)
    logits = emb @ adapter.head_weight + adapter.head_bias
    expected = np.exp(logits / 2.0) / np.exp(logits / 2.0).sum(1, keepdims=True)
    np.testing.assert_allclose(adapter.head().predict_proba(emb), expected, rtol=1e-5)
    with pytest.raises(ConfigError, match="not a seglab LoRA adapter"):
        SentimentAdapter.load(tmp_path / "nothing.npz")


def _linear_head(path, hidden=16, mean=None, scale=None):
    from seglab.text.sentiment import SentimentHead

    w = np.random.default_rng(3).normal(scale=6.0, size=(hidden, 2)).astype(np.float32)
    head = SentimentHead(weights=[w], biases=[np.zeros(2, np.float32)], mean=mean, scale=scale,
                         classes=["negative", "positive"], class_scores=np.array([-1.0, 1.0]))
    return str(head.save(path))


def test_adapter_is_merged_and_cached_under_its_own_hash(tiny16, tmp_path, caplog):
    """Accepted adapter: the runner loads the merged folder (named by both hashes), the scores use
    the adapter's calibrated head, and the vector cache never shares vectors with the base model."""
    from pathlib import Path

    from seglab.text.encoder import TransformerRunner

    adapter = _adapter_for(tiny16, tmp_path)
    cfg = {"name": "minilm", "model": str(tiny16), "head": "adapter", "adapter": str(tmp_path / "adapter.npz"),
           "cache_dir": str(tmp_path / "cache"), "backend": "torch", "max_length": 16}
    plan = plan_model(cfg)
    assert plan.head == "adapter" and adapter.sha256[:16] in plan.model
    assert plan.provenance["text.weights_sha256"] == weights_sha256(tiny16)
    assert plan.provenance["text.adapter_sha256"] == adapter.sha256
    with caplog.at_level(logging.INFO, logger="seglab"):
        rs = score_texts(TEXTS, cfg)
    assert "text: scoring 6 reviews (adapter head)" in caplog.text
    merged_emb = TransformerRunner(plan.model, max_length=16).run(TEXTS)
    base_emb = TransformerRunner(str(tiny16), max_length=16).run(TEXTS)
    np.testing.assert_allclose(rs.embedding, merged_emb, atol=1e-5)
    assert np.abs(merged_emb - base_emb).max() > 1e-2  # the update changed the encoder
    np.testing.assert_allclose(rs.proba, adapter.head().predict_proba(merged_emb), atol=1e-5)
    assert rs.provenance["text.head"] == "adapter"
    assert merged_model_dir(tiny16, adapter, tmp_path / "cache" / "merged") == Path(plan.model)  # made once
    score_texts(TEXTS, {**cfg, "head": _linear_head(tmp_path / "h.npz")})  # the base model, same cache root
    metas = sorted(p.read_text() for p in (tmp_path / "cache").glob("*/meta.json"))
    assert len(metas) == 2 and sum(adapter.sha256[:16] in m for m in metas) == 1


def test_adapter_for_other_base_is_refused_with_a_warning(tiny384, tmp_path, caplog):
    """The adapter's recorded base sha256 differs from the weights found: warn, use the frozen
    shipped head on the unmodified base, and say so in the provenance; never crash."""
    _adapter_for(tiny384, tmp_path, base_sha="0" * 64)
    cfg = {"name": "minilm", "model": str(tiny384), "head": "adapter", "adapter": str(tmp_path / "adapter.npz"),
           "cache_dir": None, "backend": "torch", "max_length": 16}
    with caplog.at_level(logging.WARNING, logger="seglab.text.features"):
        rs = score_texts(TEXTS, cfg)
    assert "text.head=adapter refused" in caplog.text and "0000000000" in caplog.text
    assert rs.provenance["text.head"] == "shipped" and "text.adapter_refused" in rs.provenance
    frozen = score_texts(TEXTS, {**cfg, "head": "shipped"})
    np.testing.assert_allclose(rs.score, frozen.score)
    assert not (tmp_path / "merged").exists()


def test_runner_on_other_weights_is_refused_for_an_adapter_head(tiny16, tmp_path):
    from seglab.text.encoder import TransformerRunner

    _adapter_for(tiny16, tmp_path)
    cfg = {"name": "minilm", "model": str(tiny16), "head": "adapter", "adapter": str(tmp_path / "adapter.npz"),
           "backend": "torch"}
    with pytest.raises(ConfigError, match="needs a runner on the merged model"):
        score_texts(TEXTS, cfg, runner=TransformerRunner(str(tiny16), max_length=16))


def test_temperature_scaling_recovers_an_overconfident_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2.0, size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)  # calibrated logits z
    logits = np.stack([np.zeros_like(z), 3.0 * z], axis=1)  # three times over-confident
    t = fit_temperature(logits, y)
    assert t == pytest.approx(3.0, rel=0.1)
    assert nll(logits / t, y) < nll(logits, y)
    before, after = expected_calibration_error(logits, y), expected_calibration_error(logits / t, y)
    assert after < 0.03 < before


def test_expected_calibration_error_by_hand():
    # two bins used: confidence 0.9 (2 samples, 1 correct) and 0.6 (2 samples, both correct)
    p = np.array([[0.1, 0.9], [0.1, 0.9], [0.4, 0.6], [0.6, 0.4]])
    y = np.array([1, 0, 1, 0])
    ece = expected_calibration_error(np.log(p), y, n_bins=10)
    assert ece == pytest.approx(0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6))


def test_neutral_band_sets_polarity(tiny16, tmp_path):
    from seglab.text.encoder import TransformerRunner

    emb = TransformerRunner(str(tiny16), max_length=16).run(TEXTS)  # standardised: scores spread out
    _linear_head(tmp_path / "h.npz", mean=emb.mean(0), scale=emb.std(0) + 1e-6)
    cfg = {"name": "minilm", "model": str(tiny16), "head": str(tmp_path / "h.npz"), "backend": "torch",
           "max_length": 16, "neutral_band": 0.3}
    rs = score_texts(TEXTS + [""], cfg)
    s = rs.score[:-1]
    assert np.isnan(rs.polarity[-1])
    np.testing.assert_array_equal(rs.polarity[:-1], np.where(s > 0.3, 1, np.where(s < -0.3, -1, 0)))
    assert len(set(rs.polarity[:-1])) >= 2  # the band is exercised, not trivially one class
    with pytest.raises(ConfigError, match="neutral_band"):
        score_texts(TEXTS, {**cfg, "neutral_band": 1.5})


def test_scoring_resumes_from_the_cache_after_a_kill(tmp_path, caplog):
    """A job killed mid-way keeps every finished chunk: the rerun encodes only the rest."""
    texts = [f"review number {i}" for i in range(10)]
    calls: list[int] = []

    def dying(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed while encoding the second chunk
        return np.ones((len(batch), 4), np.float32) * len(batch)

    cache = VectorCache(tmp_path, "model-x", 4)
    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute(texts, dying, chunk_size=4)
    assert calls == [4, 4]
    calls.clear()
    again = VectorCache(tmp_path, "model-x", 4)
    with caplog.at_level(logging.INFO, logger="seglab"):
        out = again.get_or_compute(texts, lambda b: (calls.append(len(b)), np.zeros((len(b), 4), np.float32))[1],
                                   chunk_size=4)
    assert calls == [4, 2] and again.hits == 4 and again.misses == 6
    assert (out != 0).any(axis=1).sum() == 4  # the four from the first run came from the cache


def test_repeated_scoring_hashes_the_weights_and_reads_the_adapter_once(tiny16, tmp_path, monkeypatch):
    """A server calls score_texts for every request with reviews: the base weights (90 MB for
    MiniLM, ~75 ms to hash) and the adapter file are read on the first call only."""
    import seglab.text.adapter as adapter_module
    from seglab.text.features import make_runner

    _adapter_for(tiny16, tmp_path)
    cfg = {"name": "minilm", "model": str(tiny16), "head": "adapter", "adapter": str(tmp_path / "adapter.npz"),
           "cache_dir": str(tmp_path / "cache"), "backend": "torch", "max_length": 16}
    runner = make_runner(cfg)
    first = score_texts(TEXTS, cfg, runner=runner)
    calls = {"hash": 0, "load": 0}
    real_hash, real_load = adapter_module.file_sha256, adapter_module.SentimentAdapter.load

    def counting_hash(path, *args, **kwargs):
        calls["hash"] += 1
        return real_hash(path, *args, **kwargs)

    def counting_load(path):
        calls["load"] += 1
        return real_load(path)

    monkeypatch.setattr(adapter_module, "file_sha256", counting_hash)
    monkeypatch.setattr(adapter_module.SentimentAdapter, "load", staticmethod(counting_load))
    for i in range(3):
        again = score_texts([f"{t} {i}" for t in TEXTS], cfg, runner=runner)
        assert again.provenance == first.provenance
    assert calls == {"hash": 0, "load": 0}
