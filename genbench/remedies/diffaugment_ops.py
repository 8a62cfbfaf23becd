"""The transformations of DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"), as their ``DiffAugment_pytorch.py`` defines them.

The discriminator sees every real and fake image through the same random, differentiable
transformations, so it cannot overfit a small training set, and the generator still gets gradients
through them. Three policies:

- ``color``: brightness + U(-0.5, 0.5), then saturation (distance from the pixel's channel mean)
  x U(0, 2), then contrast (distance from the image's mean) x U(0.5, 1.5);
- ``translation``: shift by up to 1/8 of each side in whole pixels, filling with zeros;
- ``cutout``: zero a square of half the side (a rectangle of half of each side for non-square
  images), centred anywhere in the image (cut off at its edges).

Each draws its parameters per image from the members' seeded streams (``MemberStreams``), so member
k of an ensemble draws what trial k draws alone. Images are [E, B, C, H, W]; the deterministic
transformations below take their per-image parameters explicitly, and the registered policies draw
them and apply them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from genbench.errors import GenbenchError
from genbench.train.streams import MemberStreams

#: the largest translation, as a fraction of the side (the paper's 1/8)
TRANSLATION_RATIO = 0.125
#: the side of the cut-out square, as a fraction of the image's side (the paper's 1/2)
CUTOUT_RATIO = 0.5
#: dimensions of a batch of images: member, batch, channel, height, width
IMAGE_BATCH_DIMS = 5


def per_image(values: torch.Tensor) -> torch.Tensor:
    """[E, B] per-image values shaped to broadcast over [E, B, C, H, W]."""
    return values[:, :, None, None, None]


def adjust_brightness(images: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Adds ``offset`` [E, B] to every pixel of each image."""
    return images + per_image(offset)


def adjust_saturation(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scales each pixel's distance from its mean over channels by ``factor`` [E, B]."""
    mean = images.mean(dim=2, keepdim=True)
    return (images - mean) * per_image(factor) + mean


def adjust_contrast(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scales each image's distance from its mean over channels and pixels by ``factor`` [E, B]."""
    mean = images.mean(dim=(2, 3, 4), keepdim=True)
    return (images - mean) * per_image(factor) + mean


def translate(images: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Output pixel (i, j) of each image is its input pixel (i + rows, j + columns), zero where that
    lies outside; ``rows`` and ``columns`` are [E, B] integers."""
    height, width = images.shape[-2:]
    # a border of one zero pixel, where every index outside the image is clamped to (no host sync
    # to size the padding by the largest shift)
    padded = F.pad(images, (1, 1, 1, 1))
    row_index = (torch.arange(height, device=images.device) + 1 + rows[..., None]).clamp(0, height + 1)
    column_index = (torch.arange(width, device=images.device) + 1 + columns[..., None]).clamp(0, width + 1)
    members, batch, channels = images.shape[:3]
    shifted_rows = padded.gather(
        3, row_index[:, :, None, :, None].expand(members, batch, channels, height, width + 2)
    )
    return shifted_rows.gather(
        4, column_index[:, :, None, None, :].expand(members, batch, channels, height, width)
    )


def cut_out(
    images: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Zeroes rows top .. top + height - 1 x columns left .. left + width - 1 of each image (the
    part inside it); ``top`` and ``left`` are [E, B] integers, possibly outside the image."""
    rows = torch.arange(images.shape[-2], device=images.device)
    columns = torch.arange(images.shape[-1], device=images.device)
    in_rows = (rows >= top[..., None]) & (rows < top[..., None] + height)  # [E, B, H]
    in_columns = (columns >= left[..., None]) & (columns < left[..., None] + width)  # [E, B, W]
    keep = ~(in_rows[..., :, None] & in_columns[..., None, :])  # [E, B, H, W]
    return images * keep[:, :, None].to(images.dtype)


def uniform(noise: MemberStreams, images: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """One value per image from U(low, high), [E, B], from each member's stream."""
    draws = noise.uniform((images.shape[1],)).to(images.dtype)
    return low + (high - low) * draws


def integers(noise: MemberStreams, images: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """One integer per image from low .. high - 1, [E, B], from each member's stream."""
    count = images.shape[1]
    return noise.draw(lambda rng: torch.randint(low, high, (count,), generator=rng, device=rng.device))


def random_color(images: torch.Tensor, noise: MemberStreams) -> torch.Tensor:
    images = adjust_brightness(images, uniform(noise, images, -0.5, 0.5))
    images = adjust_saturation(images, uniform(noise, images, 0.0, 2.0))
    return adjust_contrast(images, uniform(noise, images, 0.5, 1.5))


def random_translation(images: torch.Tensor, noise: MemberStreams) -> torch.Tensor:
    height, width = images.shape[-2:]
    # whole pixels, rounded as the reference code does: up to 2 of 16, 4 of 32
    most_rows, most_columns = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    rows = integers(noise, images, -most_rows, most_rows + 1)
    columns = integers(noise, images, -most_columns, most_columns + 1)
    return translate(images, rows, columns)


def random_cutout(images: torch.Tensor, noise: MemberStreams) -> torch.Tensor:
    height, width = images.shape[-2:]
    cut_height, cut_width = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    # the square's centre anywhere in the image, as in the reference code
    centre_rows = integers(noise, images, 0, height + 1 - cut_height % 2)
    centre_columns = integers(noise, images, 0, width + 1 - cut_width % 2)
    return cut_out(
        images, centre_rows - cut_height // 2, centre_columns - cut_width // 2, cut_height, cut_width
    )


#: policy name -> its random transformation of [E, B, C, H, W] images
POLICIES: dict[str, Callable[[torch.Tensor, MemberStreams], torch.Tensor]] = {
    "color": random_color,
    "translation": random_translation,
    "cutout": random_cutout,
}


def augment(images: torch.Tensor, policy: Sequence[str], noise: MemberStreams) -> torch.Tensor:
    """``images`` [E, B, C, H, W] through the policy's transformations, in the order named."""
    if images.dim() != IMAGE_BATCH_DIMS:
        raise GenbenchError(
            f"DiffAugment transforms image batches [members, batch, channels, height, width], got a "
            f"tensor of shape {tuple(images.shape)}"
        )
    for name in policy:
        if name not in POLICIES:
            raise GenbenchError(f"unknown DiffAugment policy '{name}'; allowed: {', '.join(POLICIES)}")
        images = POLICIES[name](images, noise)
    return images
