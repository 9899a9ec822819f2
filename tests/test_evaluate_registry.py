"""The metric registry: one definition per metric, read by evaluation, the summary and the report."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.evaluate import evaluate_clustering
from seglab.evaluate.registry import (
    MetricSpec,
    decimals_for,
    get_spec,
    metric_specs,
    register,
    registered,
    report_specs,
    summary_specs,
)

X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0], [9.0, 1.0]])
LABELS = np.array([0, 0, 1, 1, 2, 2])


def test_the_built_in_lists_read_from_the_registry():
    assert [s.key for s in summary_specs()] == [
        "eval/silhouette", "eval/calinski_harabasz", "eval/davies_bouldin", "eval/latent_silhouette",
        "eval/acc", "eval/nmi", "eval/ari", "time/fit_s"]
    assert [s.key for s in report_specs("rank")] == [
        "eval/silhouette", "eval/calinski_harabasz", "eval/davies_bouldin", "eval/acc", "eval/nmi", "eval/ari"]
    assert [s.key for s in report_specs("info")] == ["time/fit_s"]
    assert get_spec("eval/davies_bouldin").higher_is_better is False
    assert {s.family for s in metric_specs(computed=True)} == {"sizes", "internal", "latent", "external"}
    m, _ = evaluate_clustering(X, LABELS, truth=LABELS, latent=X)
    assert set(m) == {s.key for s in metric_specs(computed=True)}  # every computed metric, nothing else


def test_a_registered_metric_is_computed_only_when_its_inputs_exist():
    def agree(inputs):
        codes, labels = inputs.external()
        return float(np.mean(codes == labels))

    with registered(MetricSpec("eval/raw_agreement", "raw agreement", True, family="external", compute=agree,
                               needs="truth")):
        with_truth, _ = evaluate_clustering(X, LABELS, truth=np.array([0, 0, 1, 1, 2, 0]))
        without, _ = evaluate_clustering(X, LABELS)
    assert with_truth["eval/raw_agreement"] == pytest.approx(5 / 6)
    assert "eval/raw_agreement" not in without
    assert "eval/raw_agreement" not in evaluate_clustering(X, LABELS, truth=LABELS)[0]  # unregistered again


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register(MetricSpec("eval/silhouette", "again", True))
    with pytest.raises(ValueError, match="'stage/name'"):
        register(MetricSpec("silhouette", "no stage", True))
    with pytest.raises(ValueError, match="needs a direction"):
        MetricSpec("eval/x", "x", None, report="rank")
    with pytest.raises(ValueError, match="family"):
        MetricSpec("eval/x", "x", True, family="vibes")
    with pytest.raises(KeyError, match="no metric 'eval/nope'"):
        get_spec("eval/nope")


def test_direction_arrow_and_decimals():
    up, down, neither = MetricSpec("a/b", "B", True), MetricSpec("a/c", "C", False), MetricSpec("a/d", "D")
    assert up.better(2, 1) and not up.better(1, 2) and down.better(1, 2) and not neither.better(2, 1)
    assert (up.arrow, down.arrow, neither.arrow, up.name) == ("↑", "↓", "", "b")
    assert decimals_for(up, [0.5, float("nan")]) == 3 and decimals_for(up, [250.0]) == 1
    assert decimals_for(MetricSpec("a/e", "E", decimals=0), [0.5]) == 0
