"""AE+k-means: pretrain an MLP autoencoder, run k-means (``n_init`` restarts) on its latent space.

This is also the first half of DEC and IDEC (``seglab.models.dec`` subclasses it), so the
pretraining code exists once. ``fit(X, init_from=other)`` reuses the pretrained autoencoder of
another fitted deep model (deep-copied), which is how a benchmark shares one pretraining per seed
between AE+k-means, DEC and IDEC.

Pretraining options:

- ``pretrain="end_to_end"``: the whole autoencoder trained at once (Adam, MSE), denoising when
  ``noise > 0`` (``noise_kind`` ``dropout``: that share of inputs zeroed, the DEC paper's
  corruption; ``gaussian``: additive noise with that standard deviation);
- ``lr_schedule``: ``constant`` (default), ``cosine`` (Adam's lr decays to 0 along a half cosine
  over ``max_epochs``) or ``step`` (lr / 10 at 2/3 of ``max_epochs``) for the end-to-end stage;
- ``augment="affine"`` with ``image_shape=(h, w)``: rows are flattened images; each training
  batch of the end-to-end stage is randomly rotated (±10°) and shifted (±10%), as in DEC-DA
  (Guo et al. 2018); the validation split stays clean;
- ``pretrain="layerwise"``: the DEC paper's greedy layer-wise denoising pretraining (each
  encoder/decoder layer pair trained as a one-hidden-layer denoising autoencoder on the previous
  layer's clean output, ``noise`` dropout on its input and hidden layer; ``layerwise_epochs``
  each), then end-to-end fine-tuning without corruption for ``max_epochs``.

``num_threads`` sets torch's intra-op threads during fit/transform (None leaves the process
setting); small networks on shared cores are much faster with 1.

Both use early stopping on the validation reconstruction loss (``val_fraction`` held out,
``patience`` validations) and keep the best weights. The budget is ``max_epochs`` epochs or
``pretrain_steps`` optimisation steps, whichever comes first (None: epochs only): an epoch budget
alone grows with the number of customers, and with it the time and, on seglab's customer
features, how often k-means on the code lands in a merged-segments solution
(experiments/scale_tuning.md). ``kmeans_sample_size``: above this many rows the k-means restarts
run on a seeded sample and every row is then assigned (`seglab.models.centres`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from seglab.models.autoencoder import build_mlp_autoencoder, pretrain_autoencoder
from seglab.models.base import ClusterModel
from seglab.models.centres import kmeans_centres
from seglab.models.checkpoints import load_pretrained, save_pretrained, stage_path
from seglab.models.losses import soft_assignment
from seglab.models.runtime import _plain, clone_module, encode, predict_device, seed_all, torch_threads

#: Named architectures: ``preset="paper"`` is DEC/IDEC's d-500-500-2000-10.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"hidden_dims": (500, 500, 2000), "latent_dim": 10},
}


class AEKMeans(ClusterModel):
    """Autoencoder pretraining followed by k-means in the latent space.

    Fitted attributes: ``encoder_``/``decoder_`` (torch ``nn.Sequential``, CPU), ``labels_``,
    ``cluster_centers_`` (latent space), ``pretrain_report_``, ``fit_report()``.
    ``predict_proba`` is DEC's Student-t kernel (``alpha``) around the centres: a soft score whose
    argmax is the nearest centre, i.e. ``predict``.
    """

    is_deep = True

    def __init__(
        self,
        n_clusters: int = 5,
        hidden_dims: Sequence[int] = (64, 32),
        latent_dim: int = 10,
        dropout: float = 0.0,
        activation: str = "relu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        pretrain_steps: int | None = None,
        patience: int | None = 10,
        val_fraction: float = 0.1,
        pretrain: str = "end_to_end",
        noise: float = 0.0,
        noise_kind: str = "dropout",
        layerwise_epochs: int = 50,
        preset: str | None = None,
        n_init: int = 20,
        kmeans_sample_size: int | None = 100_000,
        alpha: float = 1.0,
        num_threads: int | None = None,
        random_state: int = 0,
        trainer_kwargs: Mapping[str, Any] | None = None,
        lr_schedule: str = "constant",
        augment: str = "none",
        image_shape: Sequence[int] | None = None,
    ):
        self.n_clusters = n_clusters
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.pretrain_steps = pretrain_steps
        self.patience = patience
        self.val_fraction = val_fraction
        self.pretrain = pretrain
        self.noise = noise
        self.noise_kind = noise_kind
        self.layerwise_epochs = layerwise_epochs
        self.preset = preset
        self.n_init = n_init
        self.kmeans_sample_size = kmeans_sample_size
        self.alpha = alpha
        self.num_threads = num_threads
        self.random_state = random_state
        self.trainer_kwargs = trainer_kwargs
        self.lr_schedule = lr_schedule
        self.augment = augment
        self.image_shape = image_shape

    # --- architecture ----------------------------------------------------------------------
    def _architecture(self) -> tuple[list[int], int]:
        if self.preset:
            try:
                arch = PRESETS[str(self.preset)]
            except KeyError as err:
                raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}") from err
            return list(arch["hidden_dims"]), int(arch["latent_dim"])
        return [int(h) for h in self.hidden_dims], int(self.latent_dim)

    # --- fitting ---------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: Any = None, init_from: AEKMeans | None = None,
            checkpoint_dir: str | None = None) -> AEKMeans:
        """Pretrain (or copy ``init_from``'s pretrained autoencoder), then cluster the latent.

        ``checkpoint_dir``: keep resume points there, and continue from those a killed fit left
        (`seglab.models.checkpoints`)."""
        self._checkpoint_dir = checkpoint_dir
        try:
            with torch_threads(self.num_threads):
                return self._fit(self._check_X(X), init_from)
        finally:
            del self._checkpoint_dir  # a fitted model does not point at a run dir

    def _fit(self, X: np.ndarray, init_from: AEKMeans | None) -> AEKMeans:
        seed_all(self.random_state)
        t0 = time.perf_counter()
        self._pretrain_resumable(X, init_from)
        self._report = {"fit/pretrain_seconds": time.perf_counter() - t0, **self.pretrain_report_}
        t1 = time.perf_counter()
        Z = self.transform(X)
        self.init_labels_, self.cluster_centers_, inertia = self._initial_partition(X, Z)
        self._report["fit/kmeans_inertia"] = inertia
        self._report["fit/kmeans_seconds"] = time.perf_counter() - t1
        del Z
        self._cluster(X)
        self._report.update(self._degeneracy_report(self.labels_))
        return self

    def _initial_partition(self, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(labels, latent centres, inertia)``: k-means on the latent code ``Z``."""
        return kmeans_centres(Z, int(self.n_clusters), n_init=int(self.n_init), random_state=self.random_state,
                              sample_size=self.kmeans_sample_size, label="k-means on the latent")

    def _cluster(self, X: np.ndarray) -> None:
        """Second stage; AE+k-means keeps the k-means labels (DEC overrides this)."""
        self.labels_ = self.init_labels_

    def _pretrain_resumable(self, X: np.ndarray, init_from: AEKMeans | None) -> None:
        """``_pretrain``, or the autoencoder an interrupted fit had pretrained already."""
        if not load_pretrained(self):
            self._pretrain(X, init_from)
            save_pretrained(self)

    def _pretrain(self, X: np.ndarray, init_from: AEKMeans | None) -> None:
        hidden, latent = self._architecture()
        if init_from is not None:
            if not hasattr(init_from, "encoder_"):
                raise ValueError("init_from must be a fitted seglab deep model")
            if getattr(init_from, "n_features_in_", X.shape[1]) != X.shape[1]:
                raise ValueError("init_from was fitted on a different number of features")
            self.encoder_ = clone_module(init_from.encoder_)
            self.decoder_ = clone_module(init_from.decoder_)
            self.pretrain_report_ = {**init_from.pretrain_report_, "fit/pretrain_shared": 1.0}
            return
        self.encoder_, self.decoder_ = build_mlp_autoencoder(
            X.shape[1], hidden, latent, activation=self.activation, dropout=self.dropout
        )
        common = dict(
            lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size, patience=self.patience,
            max_steps=self.pretrain_steps,
            val_fraction=self.val_fraction, noise_kind=self.noise_kind, seed=self.random_state,
            trainer_kwargs=self.trainer_kwargs,
        )
        report: dict[str, float] = {}
        schedule = self.lr_schedule
        aug = dict(augment=self.augment, image_shape=self.image_shape)
        aug["checkpoint"] = stage_path(self, "pretrain")  # the end-to-end stage's resume point, if any
        if self.pretrain == "layerwise":
            from seglab.models.layerwise import layerwise_pretrain

            report.update(layerwise_pretrain(self.encoder_, self.decoder_, X, max_epochs=self.layerwise_epochs,
                                             noise=self.noise, **common))
            report.update(pretrain_autoencoder(self.encoder_, self.decoder_, X, max_epochs=self.max_epochs,
                                               noise=0.0, stage="pretrain", lr_schedule=schedule, **aug, **common))
        elif self.pretrain == "end_to_end":
            report.update(pretrain_autoencoder(self.encoder_, self.decoder_, X, max_epochs=self.max_epochs,
                                               noise=self.noise, stage="pretrain", lr_schedule=schedule, **aug,
                                               **common))
        else:
            raise ValueError(f"unknown pretrain {self.pretrain!r}; choose 'end_to_end' or 'layerwise'")
        self.pretrain_report_ = report

    # --- inference -------------------------------------------------------------------------
    def latent(self, X: np.ndarray) -> np.ndarray:
        """The autoencoder's latent code (n, latent_dim)."""
        self._check_fitted()
        with torch_threads(self.num_threads):
            return encode(self.encoder_, self._check_X(X, fitting=False), predict_device(self.trainer_kwargs))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The embedding the clustering happens in: the latent code (n, latent_dim)."""
        return self.latent(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Student-t soft assignment q (rows sum to 1) of each row to each latent centre.

        In chunks of rows: the kernel's (rows, k, latent) difference tensor would be 4 GB in
        float64 for 10^7 customers at once."""
        Z = self.transform(X)
        centers = torch.as_tensor(self.cluster_centers_, dtype=torch.float64)
        out = np.empty((len(Z), len(centers)), dtype=np.float64)
        for i in range(0, len(Z), 65536):
            z = torch.as_tensor(Z[i:i + 65536], dtype=torch.float64)
            out[i:i + 65536] = soft_assignment(z, centers, float(self.alpha)).numpy()
        return out

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """The autoencoder's reconstruction of ``X`` (for diagnostics)."""
        self._check_fitted()
        with torch_threads(self.num_threads):
            return encode(nn.Sequential(self.encoder_, self.decoder_), self._check_X(X, fitting=False),
                          predict_device(self.trainer_kwargs))

    def fit_report(self) -> dict[str, float]:
        return dict(getattr(self, "_report", {}))

    # --- helpers ---------------------------------------------------------------------------
    def _check_X(self, X: np.ndarray, fitting: bool = True) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D (n_samples, n_features) matrix, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values; impute/scale it first (seglab preprocess)")
        if fitting:
            if len(X) < self.n_clusters:
                raise ValueError(f"{len(X)} samples cannot form {self.n_clusters} clusters")
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the model was fitted on {self.n_features_in_}")
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(X) first")

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
            state["trainer_kwargs"] = {k: v for k, v in _plain(tk).items() if _is_plain(v)}
        return state


def _is_plain(value: Any) -> bool:
    """True for config-like values (what ``conf/trainer/*.yaml`` holds), False for live objects."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False
