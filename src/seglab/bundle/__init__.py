"""Safe, self-checking files for a fitted `seglab.pipeline.SegmentationPipeline`.

``write_bundle(folder, description, preprocessor, model, n_rows)`` writes (names in
`seglab.rundir`): ``pipeline.json`` (the feature spec, the text featurizer's reference by model
id and weight hash, the feature schema with training statistics, the config), the preprocessor
and the model through the state contracts of `seglab.bundle.estimators`, then ``manifest.json``
with every file's sha256 (`seglab.bundle.manifest`). ``read_bundle`` verifies the manifest
before reading anything and never unpickles: JSON, ``np.load(allow_pickle=False)``, skops with
an explicit trusted-types list, ``torch.load(weights_only=True)``.

``n_rows`` is the number of training customers: an object that still holds an array of that
length is refused (no per-customer data in a bundle).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seglab.bundle.estimators import deep_state, load_skops, restore_deep, save_skops
from seglab.bundle.manifest import BundleError, library_versions, verify, write_manifest
from seglab.rundir import (
    BUNDLE_MODEL,
    BUNDLE_MODEL_ARRAYS,
    BUNDLE_MODEL_SKOPS,
    BUNDLE_PIPELINE,
    BUNDLE_PREPROCESSOR,
    BUNDLE_WEIGHTS,
    LEGACY_PICKLES,
)

__all__ = ["BundleError", "read_bundle", "write_bundle"]


def _is_deep(model: Any) -> bool:
    from seglab.models.deep import DeepClusterModel

    return isinstance(model, DeepClusterModel)


def write_bundle(folder: str | Path, description: dict[str, Any], preprocessor: Any, model: Any,
                 n_rows: int) -> Path:
    """Write a bundle into ``folder`` (replaced if it exists); see the module docstring.

    A model that cannot be bundled (it keeps training points, or pickle-only parts) still gets a
    bundle without a model: ``pipeline.json`` says why, and loading it for assignment says so."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_skops(preprocessor, tmp / BUNDLE_PREPROCESSOR, n_rows, "the preprocessor")
    try:
        if _is_deep(model):
            if type(model).__name__ == "N2D":
                raise BundleError("N2D's UMAP has no pickle-free saved form, so model=n2d cannot be bundled")
            import torch

            meta, arrays, weights = deep_state(model)
            np.savez(tmp / BUNDLE_MODEL_ARRAYS, **arrays)
            for name, state in weights.items():
                torch.save(state, tmp / BUNDLE_WEIGHTS.format(name=name))
        else:
            save_skops(model, tmp / BUNDLE_MODEL_SKOPS, n_rows, f"the model ({type(model).__name__})")
            meta = {"family": "sklearn", "class": f"{type(model).__module__}.{type(model).__qualname__}"}
        description = {**description, "deployable": True}
    except BundleError as err:
        for leftover in tmp.glob("model*"):
            leftover.unlink()
        meta = {"family": None, "class": f"{type(model).__module__}.{type(model).__qualname__}"}
        description = {**description, "deployable": False, "not_deployable_because": str(err)}
    (tmp / BUNDLE_MODEL).write_text(json.dumps(meta, indent=2))
    (tmp / BUNDLE_PIPELINE).write_text(json.dumps(description, indent=2, default=str))
    write_manifest(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def read_bundle(folder: str | Path) -> tuple[dict[str, Any], Any, Any]:
    """``(description, preprocessor, model)`` of a verified bundle (model None when the run's
    model could not be bundled: ``description["not_deployable_because"]``)."""
    folder = Path(folder)
    if not folder.is_dir():
        legacy = [n for n in LEGACY_PICKLES if (folder.parent / n).is_file()]
        if legacy:
            raise BundleError(f"{folder.parent} predates bundles: its {' and '.join(legacy)} are joblib pickles, "
                              "which seglab no longer loads (loading a pickle can run code); train the run again "
                              "with this seglab to get a bundle/")
        raise BundleError(f"no bundle at {folder}")
    manifest = verify(folder)
    ours = library_versions()
    for lib in ("scikit-learn", "torch"):
        saved = manifest.get("libraries", {}).get(lib)
        if saved and saved != ours.get(lib):
            warnings.warn(f"bundle {folder} was written with {lib} {saved}, this is {ours.get(lib)}: check that "
                          "assignments match the run's (seglab assign on a few training customers)", stacklevel=2)
    description = json.loads((folder / BUNDLE_PIPELINE).read_text())
    meta = json.loads((folder / BUNDLE_MODEL).read_text())
    preprocessor = load_skops(folder / BUNDLE_PREPROCESSOR)
    family = meta.get("family")
    if family == "sklearn":
        model = load_skops(folder / BUNDLE_MODEL_SKOPS)
    elif family == "deep":
        import torch

        with np.load(folder / BUNDLE_MODEL_ARRAYS, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        weights = {name: torch.load(folder / BUNDLE_WEIGHTS.format(name=name), map_location="cpu", weights_only=True)
                   for name in meta["weights"]}
        model = restore_deep(meta, arrays, weights)
    else:
        model = None
    return description, preprocessor, model
