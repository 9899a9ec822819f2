"""Settings objects of the deep models: which network, how it is pretrained, how it clusters.

A deep estimator takes its settings as a few small objects (ClustPy passes its network and
optimiser the same way) instead of re-listing two dozen keyword arguments per class::

    DEC(n_clusters=5, network=Network(hidden_dims=(500, 500, 2000)),
        pretraining=Pretraining(max_epochs=50), clustering=SelfTraining(update_interval=140))

Each defaults to ``None``, the class's default settings, so ``DEC()`` is a valid scikit-learn
estimator. Configs and the command line stay flat (``model.latent_dim=5``,
``model.update_interval=60``): `seglab.models.deep.DeepClusterModel.from_config` files each flat
key under the settings object with a field of that name (``config_key`` in a field's metadata
when the two differ).

The objects are plain dataclasses with scikit-learn's nested-parameter protocol
(``get_params``/``set_params``: ``clone``, ``set_params(network__latent_dim=5)`` and grid searches
reach their fields) and ``to_dict`` (plain JSON, what a saved model bundle records). What each
field may be is stated once, scikit-learn's way, in the class's ``_parameter_constraints``
(`seglab.models.params`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, ClassVar

from sklearn.utils._param_validation import Hidden, StrOptions

from seglab.errors import ConfigError
from seglab.models.params import POSITIVE, SHARE, AnyCase, at_least, check_params, widths


class Settings:
    """scikit-learn's parameter protocol and plain-JSON export for a settings dataclass."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def check(self) -> None:
        """A clear `ConfigError` for a field outside its ``_parameter_constraints`` (and for
        fields that contradict each other)."""
        check_params(self)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def set_params(self, **params: Any) -> Settings:
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in params.items():
            if key not in names:
                raise ValueError(f"{type(self).__name__} has no setting {key!r}; it has {sorted(names)}")
            setattr(self, key, value)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def config_fields(factory: Callable[..., Any]) -> dict[str, str]:
    """``{flat config key: parameter name}`` of a settings class (or factory function)."""
    if dataclasses.is_dataclass(factory):
        return {f.metadata.get("config_key", f.name): f.name for f in dataclasses.fields(factory)}
    import inspect

    return {name: name for name in inspect.signature(factory).parameters}


# --- the network ---------------------------------------------------------------------------------
#: Named architectures: ``paper`` is DEC/IDEC's d-500-500-2000-10 (Xie et al. 2016).
PRESETS: dict[str, tuple[tuple[int, ...], int]] = {"paper": ((500, 500, 2000), 10)}
DEFAULT_HIDDEN_DIMS, DEFAULT_LATENT_DIM = (64, 32), 10
#: The hidden-layer activations `seglab.models.autoencoder.ACTIVATIONS` builds (any letter case).
ACTIVATION_NAMES = ("relu", "leaky_relu", "elu", "gelu", "selu", "tanh", "sigmoid")


@dataclass
class Network(Settings):
    """The MLP autoencoder: encoder ``d -> hidden_dims -> latent_dim``, a mirrored decoder.

    ``hidden_dims`` and ``latent_dim`` default to (64, 32) and 10. ``preset`` names a whole
    architecture instead (``paper``); giving it with either of them is an error, not a silent
    override.
    """

    hidden_dims: Sequence[int] | None = None
    latent_dim: int | None = None
    activation: str = "relu"
    dropout: float = 0.0
    preset: str | None = None

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_dims": [widths(), Hidden(None)], "latent_dim": [at_least(1), Hidden(None)],
        "activation": [AnyCase(set(ACTIVATION_NAMES))], "dropout": [SHARE],
        "preset": [StrOptions(set(PRESETS)), None],
    }

    def check(self) -> None:
        super().check()
        self.dims()

    def dims(self) -> tuple[list[int], int]:
        """``(hidden widths, latent width)`` the network is built with."""
        if self.preset:
            if self.preset not in PRESETS:
                raise ConfigError(f"network: unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
            given = [k for k in ("hidden_dims", "latent_dim") if getattr(self, k) is not None]
            if given:
                raise ConfigError(f"preset={self.preset!r} sets hidden_dims and latent_dim itself; "
                                  f"give either the preset or {' and '.join(given)} (set the other to null)")
            hidden, latent = PRESETS[self.preset]
            return list(hidden), latent
        hidden = DEFAULT_HIDDEN_DIMS if self.hidden_dims is None else self.hidden_dims
        latent = DEFAULT_LATENT_DIM if self.latent_dim is None else self.latent_dim
        return [int(h) for h in hidden], int(latent)


# --- pretraining ---------------------------------------------------------------------------------
@dataclass
class Pretraining(Settings):
    """How the autoencoder is pretrained (Adam on the reconstruction loss).

    ``pretrain``: ``end_to_end`` (the whole autoencoder at once, denoising when ``noise > 0``:
    ``noise_kind`` ``dropout`` zeroes that share of inputs, the DEC paper's corruption;
    ``gaussian`` adds noise of that standard deviation) or ``layerwise`` (the DEC paper's greedy
    layer-wise denoising, ``layerwise_epochs`` per layer pair, then end-to-end fine-tuning without
    corruption). Budget: ``max_epochs`` epochs or ``pretrain_steps`` Adam steps, whichever comes
    first (None: epochs only), early stopping after ``patience`` validations without improvement
    on the ``val_fraction`` hold-out, best weights kept; ``lr_schedule`` ``constant`` | ``cosine``
    | ``step`` over that budget. ``batch_size`` is also the clustering phase's unless it sets one.
    """

    pretrain: str = "end_to_end"
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 256
    max_epochs: int = 100
    pretrain_steps: int | None = None
    patience: int | None = 10
    val_fraction: float = 0.1
    noise: float = 0.0
    noise_kind: str = "dropout"
    layerwise_epochs: int = 50
    lr_schedule: str = "constant"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "pretrain": [StrOptions({"end_to_end", "layerwise"})], "lr": [POSITIVE], "weight_decay": [at_least(0, Real)],
        "batch_size": [at_least(1)], "max_epochs": [at_least(0)], "pretrain_steps": [at_least(0), None],
        "patience": [at_least(0), None], "val_fraction": [SHARE], "noise": [at_least(0, Real)],
        "noise_kind": [StrOptions({"dropout", "gaussian"})], "layerwise_epochs": [at_least(0)],
        "lr_schedule": [AnyCase({"constant", "cosine", "step"})],
    }


