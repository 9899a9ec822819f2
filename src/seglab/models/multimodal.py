"""A multimodal autoencoder (tabular behaviour + review-text sentiment) with DEC/IDEC on its latent.

The preprocessed matrix ``X`` holds both modalities side by side; ``feature_names`` (the
preprocessor's output names) says which column is which: names starting with ``text_prefix``
(``text_``) form the text modality, the rest the tabular one, and ``mask_feature``
(``text_has_reviews``) says which customers have reviews at all.

Architecture (all MLPs, linear latent and reconstruction layers as in DEC)::

    tabular cols ─▶ tab MLP ──┐                                  ┌─▶ tab MLP ─▶ tabular cols
                              ├─▶ fuse (linear) ─▶ z ─▶ unfuse ──┤
    text cols*mask, mask ─▶ text MLP ─┘                          └─▶ text MLP ─▶ text cols

- the text branch sees the text columns multiplied by the mask (customers without reviews carry
  only imputed values, which are zeroed) plus the mask itself;
- reconstruction loss = ``(1 - text_weight) * MSE_tab + text_weight * MSE_text`` where MSE_text
  averages only the entries that exist: sentiment columns of customers **with** reviews, and the
  mask column for everyone. Customers without reviews therefore contribute nothing to the
  text term beyond "has no reviews"; each modality weighs what ``text_weight`` says whatever its
  number of columns;
- ``clustering``: ``idec`` (default; KL + this reconstruction loss, decoder kept), ``dec``
  (KL only) or ``none`` (k-means on the fused latent, i.e. AE+k-means).

It is `seglab.models.dec.IDEC` with another network (``ModalityNetwork`` settings,
``_build_autoencoder``) and another reconstruction loss (the decoder's ``loss``, used by the one
pretraining loop and by IDEC's clustering loss): k-means init, target updates, tolerance stop,
reports, persistence and resume points are IDEC's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval
from torch import nn

from seglab.errors import ConfigError
from seglab.models.autoencoder import ACTIVATIONS, build_mlp
from seglab.models.dec import IDEC
from seglab.models.losses import DECLoss, IDECLoss
from seglab.models.params import SHARE, WIDTHS, AnyCase, at_least, widths
from seglab.models.settings import ACTIVATION_NAMES, MultimodalSelfTraining, Settings


# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------
def split_modalities(
    feature_names: Sequence[str], text_prefix: str = "text_", mask_feature: str = "text_has_reviews"
) -> tuple[list[int], list[int], int | None]:
    """(tabular column indices, text column indices without the mask, mask column index or None)."""
    names = [str(n) for n in feature_names]
    mask = names.index(mask_feature) if mask_feature in names else None
    text = [i for i, n in enumerate(names) if n.startswith(text_prefix) and i != mask]
    tab = [i for i, n in enumerate(names) if not n.startswith(text_prefix)]
    return tab, text, mask


def mask_from_column(col: torch.Tensor) -> torch.Tensor:
    """1.0 where a customer has reviews, from the (possibly standardised) mask column.

    A 0/1 flag stays 0/1 under any monotone scaling, so the upper of its two values means
    "has reviews"; a constant column (all customers have reviews, or it was never scaled) is
    read as its sign (a constant 0 after standardisation means all equal: all reviewed, since
    seglab builds no text features for data without reviews).
    """
    lo, hi = col.min(), col.max()
    if float(hi - lo) < 1e-8:
        return torch.ones_like(col) if float(hi) >= 0 else torch.zeros_like(col)
    return (col > (lo + hi) / 2).to(col.dtype)


class ModalityEncoder(nn.Module):
    """Two MLP branches (tabular, text) concatenated and fused linearly into the latent."""

    def __init__(self, n_features: int, tab_idx: Sequence[int], text_idx: Sequence[int], mask_idx: int | None,
                 tab_hidden: Sequence[int], text_hidden: Sequence[int], latent_dim: int, activation: str,
                 dropout: float):
        super().__init__()
        self.n_features = int(n_features)
        self.register_buffer("tab_idx", torch.as_tensor(list(tab_idx), dtype=torch.long))
        self.register_buffer("text_idx", torch.as_tensor(list(text_idx), dtype=torch.long))
        self.mask_idx = mask_idx
        n_text_in = len(text_idx) + (1 if mask_idx is not None else 0)
        self.tab = build_mlp([len(tab_idx), *tab_hidden], activation, dropout, last_activation=True)
        self.text = build_mlp([n_text_in, *text_hidden], activation, dropout, last_activation=True)
        self.fuse = nn.Linear(int(tab_hidden[-1]) + int(text_hidden[-1]), int(latent_dim))

    def row_mask(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask_idx is None:
            return torch.ones(len(x), dtype=x.dtype, device=x.device)
        return mask_from_column(x[:, self.mask_idx])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.row_mask(x)
        text_in = x[:, self.text_idx] * m.unsqueeze(1)
        if self.mask_idx is not None:
            text_in = torch.cat([text_in, m.unsqueeze(1)], dim=1)
        return self.fuse(torch.cat([self.tab(x[:, self.tab_idx]), self.text(text_in)], dim=1))


class ModalityDecoder(nn.Module):
    """Latent -> both branches -> the full feature vector in the original column order.

    ``loss(x_hat, x)`` is the modality-weighted, mask-aware reconstruction loss.
    """

    def __init__(self, encoder: ModalityEncoder, tab_hidden: Sequence[int], text_hidden: Sequence[int],
                 latent_dim: int, activation: str, dropout: float, text_weight: float):
        super().__init__()
        self.n_features = encoder.n_features
        self.register_buffer("tab_idx", encoder.tab_idx.clone())
        self.register_buffer("text_idx", encoder.text_idx.clone())
        self.mask_idx = encoder.mask_idx
        self.text_weight = float(text_weight)
        n_text_out = len(encoder.text_idx) + (1 if self.mask_idx is not None else 0)
        th, xh = [int(h) for h in tab_hidden], [int(h) for h in text_hidden]
        self.unfuse = nn.Sequential(nn.Linear(int(latent_dim), th[-1] + xh[-1]), ACTIVATIONS[activation.lower()]())
        self.split = th[-1]
        self.tab = build_mlp([*th[::-1], len(encoder.tab_idx)], activation, dropout, last_activation=False)
        self.text = build_mlp([*xh[::-1], n_text_out], activation, dropout, last_activation=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.unfuse(z)
        out = torch.zeros(len(z), self.n_features, dtype=z.dtype, device=z.device)
        out[:, self.tab_idx] = self.tab(h[:, : self.split])
        text_out = self.text(h[:, self.split :])
        out[:, self.text_idx] = text_out[:, : len(self.text_idx)]
        if self.mask_idx is not None:
            out[:, self.mask_idx] = text_out[:, -1]
        return out

    def loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        tab_loss = (x_hat[:, self.tab_idx] - x[:, self.tab_idx]).pow(2).mean()
        if self.mask_idx is not None:
            m = mask_from_column(x[:, self.mask_idx])
        else:
            m = torch.ones(len(x), dtype=x.dtype, device=x.device)
        err = (x_hat[:, self.text_idx] - x[:, self.text_idx]).pow(2) * m.unsqueeze(1)
        total, count = err.sum(), m.sum() * len(self.text_idx)
        if self.mask_idx is not None:
            total = total + (x_hat[:, self.mask_idx] - x[:, self.mask_idx]).pow(2).sum()
            count = count + len(x)
        text_loss = total / count.clamp(min=1.0)
        return (1.0 - self.text_weight) * tab_loss + self.text_weight * text_loss


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------
@dataclass
class ModalityNetwork(Settings):
    """The two-branch network: ``tab_hidden_dims`` / ``text_hidden_dims`` (hidden widths of each
    branch, mirrored in the decoder), ``latent_dim``, ``activation``, ``dropout``; ``text_weight``
    (the text term's share of the reconstruction loss, tabular gets 1 - it); which columns are
    which: ``feature_names`` (the preprocessor's ``feature_names_out_``; may also be given to
    ``fit``), text columns start with ``text_prefix``, ``mask_feature`` flags customers with
    reviews."""

    tab_hidden_dims: Sequence[int] = (64, 32)
    text_hidden_dims: Sequence[int] = (16, 8)
    latent_dim: int = 10
    activation: str = "relu"
    dropout: float = 0.0
    text_weight: float = 0.5
    feature_names: Sequence[str] | None = None
    text_prefix: str = "text_"
    mask_feature: str = "text_has_reviews"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "tab_hidden_dims": [widths(1)], "text_hidden_dims": [widths(1)], "latent_dim": [at_least(1)],
        "activation": [AnyCase(set(ACTIVATION_NAMES))],
        "dropout": [SHARE], "text_weight": [Interval(Real, 0, 1, closed="both")], "feature_names": [*WIDTHS, None],
        "text_prefix": [str], "mask_feature": [str],
    }


class MultimodalDEC(IDEC):
    """Two-branch autoencoder (tabular + text) with IDEC/DEC/k-means on the fused latent.

    Settings: ``network`` (``ModalityNetwork``), ``clustering``
    (`seglab.models.settings.MultimodalSelfTraining`: IDEC's, and ``method`` idec | dec | none,
    config key ``clustering``); pretraining and the rest as every deep model.
    """

    settings_classes = {**IDEC.settings_classes, "network": ModalityNetwork, "clustering": MultimodalSelfTraining}

    def fit(self, X: Any, y: Any = None, feature_names: Sequence[str] | None = None, **kwargs: Any) -> MultimodalDEC:
        net, method = self._settings("network"), self._settings("clustering").method
        if method not in ("idec", "dec", "none"):
            raise ConfigError(f"clustering must be idec, dec or none, got {method!r}")
        if not 0.0 <= float(net.text_weight) <= 1.0:
            raise ConfigError(f"text_weight must be in [0, 1], got {net.text_weight}")
        names = net.feature_names if feature_names is None else list(feature_names)
        X = check_array(X, dtype=np.float32, estimator=self)  # bad input named as such, not as missing names
        n = X.shape[1]
        if names is None or len(names) != n:
            raise ConfigError(
                f"MultimodalDEC needs feature_names for X's {n} columns (got "
                f"{None if names is None else len(names)}); pass the preprocessor's feature_names_out_"
            )
        tab, text, mask = split_modalities(names, net.text_prefix, net.mask_feature)
        if not text:
            raise ConfigError(
                f"MultimodalDEC found no '{net.text_prefix}*' columns after preprocessing: run it with text "
                "features (text=minilm) and without preprocess PCA"
            )
        if not tab:
            raise ConfigError("MultimodalDEC found no tabular columns; use dec/idec for text-only features")
        self.tab_idx_, self.text_idx_, self.mask_idx_ = tab, text, mask
        return super().fit(X, y, **kwargs)

    def _build_autoencoder(self, n_features: int) -> tuple[nn.Module, nn.Module]:
        net = self._settings("network")
        th, xh = [int(h) for h in net.tab_hidden_dims], [int(h) for h in net.text_hidden_dims]
        if not th or not xh:
            raise ConfigError("tab_hidden_dims and text_hidden_dims need at least one layer each")
        encoder = ModalityEncoder(n_features, self.tab_idx_, self.text_idx_, self.mask_idx_, th, xh,
                                  int(net.latent_dim), net.activation, float(net.dropout))
        decoder = ModalityDecoder(encoder, th, xh, int(net.latent_dim), net.activation, float(net.dropout),
                                  float(net.text_weight))
        return encoder, decoder

    def _reconstruction_loss(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The decoder's modality-weighted, mask-aware loss, in pretraining and in IDEC's phase."""
        return self.decoder_.loss

    def _clustering_loss(self) -> DECLoss | IDECLoss:
        return DECLoss() if self._settings("clustering").method == "dec" else super()._clustering_loss()

    def _self_train(self, X: np.ndarray) -> None:
        if self._settings("clustering").method != "none":  # none: AE + k-means on the fused latent
            super()._self_train(X)

    def fit_report(self) -> dict[str, float]:
        report = super().fit_report()
        if hasattr(self, "text_idx_"):
            report["fit/n_text_features"] = float(len(self.text_idx_))
            report["fit/n_tab_features"] = float(len(self.tab_idx_))
        return report

    def reconstruction_by_modality(self, X: np.ndarray) -> dict[str, float]:
        """Mean squared reconstruction error per modality (text: reviewed customers only)."""
        Xh = self.reconstruct(X)
        X = np.asarray(X, dtype=np.float32)
        m = mask_from_column(torch.as_tensor(X[:, self.mask_idx_])).numpy().astype(bool) if self.mask_idx_ is not None else np.ones(len(X), bool)
        tab = float(((Xh[:, self.tab_idx_] - X[:, self.tab_idx_]) ** 2).mean())
        text = float(((Xh[m][:, self.text_idx_] - X[m][:, self.text_idx_]) ** 2).mean()) if m.any() else float("nan")
        return {"recon/tabular_mse": tab, "recon/text_mse": text}
