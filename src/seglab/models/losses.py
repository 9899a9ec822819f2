"""The clustering math of DEC (Xie et al. 2016) and IDEC (Guo et al. 2017), as plain torch functions.

Kept apart from the models so each formula is tested against a hand-computed value:

- ``soft_assignment``: Student's t kernel, q_ij ∝ (1 + ||z_i - mu_j||² / alpha)^(-(alpha+1)/2),
  rows normalised (DEC eq. 1);
- ``target_distribution``: p_ij = (q_ij² / f_j) / sum_j' (q_ij'² / f_j'), f_j = sum_i q_ij (DEC eq. 3);
- ``kl_divergence``: KL(P || Q) = sum_ij p_ij log(p_ij / q_ij), averaged over the batch rows
  (DEC eq. 2 per sample, as Keras' ``kld`` loss used by both reference implementations);
- ``idec_loss``: L = L_r + gamma * L_c with L_r the mean squared reconstruction error and L_c the
  KL term above (IDEC eq. 7; the reference code weights the losses [gamma, 1] the same way).

The clustering phase (`seglab.models.clustering_phase`) takes its loss as a hook: ``DECLoss``
(KL only, the decoder unused) or ``IDECLoss`` (KL weighted by gamma plus a reconstruction loss:
MSE, or the multimodal decoder's masked one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

_EPS = 1e-12


def soft_assignment(z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """(n, k) Student-t similarities between embeddings ``z`` (n, d) and ``centers`` (k, d)."""
    # Explicit squared distance rather than cdist(): cdist's gradient at distance 0 is NaN-prone.
    d2 = (z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(-1)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor, frequency: torch.Tensor | None = None) -> torch.Tensor:
    """DEC's auxiliary target: square q, divide by the soft cluster frequency, renormalise rows.

    ``frequency`` (k,): f_j summed over *all* samples when ``q`` holds only some of them (the
    streaming target update passes the rows chunk by chunk); None: ``q``'s own column sums.
    """
    f = q.sum(dim=0) if frequency is None else frequency
    weight = q.pow(2) / f.reshape(1, -1).clamp_min(_EPS)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) summed over clusters and averaged over rows; terms with p = 0 contribute 0."""
    p = p.clamp_min(0)
    terms = torch.where(p > 0, p * (torch.log(p.clamp_min(_EPS)) - torch.log(q.clamp_min(_EPS))), torch.zeros_like(p))
    return terms.sum(dim=1).mean()


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries (Keras' ``mse`` averaged over the batch)."""
    return F.mse_loss(x_hat, x)


def idec_loss(p: torch.Tensor, q: torch.Tensor, x_hat: torch.Tensor, x: torch.Tensor, gamma: float) -> torch.Tensor:
    """IDEC's objective: reconstruction MSE + ``gamma`` * KL(P || Q)."""
    return reconstruction_loss(x_hat, x) + gamma * kl_divergence(p, q)


# --- the clustering phase's loss, as a hook -------------------------------------------------
class DECLoss:
    """DEC's clustering loss: KL(P || Q); the decoder is not used (DEC discards it)."""

    uses_decoder = False

    def __call__(self, p: torch.Tensor, q: torch.Tensor, x: torch.Tensor, z: torch.Tensor,
                 decoder: nn.Module | None) -> dict[str, torch.Tensor]:
        """The terms to log, ``loss`` the one to minimise."""
        kl = kl_divergence(p, q)
        return {"kl": kl, "loss": kl}


@dataclass
class IDECLoss:
    """IDEC's clustering loss: ``reconstruction(decoder(z), x)`` + ``gamma`` * KL(P || Q)."""

    gamma: float = 0.1
    reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = reconstruction_loss
    uses_decoder = True

    def __call__(self, p: torch.Tensor, q: torch.Tensor, x: torch.Tensor, z: torch.Tensor,
                 decoder: nn.Module | None) -> dict[str, torch.Tensor]:
        kl = kl_divergence(p, q)
        recon = self.reconstruction(decoder(z), x)
        return {"kl": kl, "recon": recon, "loss": float(self.gamma) * kl + recon}
