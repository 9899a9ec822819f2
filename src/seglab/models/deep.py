"""The deep clustering estimator: an autoencoder pretrained on ``X``, then a clustering of its code.

Every deep seglab model is this estimator with other parts, not another copy of it:

- the network (``network``: `seglab.models.settings.Network`, an MLP autoencoder, or the
  multimodal model's two-branch one), built by ``_build_autoencoder``;
- the pretraining (``pretraining``: `seglab.models.settings.Pretraining`), one loop for every
  network (`seglab.models.autoencoder.pretrain_autoencoder`, after `seglab.models.layerwise` for
  ``pretrain=layerwise``) with the model's reconstruction loss (``_reconstruction_loss``: MSE, or
  the multimodal decoder's masked loss) and its ``augment`` callable (`seglab.models.augment`);
- the clustering of the latent code (``clustering`` settings, ``_cluster_latent``): k-means
  (`seglab.models.ae_kmeans`), k-means then self-training with a clustering-loss hook
  (`seglab.models.dec`), UMAP then a Gaussian mixture (`seglab.models.n2d`).

The constructor is listed once, here. ``network``, ``pretraining`` and ``clustering`` are settings
objects (None: the class's defaults, ``settings_classes``); ``augment`` a callable applied to
training batches; ``num_threads`` the torch threads during fit and inference (None leaves the
process setting; small networks on shared cores are much faster with 1); ``trainer_kwargs`` the
Lightning ``Trainer`` settings (`seglab.models.runtime`). ``from_config`` builds a model from the
flat keys of ``conf/model/*.yaml`` (``latent_dim=5``, ``update_interval=60``...).

``fit(X, init_from=other)`` copies another fitted model's pretrained autoencoder (a benchmark
shares one pretraining per seed between AE+k-means, DEC and IDEC). ``fit(X, checkpoint_dir=d)``
keeps resume points in ``d`` (`seglab.models.checkpoints`): the pretraining's per-epoch Lightning
checkpoint, then the pretrained autoencoder, then the clustering phase's per-epoch checkpoint; a
killed fit resumes from the latest. A fitted model is plain torch modules (``encoder_``,
``decoder_``), numpy arrays (``cluster_centers_``, ``labels_``) and its settings (``to_dict``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from seglab.errors import ConfigError
from seglab.models.augment import augmentation
from seglab.models.autoencoder import build_mlp_autoencoder, pretrain_autoencoder
from seglab.models.base import ClusterModel
from seglab.models.checkpoints import load_pretrained, save_pretrained, stage_path
from seglab.models.losses import reconstruction_loss, soft_assignment
from seglab.models.params import at_least, check_params
from seglab.models.runtime import clone_module, encode, plain_dict, predict_device, seed_all, torch_threads
from seglab.models.settings import LatentKMeans, Network, Pretraining, Settings, config_fields


class DeepClusterModel(ClusterModel):
    """Autoencoder pretraining, then a clustering of the latent code (``_cluster_latent``).

    Fitted attributes: ``encoder_``/``decoder_`` (torch modules, CPU), ``labels_``,
    ``cluster_centers_`` (in ``transform``'s space), ``pretrain_report_``, ``fit_report()``.
    """

    has_embedding = True
    uses_lightning = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": [at_least(1)], "network": [Settings, None], "pretraining": [Pretraining, None],
        "clustering": [Settings, None], "augment": [callable, None], "num_threads": [Integral, None],
        "random_state": [at_least(0)], "trainer_kwargs": [Mapping, None],
    }

    #: The settings class (or flat-key factory) behind each settings parameter: the defaults
    #: when the parameter is None, and where ``from_config`` files the flat keys.
    settings_classes: ClassVar[dict[str, Callable[..., Any]]] = {
        "network": Network, "pretraining": Pretraining, "clustering": LatentKMeans, "augment": augmentation,
    }

    def __init__(
        self,
        n_clusters: int = 5,
        network: Any = None,
        pretraining: Pretraining | None = None,
        clustering: Any = None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        num_threads: int | None = None,
        random_state: int = 0,
        trainer_kwargs: Mapping[str, Any] | None = None,
    ):
        self.n_clusters = n_clusters
        self.network = network
        self.pretraining = pretraining
        self.clustering = clustering
        self.augment = augment
        self.num_threads = num_threads
        self.random_state = random_state
        self.trainer_kwargs = trainer_kwargs

    # --- configuration ----------------------------------------------------------------------
    @classmethod
    def from_config(cls, **keys: Any) -> DeepClusterModel:
        """The model from flat config keys: each key that names a field of one of the class's
        settings goes into that settings object; the rest are constructor arguments."""
        keys = dict(keys)
        params: dict[str, Any] = {}
        for name, factory in cls.settings_classes.items():
            mine = {field: keys.pop(key) for key, field in config_fields(factory).items() if key in keys}
            if mine:
                params[name] = factory(**mine)
        unknown = sorted(set(keys) - set(cls._get_param_names()))
        if unknown:
            raise ConfigError(f"{cls.__name__} has no setting {', '.join(unknown)}; its keys are "
                              f"{', '.join(sorted(cls.config_keys()))}")
        return cls(**params, **keys)

    @classmethod
    def config_keys(cls) -> set[str]:
        keys = set(cls._get_param_names()) - set(cls.settings_classes)
        for factory in cls.settings_classes.values():
            keys |= set(config_fields(factory))
        return keys

    def _settings(self, name: str) -> Any:
        """The settings object ``name`` in use: the parameter, or the class's defaults when None."""
        value = getattr(self, name)
        return self.settings_classes[name]() if value is None else value

    def check_settings(self) -> None:
        """A clear `ConfigError` for any parameter or setting outside what its class allows
        (``_parameter_constraints``) or that contradicts another (a preset with widths), before
        any training; `seglab.config.check_config` calls it before a run reads any data."""
        check_params(self)
        for name in ("network", "pretraining", "clustering"):
            self._settings(name).check()
        if isinstance(self.augment, Settings):
            self.augment.check()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the latent code is float32 whatever X is
        return tags

    # --- fitting ---------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, init_from: DeepClusterModel | None = None,
            checkpoint_dir: str | None = None) -> DeepClusterModel:
        """Pretrain (or copy ``init_from``'s pretrained autoencoder), then cluster the latent code.

        ``checkpoint_dir``: keep resume points there, and continue from those a killed fit left
        (`seglab.models.checkpoints`)."""
        self.check_settings()
        X = self._validate(X, reset=True, dtype=np.float32)
        if len(X) < self._min_samples():
            raise ValueError(f"n_samples={len(X)}: {type(self).__name__} needs at least {self._min_samples()} "
                             f"rows to form {self.n_clusters} clusters")
        self._checkpoint_dir = checkpoint_dir
        try:
            with torch_threads(self.num_threads):
                self._fit(X, init_from)
        finally:
            del self._checkpoint_dir  # a fitted model does not point at a run dir
        return self

    def _min_samples(self) -> int:
        """The fewest rows ``fit`` accepts: one per cluster."""
        return int(self.n_clusters)

    def _fit(self, X: np.ndarray, init_from: DeepClusterModel | None) -> None:
        seed_all(self.random_state)
        t0 = time.perf_counter()
        if not load_pretrained(self):  # the autoencoder an interrupted fit had pretrained already
            self._pretrain(X, init_from)
            save_pretrained(self)
        self._report = {"fit/pretrain_seconds": time.perf_counter() - t0, **self.pretrain_report_}
        self._cluster_latent(X)
        self._report.update(self._degeneracy_report(self.labels_))

    def _cluster_latent(self, X: np.ndarray) -> None:
        """Second stage: set ``labels_`` and ``cluster_centers_`` from the pretrained autoencoder."""
        raise NotImplementedError

    def _build_autoencoder(self, n_features: int) -> tuple[nn.Module, nn.Module]:
        net = self._settings("network")
        hidden, latent = net.dims()
        return build_mlp_autoencoder(n_features, hidden, latent, activation=net.activation, dropout=net.dropout)

    def _reconstruction_loss(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The autoencoder's reconstruction loss ``(x_hat, x)``: mean squared error."""
        return reconstruction_loss

    def _pretrain(self, X: np.ndarray, init_from: DeepClusterModel | None) -> None:
        if init_from is not None:
            self._copy_pretrained(init_from, X.shape[1])
            return
        self.encoder_, self.decoder_ = self._build_autoencoder(X.shape[1])
        p = self._settings("pretraining")
        common = dict(lr=p.lr, weight_decay=p.weight_decay, batch_size=p.batch_size, patience=p.patience,
                      max_steps=p.pretrain_steps, val_fraction=p.val_fraction, noise_kind=p.noise_kind,
                      seed=self.random_state, trainer_kwargs=self.trainer_kwargs)
        # the end-to-end stage, with its resume point (if any)
        end_to_end = dict(max_epochs=p.max_epochs, stage="pretrain", lr_schedule=p.lr_schedule, augment=self.augment,
                          loss=self._reconstruction_loss(), checkpoint=stage_path(self, "pretrain"), **common)
        report: dict[str, float] = {}
        if p.pretrain == "layerwise":
            if not isinstance(self.encoder_, nn.Sequential):
                raise ConfigError(f"pretrain=layerwise needs the MLP autoencoder; {type(self).__name__} has another")
            from seglab.models.layerwise import layerwise_pretrain

            report.update(layerwise_pretrain(self.encoder_, self.decoder_, X, max_epochs=p.layerwise_epochs,
                                             noise=p.noise, **common))
            report.update(pretrain_autoencoder(self.encoder_, self.decoder_, X, noise=0.0, **end_to_end))
        else:
            report.update(pretrain_autoencoder(self.encoder_, self.decoder_, X, noise=p.noise, **end_to_end))
        self.pretrain_report_ = report

    def _copy_pretrained(self, donor: DeepClusterModel, n_features: int) -> None:
        if not isinstance(donor, DeepClusterModel) or not hasattr(donor, "encoder_"):
            raise ValueError("init_from must be a fitted seglab deep model")
        if donor.settings_classes["network"] is not self.settings_classes["network"]:
            raise ValueError(f"init_from must have {type(self).__name__}'s kind of network, not {type(donor).__name__}'s")
        if getattr(donor, "n_features_in_", n_features) != n_features:
            raise ValueError("init_from was fitted on a different number of features")
        if donor.decoder_ is None:
            raise ValueError("init_from has no decoder (DEC drops it): share the pretraining of AE+k-means or IDEC")
        self.encoder_ = clone_module(donor.encoder_)
        self.decoder_ = clone_module(donor.decoder_)
        self.pretrain_report_ = {**donor.pretrain_report_, "fit/pretrain_shared": 1.0}

    # --- inference -------------------------------------------------------------------------
    def _latent(self, X: np.ndarray) -> np.ndarray:
        with torch_threads(self.num_threads):
            return encode(self.encoder_, X, predict_device(self.trainer_kwargs))

    def latent(self, X: Any) -> np.ndarray:
        """The autoencoder's latent code (n, latent_dim)."""
        return self._latent(self._validate(X, dtype=np.float32))

    def transform(self, X: Any) -> np.ndarray:
        """The embedding the clustering happens in: the latent code (n, latent_dim)."""
        return self.latent(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Student-t soft assignment q (rows sum to 1) of each row to each latent centre
        (``alpha`` degrees of freedom): a soft score whose argmax is the nearest centre."""
        return self._soft_assignment(self.transform(X))

    def _soft_assignment(self, Z: np.ndarray) -> np.ndarray:
        """In chunks of rows: the kernel's (rows, k, latent) difference tensor would be 4 GB in
        float64 for 10^7 customers at once."""
        alpha = float(self._settings("clustering").alpha)
        centers = torch.as_tensor(self.cluster_centers_, dtype=torch.float64)
        out = np.empty((len(Z), len(centers)), dtype=np.float64)
        for i in range(0, len(Z), 65536):
            z = torch.as_tensor(Z[i:i + 65536], dtype=torch.float64)
            out[i:i + 65536] = soft_assignment(z, centers, alpha).numpy()
        return out

    def reconstruct(self, X: Any) -> np.ndarray:
        """The autoencoder's reconstruction of ``X`` (for diagnostics)."""
        X = self._validate(X, dtype=np.float32)
        if self.decoder_ is None:
            raise RuntimeError(f"{type(self).__name__} drops its decoder after the clustering phase; "
                               "use IDEC to keep one")
        with torch_threads(self.num_threads):
            return encode(nn.Sequential(self.encoder_, self.decoder_), X, predict_device(self.trainer_kwargs))

    def fit_report(self) -> dict[str, float]:
        return dict(getattr(self, "_report", {}))

    def _degeneracy_report(self, labels: np.ndarray) -> dict[str, float]:
        """Empty or tiny clusters are reported (and warned about), never silently returned."""
        counts = np.bincount(labels, minlength=self.n_clusters)
        n = max(len(labels), 1)
        n_empty = int((counts == 0).sum())
        report = {
            "fit/n_empty_clusters": float(n_empty),
            "fit/n_small_clusters": float(((counts > 0) & (counts < 0.01 * n)).sum()),
            "fit/min_cluster_share": float(counts.min() / n),
            "fit/max_cluster_share": float(counts.max() / n),
        }
        if n_empty:
            warnings.warn(
                f"{type(self).__name__}: {n_empty} of {self.n_clusters} clusters are empty after fitting "
                f"(sizes {counts.tolist()}); the solution is degenerate", RuntimeWarning, stacklevel=4,
            )
        return report

    # --- persistence -----------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickle without live objects in ``trainer_kwargs`` (loggers, callbacks: connections, files)."""
        state = super().__getstate__()
        tk = state.get("trainer_kwargs")
        if tk is not None:
            state["trainer_kwargs"] = {k: v for k, v in plain_dict(tk).items() if _is_plain(v)}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load models pickled before the settings objects too (``model.ckpt`` of older runs,
        which kept every setting as a flat attribute): their flat settings are filed as
        ``from_config`` files them."""
        if "pretraining" not in state:
            settings_keys = self.config_keys() - set(self._get_param_names())
            flat = {k: state.pop(k) for k in list(state) if k in settings_keys}
            for k in [k for k in state if not k.startswith("_") and not k.endswith("_")
                      and k not in self._get_param_names()]:
                del state[k]  # a setting the class no longer has (the multimodal model's hidden_dims)
            built = type(self).from_config(**flat)
            state.update({name: getattr(built, name) for name in self.settings_classes})
        super().__setstate__(state)


def _is_plain(value: Any) -> bool:
    """True for config-like values (what ``conf/trainer/*.yaml`` holds), False for live objects."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False
