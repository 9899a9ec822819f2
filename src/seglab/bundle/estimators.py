"""How each model family and the preprocessor are written to and read from a bundle, without pickle.

Two state contracts, one per family:

- **scikit-learn objects** (the `Preprocessor` and the classical models, which wrap scikit-learn
  estimators) go through skops (``skops.io``), which rebuilds objects from a JSON schema and
  numpy arrays and executes nothing on load. Types skops does not trust by itself are loaded only
  when they are in `TRUSTED_TYPES`, an explicit list; any other type in a file refuses the load.
- **deep models** (`seglab.models.deep.DeepClusterModel`) are their class, their parameters as
  plain JSON (settings objects as ``{"class", "fields"}`` via ``to_dict``), a few fitted numbers
  (``n_features_in_``, the multimodal model's column indices), named numpy arrays
  (``cluster_centers_``) and torch ``state_dict``s of ``encoder_``/``decoder_`` loaded with
  ``weights_only=True``. The network is rebuilt by the model's own ``_build_autoencoder``.

Per-customer state never enters a bundle: training labels, outlier flags and the preprocessing
report are removed before saving (`PER_CUSTOMER_ATTRS`), and `check_no_training_rows` refuses an
object that still holds an array with one entry per training customer, naming the attribute (the
kNN-assigned models, DBSCAN and HDBSCAN keep training points to assign new customers, so they
cannot be bundled; N2D's UMAP cannot be saved without pickle).
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from seglab.bundle.manifest import BundleError

#: Types skops may rebuild beyond its own defaults: seglab's preprocessing steps and models,
#: and the scikit-learn/numpy internals they hold. Nothing else is ever loaded.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "seglab.features.preprocess.Preprocessor",
    "seglab.features.transformers.BlockWeighter",
    "seglab.features.transformers.CorrelationFilter",
    "seglab.features.transformers.IQRClipper",
    "seglab.features.transformers.IsolationForestFlagger",
    "seglab.features.transformers.log1p_columns",
    "seglab.models.kmeans.KMeansModel",
    "seglab.models.classical.centroid.MiniBatchKMeansModel",
    "seglab.models.classical.centroid.PCAKMeansModel",
    "seglab.models.classical.mixture.GMMModel",
    "seglab.models.classical.hierarchical.HierarchicalModel",
    "seglab.models.classical.hierarchical.SpectralModel",
    "seglab.models.classical.consensus.ConsensusModel",
)
#: Fitted attributes that describe the training customers one by one (removed before saving).
PER_CUSTOMER_ATTRS = ("labels_", "init_labels_", "outlier_mask_", "report_", "flags_", "cluster_history_")
DEEP_JSON_ATTRS = ("n_features_in_", "tab_idx_", "text_idx_", "mask_idx_")
DEEP_ARRAYS = ("cluster_centers_",)
DEEP_MODULES = ("encoder_", "decoder_")


def _strip(obj: Any, seen: set[int]) -> None:
    """Remove `PER_CUSTOMER_ATTRS` from ``obj`` and every estimator it holds (in place)."""
    if id(obj) in seen or not hasattr(obj, "__dict__") or isinstance(obj, type):
        return
    seen.add(id(obj))
    for name in PER_CUSTOMER_ATTRS:
        obj.__dict__.pop(name, None)
    for value in list(obj.__dict__.values()):
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(item, tuple) and len(item) == 2:  # a Pipeline's (name, step)
                item = item[1]
            if hasattr(item, "get_params"):
                _strip(item, seen)


def _rows_held(obj: Any, n_rows: int, path: str, seen: set[int]) -> str | None:
    """The attribute path of the first array with ``n_rows`` entries under ``obj``, if any."""
    if id(obj) in seen:
        return None
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return path if obj.ndim >= 1 and len(obj) == n_rows else None
    if isinstance(obj, (list, tuple)):
        if len(obj) == n_rows and not all(isinstance(v, str) for v in obj):
            return path
        items = enumerate(obj)
    elif isinstance(obj, dict):
        items = obj.items()
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = vars(obj).items()
    else:
        return None
    for key, value in items:
        found = _rows_held(value, n_rows, f"{path}.{key}", seen)
        if found:
            return found
    return None


def check_no_training_rows(obj: Any, n_rows: int, what: str) -> None:
    """Refuse ``obj`` when it still holds one entry per training customer (per-customer data)."""
    if n_rows <= 1:
        return
    found = _rows_held(obj, n_rows, what, set())
    if found:
        raise BundleError(f"{what} keeps {found} with one entry per training customer; a bundle holds no "
                          "per-customer data, so this model cannot be bundled (it needs its training points "
                          "to assign new customers)")


def save_skops(obj: Any, path: Path, n_rows: int, what: str) -> None:
    """Write ``obj`` with skops after removing per-customer state; refuse untrusted types."""
    import skops.io as sio

    obj = copy.deepcopy(obj)
    _strip(obj, set())
    check_no_training_rows(obj, n_rows, what)
    data = sio.dumps(obj)
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
    if untrusted:
        raise BundleError(f"{what} holds types outside seglab's trusted list: {', '.join(untrusted)}")
    path.write_bytes(data)


def load_skops(path: Path) -> Any:
    """Read a skops file, trusting only `TRUSTED_TYPES` (anything else: `BundleError`)."""
    import skops.io as sio

    data = path.read_bytes()
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as err:  # not a skops file at all (a pickle, a truncated file)
        raise BundleError(f"{path} is not a readable skops file ({type(err).__name__}: {err})") from None
    untrusted = [t for t in found if t not in TRUSTED_TYPES]
    if untrusted:
        raise BundleError(f"{path} holds types seglab does not trust: {', '.join(untrusted)}; refused")
    return sio.loads(data, trusted=found)


# --- deep models -------------------------------------------------------------------------------
def _plain_param(name: str, value: Any) -> Any:
    from seglab.models.settings import Settings

    if isinstance(value, Settings):
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}", "fields": value.to_dict()}
    if name in ("augment", "trainer_kwargs"):
        return None  # training only: inference needs neither (and a callable is not data)
    json.dumps(value)  # a parameter that is not plain JSON is a bug in this contract
    return value


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    if not module.startswith("seglab."):
        raise BundleError(f"bundle names class {path}; only seglab classes are rebuilt")
    return getattr(importlib.import_module(module), name)


def _settings_from(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"class", "fields"}:
        cls = _import(value["class"])
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in value["fields"].items()}
        return cls(**fields)
    return value


def deep_state(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, dict]]:
    """``(json, arrays, state_dicts)`` of a fitted deep model (see the module docstring)."""
    cls = type(model)
    meta = {"family": "deep", "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": {name: _plain_param(name, getattr(model, name)) for name in cls._get_param_names()},
            "fitted": {name: _json_value(getattr(model, name)) for name in DEEP_JSON_ATTRS if hasattr(model, name)}}
    arrays = {name: np.asarray(getattr(model, name)) for name in DEEP_ARRAYS}
    weights = {name.rstrip("_"): getattr(model, name).state_dict()
               for name in DEEP_MODULES if getattr(model, name, None) is not None}
    meta["weights"] = sorted(weights)
    return meta, arrays, weights


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def restore_deep(meta: dict[str, Any], arrays: dict[str, np.ndarray], weights: dict[str, dict]) -> Any:
    """The deep model of `deep_state`, rebuilt: same class and settings, same weights."""
    cls = _import(meta["class"])
    model = cls(**{k: _settings_from(v) for k, v in meta["params"].items()})
    for name, value in meta["fitted"].items():
        setattr(model, name, value)
    for name in DEEP_ARRAYS:
        setattr(model, name, arrays[name])
    encoder, decoder = model._build_autoencoder(int(model.n_features_in_))  # the model's own architecture
    try:
        encoder.load_state_dict(weights["encoder"], strict=True)
        if "decoder" in weights:
            decoder.load_state_dict(weights["decoder"], strict=True)
    except RuntimeError as err:
        raise BundleError(f"the saved weights do not fit {meta['class']}'s network: {str(err).splitlines()[0]}") from None
    model.encoder_ = encoder.eval()
    model.decoder_ = decoder.eval() if "decoder" in weights else None
    return model
