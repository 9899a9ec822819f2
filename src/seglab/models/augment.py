"""Image augmentation for the deep models: DEC-DA's random affine jitter of flattened images.

A deep model takes its augmentation as one callable, ``augment`` (a batch of rows in, a jittered
batch out), used on every pretraining batch and, with ``cluster_augment``, on every clustering
batch. Configs name it with two flat keys, ``augment: none | affine`` and ``image_shape``, which
``augmentation`` turns into the callable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from seglab.models.params import WIDTHS
from seglab.models.settings import Settings

#: Data augmentations for image inputs (flattened rows of an ``image_shape`` image).
AUGMENTS = ("none", "affine")


def check_augment(augment: str | None, image_shape: Sequence[int] | None) -> str:
    name = "none" if augment is None else str(augment).lower()
    if name not in AUGMENTS:
        raise ValueError(f"unknown augment {augment!r}; choose one of {list(AUGMENTS)}")
    if name != "none" and (image_shape is None or len(tuple(image_shape)) != 2):
        raise ValueError(f"augment={name!r} needs image_shape=(height, width) of the flattened images")
    return name


def augment_images(x: torch.Tensor, image_shape: Sequence[int], max_shift: float = 0.1,
                   max_rotate: float = 10.0) -> torch.Tensor:
    """Random affine jitter of flattened images, as DEC-DA (Guo et al. 2018) does with Keras's
    ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, rotation_range=10)``:
    each row is rotated by U(-max_rotate, max_rotate) degrees and shifted by U(-max_shift,
    max_shift) of its width/height (bilinear, zeros outside). Uses torch's global RNG."""
    h, w = (int(v) for v in image_shape)
    n = x.shape[0]
    if x.shape[1] != h * w:
        raise ValueError(f"augment: rows have {x.shape[1]} features, image_shape {h}x{w} needs {h * w}")
    theta = (torch.rand(n, device=x.device) * 2 - 1) * (max_rotate * torch.pi / 180.0)
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * (2 * max_shift)  # grid coords span [-1, 1]
    cos, sin = torch.cos(theta), torch.sin(theta)
    mat = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = nn.functional.affine_grid(mat.to(x.dtype), [n, 1, h, w], align_corners=False)
    out = nn.functional.grid_sample(x.view(n, 1, h, w), grid, mode="bilinear", padding_mode="zeros",
                                    align_corners=False)
    return out.reshape(n, h * w)


@dataclass
class AffineJitter(Settings):
    """The DEC-DA augmentation as a callable: ``augment_images`` of rows that are flattened
    ``image_shape`` images (rotation up to ``max_rotate`` degrees, shift up to ``max_shift``)."""

    image_shape: Sequence[int] = (16, 16)
    max_shift: float = 0.1
    max_rotate: float = 10.0

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "image_shape": WIDTHS, "max_shift": [Interval(Real, 0, 1, closed="both")],
        "max_rotate": [Interval(Real, 0, 180, closed="both")],
    }

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_augment("affine", self.image_shape)
        return augment_images(x, self.image_shape, self.max_shift, self.max_rotate)


def augmentation(augment: str | None = "none", image_shape: Sequence[int] | None = None) -> AffineJitter | None:
    """The ``augment`` callable of the flat config keys ``augment`` (``none`` | ``affine``) and
    ``image_shape`` (None for ``none``)."""
    if check_augment(augment, image_shape) == "none":
        return None
    return AffineJitter(image_shape=tuple(int(v) for v in image_shape))