# --- clustering of the latent code ---------------------------------------------------------------
@dataclass
class LatentKMeans(Settings):
    """AE+k-means: k-means with ``n_init`` restarts on the latent code (on a seeded sample above
    ``kmeans_sample_size`` rows, then every row assigned); ``alpha`` is the Student-t kernel's
    degrees of freedom behind ``predict_proba``."""

    n_init: int = 20
    kmeans_sample_size: int | None = 100_000
    alpha: float = 1.0

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_init": [at_least(1)], "kmeans_sample_size": [at_least(1), None], "alpha": [POSITIVE],
    }


#: Where DEC's initial partition comes from (see `seglab.models.dec`).
INITS = ("latent", "input")


@dataclass
class SelfTraining(LatentKMeans):
    """DEC's clustering phase after the k-means start.

    ``init``: ``latent`` (k-means on the code, the papers') or ``input`` (k-means on the
    features, centres = latent means of its clusters). Every ``update_interval`` optimisation
    steps the target distribution is recomputed; training stops when fewer than ``tol`` of the
    labels changed over a full pass, or after ``cluster_max_epochs`` passes. ``cluster_lr``,
    ``cluster_optimizer`` (``sgd`` with ``cluster_momentum``, the papers', or ``adam``),
    ``cluster_batch_size`` (None: the pretraining's), ``cluster_sample_size`` (rows the phase runs
    on, a seeded sample; None: all), ``cluster_augment`` (also augment the clustering batches with
    the model's ``augment``; the targets stay computed on the clean rows: DEC-DA).
    """

    init: str = "latent"
    update_interval: int = 30
    tol: float = 0.001
    cluster_max_epochs: int = 100
    cluster_lr: float = 0.01
    cluster_optimizer: str = "sgd"
    cluster_momentum: float = 0.9
    cluster_batch_size: int | None = None
    cluster_sample_size: int | None = None
    cluster_augment: bool = False

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **LatentKMeans._parameter_constraints,
        "init": [AnyCase(set(INITS))], "update_interval": [at_least(1)], "tol": [at_least(0, Real)],
        "cluster_max_epochs": [at_least(1)], "cluster_lr": [POSITIVE], "cluster_optimizer": [AnyCase({"sgd", "adam"})],
        "cluster_momentum": [at_least(0, Real)], "cluster_batch_size": [at_least(1), None],
        "cluster_sample_size": [at_least(1), None], "cluster_augment": ["boolean"],
    }


@dataclass
class IDECSelfTraining(SelfTraining):
    """IDEC's clustering phase: DEC's, with the loss reconstruction + ``gamma`` x KL (the paper's 0.1)."""

    gamma: float = 0.1

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **SelfTraining._parameter_constraints, "gamma": [at_least(0, Real)],
    }


@dataclass
class MultimodalSelfTraining(IDECSelfTraining):
    """The multimodal model's clustering: ``method`` (config key ``clustering``) ``idec``, ``dec``
    or ``none`` (AE+k-means on the fused latent)."""

    method: str = field(default="idec", metadata={"config_key": "clustering"})

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **IDECSelfTraining._parameter_constraints, "method": [StrOptions({"idec", "dec", "none"})],
    }
