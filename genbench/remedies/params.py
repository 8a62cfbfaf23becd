"""Parameters of the built-in remedies (torch-free), and what each refuses in a trial.

A suite names remedies as ``remedies: [ema, {name: unrolled, params: {steps: 5}}]``; each entry is
validated against its model here before anything trains. A remedy that cannot work in a trial
(DiffAugment on 2-D points, an average that would never start) says why in ``trial_problem``, which
the suite's cross-checks (``genbench.suite.checks.check_remedies``) call with the resolved trial.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from genbench.settings import StrictModel
from genbench.spec import TrialSpec

#: DiffAugment's transformation families (Zhao et al. 2020), applied in the order the policy names
Augmentation = Literal["color", "translation", "cutout"]
IMAGE_DIMS = 3  # (C, H, W)


class RemedyParams(StrictModel):
    """Base of the remedies' parameter models: a remedy that fits every GAN trial refuses nothing."""

    def trial_problem(self, trial: TrialSpec, sample_shape: tuple[int, ...] | None) -> str | None:
        """Why this remedy cannot work in ``trial``, or None. ``sample_shape`` is the dataset's
        sample shape, None where only building the dataset would tell (a user's dataset)."""
        return None


class EmaParams(RemedyParams):
    decay: float = Field(
        0.999,
        gt=0,
        lt=1,
        description="weight of the old average at each generator update: avg <- decay * avg + "
        "(1 - decay) * weights (Yazici et al. 2019 used 0.999 and 0.9999)",
    )
    start_step: int = Field(
        0,
        ge=0,
        description="generator updates before averaging starts; until then the average is the raw weights",
    )

    def trial_problem(self, trial: TrialSpec, sample_shape: tuple[int, ...] | None) -> str | None:
        if self.start_step >= trial.train.steps:
            return (
                f"ema's start_step ({self.start_step}) is not below train.steps ({trial.train.steps}): "
                "the average would never start; lower start_step"
            )
        return None


class UnrolledParams(RemedyParams):
    steps: int = Field(
        5, ge=1, description="look-ahead discriminator updates the generator's update is computed against"
    )


class SpectralNormParams(RemedyParams):
    power_iterations: int = Field(
        1,
        ge=1,
        description="power-iteration steps per discriminator pass in training, which refine the "
        "estimate of each weight's largest singular value (Miyato et al. 2018 used 1)",
    )

    def trial_problem(self, trial: TrialSpec, sample_shape: tuple[int, ...] | None) -> str | None:
        if trial.train.compile:
            # measured: the compiled backward keeps a power-iteration vector that the next pass
            # refines in place, and fails
            return (
                "spectral_norm refines its power-iteration vectors in place at every pass, which "
                "torch.compile's graphs cannot differentiate; set train.compile: false"
            )
        if trial.model.params.get("discriminator_norm") == "spectral":
            return (
                f"model '{trial.model.name}' already normalises its discriminator spectrally "
                "(discriminator_norm: spectral); drop the remedy or set another discriminator_norm"
            )
        return None


class InstanceNoiseParams(RemedyParams):
    std: float = Field(
        0.1, gt=0, description="standard deviation of the Gaussian noise added to every discriminator input"
    )
    anneal_steps: int = Field(
        0, ge=0, description="generator updates over which the std falls linearly to 0; 0: constant"
    )


class DiffAugmentParams(RemedyParams):
    policy: tuple[Augmentation, ...] = Field(
        ("color", "translation", "cutout"),
        min_length=1,
        description="transformations of every real and fake image the discriminator scores, in "
        "order: color (brightness, saturation, contrast), translation (by up to 1/8 of the side), "
        "cutout (a square of half the side)",
    )

    @field_validator("policy")
    @classmethod
    def each_once(cls, policy: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({name for name in policy if policy.count(name) > 1})
        if repeated:
            raise ValueError(f"the policy names {', '.join(repeated)} more than once; name each once")
        return policy

    def trial_problem(self, trial: TrialSpec, sample_shape: tuple[int, ...] | None) -> str | None:
        if sample_shape is not None and len(sample_shape) != IMAGE_DIMS:
            return (
                f"diffaugment transforms images (channels, height, width); dataset "
                f"'{trial.dataset.name}' has samples of shape {tuple(sample_shape)}"
            )
        return None
