"""Copies of the CI regression suite, and the regressions planted in them, for the check's
end-to-end tests: bugs a change to genbench could introduce, which `genbench check` must catch
against the committed baseline."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from genbench.catalog import MODELS
from genbench.models.parts import GanParts

from .components import built
from .conftest import REPO, run_dir_of

CI_SUITE = REPO / "suites" / "ci_regression.yaml"
CI_BASELINE = REPO / "baselines" / "ci_regression.json"
BASELINE_SEEDS = "seed: [0, 1, 2, 3, 4]"
GROUPS = {"loss=ns", "loss=hinge"}


def run_variant(
    directory: Path, name: str, seeds: list[int], *replacements: tuple[str, str], workers: int | None = None
) -> Path:
    """Run a copy of the CI suite under another name and seeds, with text replacements planted."""
    text = CI_SUITE.read_text().replace("name: ci_regression", f"name: {name}")
    for old, new in [(BASELINE_SEEDS, f"seed: {seeds}"), *replacements]:
        assert old in text, f"the CI suite no longer contains {old!r}"
        text = text.replace(old, new)
    suite = directory / f"{name}.yaml"
    suite.write_text(text)
    return run_dir_of(suite, directory / name, device="cpu", quiet=True, workers=workers)


def wrong_sign_generator_loss(
    self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
) -> torch.Tensor:
    """The non-saturating generator objective with its sign flipped: G now flees what D calls real.
    Patched over ``NonSaturatingLoss.generator_loss``, so the suite's cells keep their labels."""
    return -nn.functional.softplus(-fake_logits).mean()


class IgnoreLatent(nn.Module):
    """Feeds zeros instead of z, as a dropped input would: every sample is the same point."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(z)


def latent_ignoring_gan(data_shape: tuple[int, ...], **params) -> GanParts:
    """``mlp_gan`` whose generator never sees its latent, so it collapses onto one mode."""
    parts = built(MODELS, "mlp_gan", data_shape, **params)
    return GanParts(nn.Sequential(IgnoreLatent(), parts.generator), parts.discriminator, parts.latent_dim)
