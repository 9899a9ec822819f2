"""Greedy layer-wise denoising pretraining, as in the DEC paper (Xie et al. 2016, section 3.2).

Each encoder layer and its mirror decoder layer form a one-hidden-layer denoising autoencoder,
trained on the (clean) output of the layers below it:

    x~ = Dropout(x);  h = g1(W1 x~ + b1);  h~ = Dropout(h);  y = g2(W2 h~ + b2);  loss = ||x - y||²

with ReLU for g1 and g2 except g2 of the first pair (it reconstructs the input, which may take any
sign) and g1 of the last pair (the embedding keeps full information): exactly the activations the
stacked ``build_mlp_autoencoder`` network already has, so the pairs are cut out of it in place.
After all pairs, the caller fine-tunes the stacked autoencoder end to end without corruption.

"Dropout" here zeroes a ``noise`` share of entries without rescaling (the paper's corruption).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from seglab.models.autoencoder import corrupt, pretrain_autoencoder
from seglab.models.runtime import encode


def _linear_blocks(seq: nn.Sequential) -> list[nn.Sequential]:
    """Split a Sequential into blocks that each start with an ``nn.Linear`` (Linear, act, dropout...)."""
    blocks: list[list[nn.Module]] = []
    for m in seq:
        if isinstance(m, nn.Linear):
            blocks.append([m])
        elif blocks:
            blocks[-1].append(m)
    return [nn.Sequential(*b) for b in blocks]


class _HiddenNoise(nn.Module):
    """Corrupts the hidden layer of a layer-pair DAE during training only."""

    def __init__(self, noise: float, kind: str):
        super().__init__()
        self.noise, self.kind = noise, kind

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return corrupt(h, self.noise, self.kind) if self.training else h


def layerwise_pretrain(
    encoder: nn.Sequential,
    decoder: nn.Sequential,
    X: np.ndarray,
    *,
    max_epochs: int = 50,
    max_steps: int | None = None,
    noise: float = 0.2,
    noise_kind: str = "dropout",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    patience: int | None = 10,
    val_fraction: float = 0.1,
    seed: int = 0,
    trainer_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Pretrain ``encoder``/``decoder`` (from ``build_mlp_autoencoder``) pair by pair, in place.

    Each pair trains ``max_epochs`` epochs or ``max_steps`` steps, whichever comes first.
    Returns a report with ``fit/pretrain_layer{i}_epochs`` and ``..._val_loss`` per pair. Each
    pair logs ``pretrain_layer{i}/train_loss`` and ``pretrain_layer{i}/val_loss``.
    """
    enc_blocks = _linear_blocks(encoder)
    dec_blocks = _linear_blocks(decoder)
    if len(enc_blocks) != len(dec_blocks):
        raise ValueError("encoder and decoder must mirror each other")
    n = len(enc_blocks)
    report: dict[str, float] = {}
    H = np.asarray(X, dtype=np.float32)
    for i in range(n):
        stage = f"pretrain_layer{i + 1}"
        enc_i = nn.Sequential(enc_blocks[i], _HiddenNoise(noise, noise_kind))
        dec_i = dec_blocks[n - 1 - i]
        # Input corruption is the pretrain_autoencoder's ``noise``; the hidden one is _HiddenNoise.
        r = pretrain_autoencoder(
            enc_i, dec_i, H, lr=lr, weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            max_steps=max_steps, patience=patience, val_fraction=val_fraction, noise=noise, noise_kind=noise_kind,
            seed=seed + i, trainer_kwargs=trainer_kwargs, stage=stage,
        )
        report.update(r)
        H = encode(enc_blocks[i], H)  # clean features for the next pair (dropout layers off)
    return report
