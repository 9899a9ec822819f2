"""The compiled fast path (`seglab.pipeline.fast`) gives what ``SegmentationPipeline.assign`` gives:
same labels, probabilities and distances within 1e-6, on the training rows and on rows with
missing, infinite and out-of-range values; what it cannot reproduce is left to the general path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_helpers import make_model, synthetic
from seglab.errors import SeglabError
from seglab.pipeline import SegmentationPipeline
from seglab.pipeline.fast import compile_pipeline, why_not_compiled

CASES = {  # name -> (model, Preprocessor options)
    "kmeans": ("kmeans", {}),
    "kmeans_isoforest_minmax": ("kmeans", {"outliers": "isolation_forest", "scaler": "minmax"}),
    "gmm": ("gmm", {"log1p": "auto", "outliers": "iqr", "scaler": "standard"}),
    "dec_blocks": ("dec", {"block_weights": {"BLOCK": 2.0}}),
}


@pytest.fixture(scope="module")
def data():
    return synthetic(n=300)


def fit(data, model: str, preprocess: dict) -> SegmentationPipeline:
    if "BLOCK" in preprocess.get("block_weights", {}):  # weigh the first feature column's prefix
        pipe = SegmentationPipeline(make_model(model)).fit(data)
        prefix = pipe.feature_columns[0].split("_")[0] + "_"
        pipe = SegmentationPipeline(make_model(model), preprocess={"block_weights": {prefix: 2.0}}).fit(data)
        assert pipe.preprocessor_.pipeline_.named_steps["blocks"].blocks_  # a weight other than 1 is applied
        return pipe
    return SegmentationPipeline(make_model(model), preprocess=preprocess).fit(data)


def hard_rows(pipe: SegmentationPipeline, data) -> pd.DataFrame:
    """The training customers' rows, then copies with missing, infinite and out-of-range values."""
    base = pipe.features(data)[pipe.feature_columns].astype("float64")
    rng = np.random.default_rng(0)
    log_cols = set(pipe.preprocessor_.pipeline_.named_steps["log1p"].kw_args["columns"])
    parts = [base]
    for kind in ("nan", "inf", "high", "low"):
        part = base.iloc[:60].copy()
        mask = rng.random(part.shape) < 0.3
        values = part.to_numpy().copy()
        span = np.nanmax(base.to_numpy(), axis=0) - np.nanmin(base.to_numpy(), axis=0) + 1.0
        if kind == "nan":
            values[mask] = np.nan
        elif kind == "inf":
            values[mask] = np.where(rng.random(mask.sum()) < 0.5, np.inf, -np.inf)
        elif kind == "high":
            values = np.where(mask, values + 50 * span, values)
        else:  # below the training range, but above -1 where the column is log1p'd (else log1p is NaN)
            low = np.nanmin(base.to_numpy(), axis=0) - 50 * span
            low = np.where([c in log_cols for c in base.columns], -0.5, low)
            values = np.where(mask, low, values)
        parts.append(pd.DataFrame(values, columns=base.columns))
    out = pd.concat(parts, ignore_index=True)
    out.index = pd.Index([f"c{i}" for i in range(len(out))], name="customer_id")
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_equals_the_pipeline(case, data):
    pipe = fit(data, *CASES[case])
    fast = compile_pipeline(pipe)
    assert fast is not None, why_not_compiled(pipe)
    rows = hard_rows(pipe, data)
    expected = pipe.assign(rows)
    answers = fast.assign_rows(list(rows.index), rows.to_dict(orient="records"))
    assert answers is not None and len(answers) == len(rows) > 250
    assert [a["customer_id"] for a in answers] == list(rows.index)
    np.testing.assert_array_equal([a["segment"] for a in answers], expected["segment"].to_numpy())
    assert len(set(expected["segment"])) > 1
    np.testing.assert_allclose([a["probabilities"] for a in answers], expected.filter(like="prob_").to_numpy(),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose([a["distance"] for a in answers], expected["distance"].to_numpy(), rtol=1e-6)
    # the preprocessor alone, value for value
    X = pipe.preprocessor_.transform(rows)
    np.testing.assert_array_equal(fast.pre.transform(rows.to_numpy()), X)


def test_rows_the_fast_path_leaves_to_the_general_path(data):
    pipe = fit(data, "gmm", {"log1p": "auto"})
    fast = compile_pipeline(pipe)
    log_cols = pipe.preprocessor_.pipeline_.named_steps["log1p"].kw_args["columns"]
    assert log_cols, "the test needs a log1p column"
    row = pipe.features(data)[pipe.feature_columns].iloc[0].to_dict()
    assert fast.assign_rows(["a"], [{**row, log_cols[0]: -3.0}]) is None  # log1p(-3): not finite
    answers = fast.assign_rows(["a", "b"], [{**row, log_cols[0]: "many"}, row])
    assert answers[0] == {"customer_id": "a", "error": f"{log_cols[0]} is not a number"} and "segment" in answers[1]
    with pytest.raises(SeglabError, match="lack the run's feature columns"):
        fast.assign_rows(["a"], [{k: v for k, v in row.items() if k != log_cols[0]}])


def test_what_is_not_compiled_says_why(data):
    pca = SegmentationPipeline(make_model("kmeans"), preprocess={"pca": 2}).fit(data)
    assert compile_pipeline(pca) is None and "pca" in why_not_compiled(pca)
    hier = SegmentationPipeline(make_model("hierarchical")).fit(data)
    assert compile_pipeline(hier) is None and "HierarchicalModel" in why_not_compiled(hier)
