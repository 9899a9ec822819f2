"""Bundles: round trip for k-means, GMM and DEC (with and without text); every tampering refused
with one `seglab error` line; no per-customer data inside; loading never unpickles."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

from pipeline_helpers import SENTINEL, fitted, synthetic
from seglab.bundle import BundleError
from seglab.pipeline import SegmentationPipeline, load_run


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    """A k-means bundle and a GMM bundle of the same data."""
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for name in ("kmeans", "gmm"):
        pipe, _ = fitted(name, text=False, data=data)
        out[name] = (pipe, pipe.save(root / name))
    return out


def copy_of(bundle, tmp_path):
    dst = tmp_path / "bundle"
    shutil.copytree(bundle, dst)
    return dst


def refused(folder, match):
    with pytest.raises(BundleError, match=match) as err:
        SegmentationPipeline.load(folder)
    assert "\n" not in str(err.value)  # one line after "seglab error: "
    return str(err.value)


@pytest.mark.parametrize("name,text", [("kmeans", False), ("gmm", False), ("dec", False), ("kmeans", True),
                                       ("dec", True)])
def test_round_trip_gives_the_same_segments(tmp_path, data, name, text):
    pipe, _ = fitted(name, text=text, data=data)
    before = pipe.assign(data)
    loaded = SegmentationPipeline.load(pipe.save(tmp_path / "b"))
    after = loaded.assign(data)
    np.testing.assert_array_equal(after["segment"].to_numpy(), before["segment"].to_numpy())
    np.testing.assert_allclose(after.filter(like="prob_").to_numpy(), before.filter(like="prob_").to_numpy(), atol=1e-6)
    np.testing.assert_allclose(after["distance"].to_numpy(), before["distance"].to_numpy(), rtol=1e-6)
    assert any(c.startswith("text_") for c in loaded.feature_columns) == text


def test_no_customer_id_in_any_bundle_file(saved, tmp_path, data):
    pipe, _ = fitted("dec", text=True, data=data)
    folders = [b for _, b in saved.values()] + [pipe.save(tmp_path / "dec")]
    for folder in folders:
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert SENTINEL.encode() not in path.read_bytes(), path
    # the check is real: the ids are in the data the pipelines were fitted on
    assert data.customers["customer_id"].str.contains(SENTINEL).all()


def test_corrupted_file_is_refused(saved, tmp_path):
    folder = copy_of(saved["kmeans"][1], tmp_path)
    target = folder / "preprocessor.skops"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    refused(folder, "preprocessor.skops: sha256 differs from the manifest")


def test_file_swapped_from_another_bundle_is_refused(saved, tmp_path):
    folder = copy_of(saved["kmeans"][1], tmp_path)
    shutil.copy(saved["gmm"][1] / "model.skops", folder / "model.skops")
    refused(folder, "model.skops: sha256 differs")


def test_bad_hash_in_the_manifest_is_refused(saved, tmp_path):
    folder = copy_of(saved["kmeans"][1], tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["pipeline.json"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused(folder, "pipeline.json: sha256 differs")


@pytest.mark.parametrize("version", ["0.2.0", "1.0.0", "0.0.9"])
def test_incompatible_version_is_refused(saved, tmp_path, version):
    folder = copy_of(saved["kmeans"][1], tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["seglab_version"] = version
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused(folder, f"written by seglab {version}, incompatible")


def test_a_dropped_in_pickle_is_refused(saved, tmp_path):
    folder = copy_of(saved["kmeans"][1], tmp_path)
    (folder / "extra.pkl").write_bytes(pickle.dumps({"x": 1}))
    refused(folder, "files not in the manifest: extra.pkl")


def test_a_pickle_listed_in_the_manifest_is_refused(saved, tmp_path):
    """Even with its hash put in the manifest, a pickle in place of a state file is never read."""
    from seglab.bundle.manifest import sha256_file

    folder = copy_of(saved["kmeans"][1], tmp_path)
    (folder / "model.skops").write_bytes(pickle.dumps(saved["kmeans"][0].model_))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.skops"] = sha256_file(folder / "model.skops")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused(folder, "model.skops is a pickle")


def test_loading_never_unpickles(saved, monkeypatch, data):
    def forbidden(*args, **kwargs):
        raise AssertionError("a bundle load called pickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr("joblib.load", forbidden)
    pipe = SegmentationPipeline.load(saved["gmm"][1])
    assert len(pipe.assign(data)) == data.n_customers


def test_old_run_dir_predates_bundles(tmp_path):
    (tmp_path / "model.ckpt").write_bytes(b"\x80\x04old")
    (tmp_path / "preprocessor.joblib").write_bytes(b"\x80\x04old")
    with pytest.raises(BundleError, match="predates bundles") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)


def test_model_that_keeps_training_points_is_not_deployable(tmp_path, data):
    """Hierarchical clustering with kNN assignment needs its training points: saved without a
    model, and refused for assignment with the reason."""
    pipe, _ = fitted("hierarchical", text=False, data=data)
    folder = pipe.save(tmp_path / "b")
    description = json.loads((folder / "pipeline.json").read_text())
    assert description["deployable"] is False and "training customer" in description["not_deployable_because"]
    refused(folder, "cannot be used to assign new customers")
