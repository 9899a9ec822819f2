"""Data at scale: the synthetic source in blocks and as partitioned Parquet, review text drawn
from a real corpus, inputs given as a folder or a glob, and the precomputed ``features`` source."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import seglab.data.synthetic as synthetic
from seglab.data import FeaturesSource, SyntheticParquetSource, SyntheticSource
from seglab.data.paths import resolve_files
from seglab.data.review_corpus import sentence_pools
from seglab.errors import ConfigError, DataValidationError
from seglab.features import build_features


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(synthetic, "BLOCK_CUSTOMERS", 300)


def test_blocks_have_their_own_streams_and_the_first_is_the_single_generator(small_blocks):
    data = SyntheticSource(n_customers=700, seed=4).load()
    assert list(data.customers["customer_id"]) == list(range(700))
    first = SyntheticSource(n_customers=300, seed=4).load()  # one block: what one generator gives
    _frames_equal(data.customers.iloc[:300], first.customers)
    _frames_equal(data.transactions[data.transactions["customer_id"] < 300], first.transactions)
    # later blocks are different customers (not a copy of block 0) with exact per-block quotas
    assert not np.allclose(data.customers["age"].iloc[300:600].fillna(0), first.customers["age"].fillna(0))
    assert data.truth.iloc[300:600].value_counts().to_dict() == first.truth.value_counts().to_dict()


def test_parquet_equals_load_and_is_reused(tmp_path, small_blocks):
    source = SyntheticSource(n_customers=650, seed=2)
    out = source.write_parquet(tmp_path / "syn")
    assert sorted(p.name for p in (out / "transactions").iterdir()) == [f"part-{i:05d}.parquet" for i in range(3)]
    info = json.loads((out / "dataset.json").read_text())
    data = source.load()
    assert info["n_transactions"] == len(data.transactions) and info["n_customers"] == 650
    tx = pd.read_parquet(out / "transactions")
    assert (tx["timestamp"] == data.transactions["timestamp"].dt.floor("us")).all()  # stored to the microsecond
    _frames_equal(tx.drop(columns="timestamp"), data.transactions.drop(columns="timestamp"))
    customers = pd.read_parquet(out / "customers.parquet")
    assert (customers["segment"].to_numpy() == data.truth.to_numpy()).all()
    stamp = (out / "dataset.json").stat().st_mtime_ns
    source.write_parquet(out)  # same arguments: the complete folder is reused
    assert (out / "dataset.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError):
        SyntheticSource(n_customers=650, seed=3).write_parquet(out)
    loaded = SyntheticParquetSource(path=str(out), in_memory=True).load()
    assert loaded.n_customers == 650 and loaded.as_of() == data.as_of() and len(loaded.reviews) == len(data.reviews)


def _corpus(tmp_path) -> str:
    rng = np.random.default_rng(0)
    words = ["good", "bad", "fine", "soft", "cheap", "warm", "late", "fast", "small", "lovely"]
    rows = [{"Review Text": " ".join(f"Rating {r} item {rng.integers(10**6)} was {rng.choice(words)}." for _ in range(3)),
             "Rating": r} for r in range(1, 6) for _ in range(100)]
    path = tmp_path / "corpus.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_corpus_reviews_keep_reviewers_dates_and_ratings_and_follow_the_rating(tmp_path):
    templated = SyntheticSource(n_customers=2000, seed=1).load().reviews
    drawn = SyntheticSource(n_customers=2000, seed=1, review_corpus=_corpus(tmp_path)).load().reviews
    _frames_equal(templated.drop(columns="text"), drawn.drop(columns="text"))
    rating_in_text = drawn["text"].str.extract(r"^Rating (\d)")[0].astype(float)
    assert (rating_in_text == drawn["rating"]).all()  # every sentence comes from the review's rating pool
    assert drawn["text"].nunique() > 0.9 * len(drawn)  # 1-4 of ~300 sentences per rating: mostly distinct


def test_corpus_must_cover_every_rating(tmp_path):
    path = tmp_path / "pos.csv"
    pd.DataFrame({"text": ["Lovely soft fabric here.", "Great fit and colour."], "rating": [5, 4]}).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"rating\(s\) \[1, 2, 3\]"):
        sentence_pools(path)


@pytest.mark.shared_data
def test_real_corpora_give_sentences_for_every_rating(shared_data_dir):
    pools = sentence_pools(shared_data_dir / "womens_clothing_reviews" / "Womens_Clothing_E-Commerce_Reviews.csv.zip")
    assert all(len(pools[r]) > 1000 for r in range(1, 6))


def test_resolve_files(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.parquet", "d/sub/a.parquet", "d/.hidden.parquet"):
        pd.DataFrame({"x": [1]}).to_parquet(tmp_path / name)
    pd.DataFrame({"x": pd.Series([], dtype="int64")}).to_parquet(tmp_path / "d" / "empty.parquet")  # as Spark writes
    (tmp_path / "d" / "_SUCCESS").write_bytes(b"")
    assert [p.name for p in resolve_files(tmp_path / "d")] == ["b.parquet", "a.parquet"]
    assert [p.name for p in resolve_files(str(tmp_path / "d" / "*.parquet"))] == ["b.parquet"]
    with pytest.raises(DataValidationError, match="no data file matches"):
        resolve_files(str(tmp_path / "d" / "*.csv"))
    (tmp_path / "d" / "c.csv").write_text("a\n1\n")
    with pytest.raises(DataValidationError, match="mixes Parquet and text"):
        resolve_files(tmp_path / "d")


def _feature_parts(tmp_path) -> None:
    (tmp_path / "f").mkdir()
    pd.DataFrame({"customer_id": [1, 2], "recency": [3.0, np.nan], "vip": [True, False], "segment": ["a", "b"]}).to_parquet(
        tmp_path / "f" / "part-0.parquet", index=False)
    pd.DataFrame({"customer_id": [3], "recency": [9.5], "vip": [True], "segment": ["a"]}).to_parquet(
        tmp_path / "f" / "part-1.parquet", index=False)


def test_features_source_gives_clustering_features_not_attributes(tmp_path):
    _feature_parts(tmp_path)
    data = FeaturesSource(path=str(tmp_path / "f"), truth_column="segment").load()
    assert list(data.customers.columns) == ["customer_id"] and list(data.truth) == ["a", "b", "a"]
    feats = build_features(data)
    assert list(feats.columns) == ["recency", "vip"] and feats.attrs["features"]["profile_only"] == []
    assert list(feats.index) == ["1", "2", "3"] and np.isnan(feats.loc["2", "recency"]) and feats.loc["3", "vip"] == 1.0


def test_features_source_errors_name_file_column_and_rows(tmp_path):
    _feature_parts(tmp_path)
    pd.DataFrame({"customer_id": [4, 5], "recency": ["1.5", "soon"], "vip": [True, True], "segment": ["a", "a"]}).to_csv(
        tmp_path / "bad.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        FeaturesSource(path=str(tmp_path / "bad.csv")).load()
    assert err.value.column == "recency" and err.value.rows == [1] and err.value.examples == ["soon"]
    dup = tmp_path / "f" / "part-2.parquet"
    pd.DataFrame({"customer_id": [3], "recency": [1.0], "vip": [False], "segment": ["b"]}).to_parquet(dup, index=False)
    with pytest.raises(DataValidationError, match="duplicate customer id"):
        FeaturesSource(path=str(tmp_path / "f"), truth_column="segment").load()
    with pytest.raises(ConfigError, match="data.path is required"):
        FeaturesSource().load()
