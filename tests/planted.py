"""User-code components referenced from test suites as ``tests.planted:...``."""

from __future__ import annotations

import torch

from genbench.losses.gan import NonSaturatingLoss


class BrokenLoss(NonSaturatingLoss):
    """A loss whose discriminator objective raises, to test that one failing trial is isolated."""

    def discriminator_loss(self, real_logits, fake_logits):
        raise RuntimeError("planted failure in the discriminator loss")


def broken_loss() -> BrokenLoss:
    return BrokenLoss()


def shifted_ring(shift: float = 10.0):
    """A user dataset: ring8 moved by ``shift`` along x (known modes, so mode metrics apply)."""
    from genbench.catalog import DATASETS
    from genbench.data.mixtures import GaussianMixture

    from .components import built

    ring = built(DATASETS, "ring8")
    return GaussianMixture(ring.mode_centres + torch.tensor([shift, 0.0]), ring.mode_std)


def tiny_gan(data_shape, width: int = 8):
    """A user model factory: the data shape comes first, the suite's params follow."""
    from genbench.catalog import MODELS

    from .components import built

    return built(MODELS, "mlp_gan", data_shape, latent_dim=2, hidden=width, depth=1)
