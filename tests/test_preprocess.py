"""Preprocessor and its hand-written transformers, with hand-computed expectations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seglab.errors import ConfigError
from seglab.features import CorrelationFilter, IQRClipper, Preprocessor

PLAIN = {"log1p": "none", "outliers": "none", "scaler": "none", "corr_threshold": None}


def test_log1p_auto_picks_the_skewed_money_column():
    df = pd.DataFrame(
        {
            "money": [1.0, 1.0, 1.0, 1.0, 100.0],  # non-negative, skewed -> log1p
            "flag": [0.0, 0.0, 0.0, 0.0, 1.0],  # skewed but a 0/1 flag -> untouched
            "neg": [-5.0, 0.0, 0.0, 0.0, 50.0],  # negative -> untouched
            "sym": [1.0, 2.0, 3.0, 4.0, 5.0],  # not skewed -> untouched
        }
    )
    pre = Preprocessor(**{**PLAIN, "log1p": "auto"})
    X = pre.fit_transform(df)
    assert pre.report_["log1p_columns"] == ["money"]
    np.testing.assert_allclose(X[:, 0], np.log1p(df["money"]), rtol=1e-6)
    np.testing.assert_allclose(X[:, 1:], df[["flag", "neg", "sym"]], rtol=1e-6)


def test_log1p_explicit_list_and_unknown_column():
    df = pd.DataFrame({"a": [0.0, 1.0, 3.0], "b": [1.0, 2.0, 3.0]})
    X = Preprocessor(**{**PLAIN, "log1p": ["b"]}).fit_transform(df)
    np.testing.assert_allclose(X, np.c_[df["a"], np.log1p(df["b"])], rtol=1e-6)
    with pytest.raises(ConfigError, match="zz"):
        Preprocessor(**{**PLAIN, "log1p": ["zz"]}).fit(df)


def test_median_imputation_and_inf_as_missing():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0, np.inf]})
    pre = Preprocessor(**PLAIN)
    X = pre.fit_transform(df)
    assert X[:, 0].tolist() == [1, 3, 3, 10, 3]  # median of 1, 3, 10
    assert pre.report_["imputed"] == {"a": 2}


def test_iqr_clipping_by_hand():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 100.0], "rare": [0.0, 0.0, 0.0, 0.0, 1.0]})
    pre = Preprocessor(**{**PLAIN, "outliers": "iqr", "iqr_k": 1.5})
    X = pre.fit_transform(df)
    # Q1 = 2, Q3 = 4, IQR = 2 -> fences [-1, 7]; "rare" has IQR 0 and is left alone
    assert X[:, 0].tolist() == [1, 2, 3, 4, 7]
    assert X[:, 1].tolist() == [0, 0, 0, 0, 1]
    assert pre.report_["clipped"] == {"x": 1}
    # new data is clipped to the fences learned in fit
    assert pre.transform(pd.DataFrame({"x": [-50.0, 5.0], "rare": [0.0, 3.0]})).tolist() == [[-1, 0], [5, 3]]


def test_iqr_clipper_alone_k3():
    c = IQRClipper(k=3).fit(np.array([[1.0], [2.0], [3.0], [4.0], [100.0]]))
    assert c.lower_.tolist() == [-4.0] and c.upper_.tolist() == [10.0]


def test_correlation_filter_drops_later_column_of_pair_and_lists_it():
    rng = np.random.default_rng(0)
    a = np.arange(20.0)
    df = pd.DataFrame({"a": a, "b": 2 * a + 1, "c": rng.normal(size=20), "k": 5.0})
    pre = Preprocessor(**{**PLAIN, "corr_threshold": 0.95})
    X = pre.fit_transform(df)
    assert pre.feature_names_out_ == ["a", "c"]
    assert pre.report_["dropped_correlated"] == [["b", "a", 1.0]]
    assert pre.report_["dropped_constant"] == ["k"]
    assert X.shape == (20, 2)
    # order decides: put b first and a goes
    f = CorrelationFilter(threshold=0.95).fit(df[["b", "a", "c"]])
    assert list(f.get_feature_names_out()) == ["b", "c"]
    assert f.dropped_correlated_ == [("a", "b", 1.0)]
    # negative correlation counts too; null disables the pair test
    df2 = pd.DataFrame({"a": a, "m": -a})
    assert Preprocessor(**{**PLAIN, "corr_threshold": 0.95}).fit(df2).feature_names_out_ == ["a"]
    assert Preprocessor(**PLAIN).fit(df2).feature_names_out_ == ["a", "m"]


def test_isolation_forest_flags_the_obvious_outlier_without_removing_it():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        rng.normal(size=(200, 3)),
        columns=["u", "v", "w"],
        index=pd.Index(range(1000, 1200), name="customer_id"),
    )
    df.loc[1042] = [40.0, -40.0, 40.0]
    pre = Preprocessor(**{**PLAIN, "outliers": "isolation_forest", "contamination": 0.01, "random_state": 0})
    X = pre.fit_transform(df)
    flagged = pre.report_["flagged_outliers"]
    assert 1042 in flagged and len(flagged) <= 3
    assert X.shape == (200, 3) and X[42].tolist() == [40, -40, 40]  # kept, unchanged
    assert pre.outlier_mask_[42]
    assert pre.flag_outliers(df.iloc[[0, 42]]).tolist() == [False, True]


def test_standard_and_minmax_scaling():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 0.0, 5.0, 5.0]})
    X = Preprocessor(**{**PLAIN, "scaler": "standard"}).fit_transform(df)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(X.std(0), 1, atol=1e-6)
    X = Preprocessor(**{**PLAIN, "scaler": "minmax"}).fit_transform(df)
    assert X[:, 0].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert X[:, 1].tolist() == [1, 0, 0.5, 0.5]


def test_pca_dims_and_variance_share():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(100, 2))
    df = pd.DataFrame(z @ rng.normal(size=(2, 6)) + 0.01 * rng.normal(size=(100, 6)), columns=list("abcdef"))
    pre = Preprocessor(scaler="standard", corr_threshold=None, outliers="none", log1p="none", pca=3)
    assert pre.fit_transform(df).shape == (100, 3)
    assert len(pre.report_["pca_explained_variance_ratio"]) == 3
    pre = Preprocessor(scaler="standard", corr_threshold=None, outliers="none", log1p="none", pca=0.9)
    X = pre.fit_transform(df)
    assert X.shape == (100, 2) and pre.report_["pca_explained_variance_total"] >= 0.9
    assert pre.feature_names_out_ == ["pca0", "pca1"]
    with pytest.raises(ConfigError, match="pca=10"):
        Preprocessor(log1p="none", pca=10).fit(df)


def _mixed_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    money = rng.lognormal(3, 1, n)
    return pd.DataFrame(
        {
            "recency_days": rng.exponential(60, n),
            "frequency": rng.poisson(4, n).astype(float),
            "monetary_total": money,
            "monetary_mean": money / 3 + rng.normal(0, 1, n),
            "gap_mean_days": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2, 10, n)),
            "cat_share_a": rng.random(n),
            "is_vip": (rng.random(n) < 0.1).astype(float),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"outliers": "isolation_forest", "scaler": "minmax", "pca": 0.95},
        {"impute": "mean", "log1p": "none", "corr_threshold": 0.5, "pca": 2},
    ],
)
def test_save_load_round_trip_and_json_report(tmp_path, opts):
    df = _mixed_frame()
    pre = Preprocessor(**opts)
    X = pre.fit_transform(df)
    assert X.dtype == np.float32 and np.isfinite(X).all()
    assert X.shape == (len(df), len(pre.feature_names_out_))
    json.dumps(pre.report_)  # serialisable as is
    path = pre.save(tmp_path / "pre" / "preprocessor.joblib")
    again = Preprocessor.load(path)
    new = _mixed_frame(seed=1)
    np.testing.assert_array_equal(again.transform(new), pre.transform(new))
    assert again.feature_names_out_ == pre.feature_names_out_
    # extra columns are ignored, column order does not matter
    shuffled = new[new.columns[::-1]].assign(extra=1.0)
    np.testing.assert_array_equal(again.transform(shuffled), pre.transform(new))


def test_profile_only_columns_from_attrs_and_exclude():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 3.0, 2.0], "flag": [1.0, 0.0, 0.0, 1.0]})
    df.attrs["features"] = {"profile_only": ["flag", "gone"]}  # names absent from the frame are ignored
    pre = Preprocessor(**PLAIN)
    X = pre.fit_transform(df)
    assert pre.feature_names_in_ == ["a", "b"] and pre.report_["profile_only"] == ["flag"]
    assert pre.report_["n_features_in"] == 2
    np.testing.assert_array_equal(X, df[["a", "b"]].to_numpy(np.float32))
    # exclude adds to the frame's list; a profile-only column may even be non-numeric
    both = Preprocessor(**PLAIN, exclude=["b", "note"]).fit(df.assign(note=["x", "y", "z", "w"]))
    assert both.feature_names_in_ == ["a"]
    # without attrs, only exclude applies
    plain = Preprocessor(**PLAIN, exclude=["flag"]).fit(pd.DataFrame(df.to_dict()))
    assert plain.feature_names_in_ == ["a", "b"] and plain.report_["profile_only"] == ["flag"]
    assert "exclude=['flag']" in repr(plain)
    with pytest.raises(ConfigError, match="exclude names columns not in the features: zz"):
        Preprocessor(**PLAIN, exclude=["zz"]).fit(df)
    with pytest.raises(ConfigError, match="every column is profile-only"):
        Preprocessor(**PLAIN, exclude=["a", "b"]).fit(df)


@pytest.mark.parametrize(
    "opts",
    [
        {"impute": "mode"},
        {"scaler": "robust"},
        {"outliers": "zscore"},
        {"log1p": "yes"},
        {"pca": 0},
        {"pca": 1.5},
        {"corr_threshold": 1.5},
        {"contamination": 0.9},
        {"iqr_k": -1},
    ],
)
def test_bad_options_raise_config_error(opts):
    with pytest.raises(ConfigError, match=next(iter(opts))):
        Preprocessor(**opts)


def test_non_numeric_and_missing_columns_are_named():
    df = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "region": ["n", "s", "n"], "when": pd.to_datetime(["2024-01-01"] * 3)}
    )
    with pytest.raises(ConfigError, match="region, when"):
        Preprocessor().fit(df)
    pre = Preprocessor(log1p="none").fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]}))
    with pytest.raises(ConfigError, match="missing at transform time.*b"):
        pre.transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ConfigError, match="not fitted"):
        Preprocessor().transform(df[["a"]])


def test_pipeline_on_built_features():
    from seglab.data.schema import CustomerData
    from seglab.features import build_features

    rng = np.random.default_rng(0)
    n_c, n_t = 300, 3000
    customers = pd.DataFrame({"customer_id": np.arange(n_c), "region": rng.choice(["n", "s", None], n_c)})
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_c + 20, n_t) % (n_c - 10),  # last 10 customers buy nothing
            "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n_t), unit="D"),
            "amount": rng.lognormal(3, 1, n_t),
            "quantity": rng.integers(1, 4, n_t).astype(float),
            "category": rng.choice(list("abcdefgh"), n_t),
        }
    )
    df = build_features(CustomerData(name="r", customers=customers, transactions=tx))
    pre = Preprocessor()
    X = pre.fit_transform(df)
    assert X.shape[0] == n_c and np.isfinite(X).all()
    assert "monetary_mean" in pre.report_["log1p_columns"]  # lognormal order values: skewed
    assert not any(c.startswith(("cat_share", "region=")) for c in pre.report_["log1p_columns"])
    # with transactions, the region one-hot is profile-only by default (features.build.attributes: auto)
    assert sorted(pre.report_["profile_only"]) == ["region=n", "region=s"]
    assert not any(c.startswith("region=") for c in pre.feature_names_out_)


def test_correlation_filter_never_drops_protected_columns():
    """The review mask survives even when a column before it carries the same information."""
    has = np.r_[np.ones(15), np.zeros(5)]
    df = pd.DataFrame({"text_review_count": has * 1.0, "text_has_reviews": has, "c": np.arange(20.0) % 7})
    pre = Preprocessor(**{**PLAIN, "corr_threshold": 0.95})  # default protect = [text_has_reviews]
    pre.fit(df)
    assert pre.feature_names_out_ == ["text_has_reviews", "c"]
    assert pre.report_["dropped_correlated"] == [["text_review_count", "text_has_reviews", 1.0]]
    unprotected = Preprocessor(**{**PLAIN, "corr_threshold": 0.95, "protect": None}).fit(df)
    assert unprotected.feature_names_out_ == ["text_review_count", "c"]


def test_block_weights_make_a_block_count_as_its_weight():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200),
                       **{f"text_{i}": rng.normal(size=200) for i in range(4)}})

    def variances(**kw):
        pre = Preprocessor(**{**PLAIN, "scaler": "standard", **kw}).fit(df)
        X = pd.DataFrame(np.asarray(pre.transform(df)), columns=pre.feature_names_out_)
        return X.filter(like="text_").var(ddof=0).sum(), X["a"].var(ddof=0), pre

    text_var, a_var, _ = variances(block_weights={"text_": 1.0})  # seglab's config default
    assert text_var == pytest.approx(1.0, rel=1e-6) and a_var == pytest.approx(1.0, rel=1e-6)
    text_var, _, pre = variances(block_weights={"text_": 2.0})
    assert text_var == pytest.approx(4.0, rel=1e-6)
    assert pre.report_["block_weights"]["text_"]["columns"] == [f"text_{i}" for i in range(4)]
    for off in ({}, None, {"text_": None}):  # the constructor's default and the ways to switch it off
        assert variances(block_weights=off)[0] == pytest.approx(4.0, rel=1e-6)
    assert variances()[0] == pytest.approx(4.0, rel=1e-6)
