"""User-code components referenced from test suites as ``tests.planted:...``."""

from __future__ import annotations

from genbench.losses.gan import NonSaturatingLoss


class BrokenLoss(NonSaturatingLoss):
    """A loss whose discriminator objective raises, to test that one failing trial is isolated."""

    def discriminator_loss(self, real_logits, fake_logits):
        raise RuntimeError("planted failure in the discriminator loss")


def broken_loss() -> BrokenLoss:
    return BrokenLoss()
