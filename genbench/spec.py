"""Specs: the frozen models of a trial, and the id that names its result.

A ``TrialSpec`` holds everything that determines a trial's result, fully resolved (every default
filled in), and nothing else; its id is a hash of that content, so a finished trial is never redone
and a changed trial never reuses a stale result. These models are what training and the runner
take: they know no YAML and no registry (``genbench.suite`` builds and validates them from a suite
file) and are torch-free.

How a trial is executed (``RunOptions``: checkpoints, a time limit) sits beside its spec in the
``Trial``, never in it: it does not change what the trial computes, so it changes neither its id nor
its record's spec.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from genbench.settings import StrictModel

#: bump when the meaning of a spec changes (training or evaluation semantics), so that results
#: computed under the old meaning get other ids and are never reused
SPEC_VERSION = 1

#: the model name of a generator loaded from weights and only evaluated, never trained
PRETRAINED_MODEL = "pretrained"


class ComponentSpec(StrictModel):
    """A registry name (or ``package.module:factory``) with its resolved parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TrainSpec(StrictModel):
    steps: int = Field(2000, ge=0, description="generator updates; 0 only evaluates")
    batch_size: int = Field(256, ge=1, description="real and fake samples per update")
    d_steps: int = Field(1, ge=1, description="discriminator updates per generator update")
    eval_every: int = Field(500, ge=0, description="generator updates between evaluations; 0: end only")
    eval_samples: int = Field(2500, ge=1, description="generated samples per evaluation")
    reference_samples: int | None = Field(
        None, ge=1, description="real samples per evaluation (default: eval_samples)"
    )
    # fast paths: each off by default, each part of the trial's spec (so of its record and id)
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="bf16: training's forward passes under bf16 autocast (CPU and CUDA); weights, "
        "optimizer and evaluation stay fp32",
    )
    channels_last: bool = Field(
        False, description="conv networks and their inputs in channels-last memory format (GPU tensor cores)"
    )
    compile: bool = Field(
        False,
        description="torch.compile the networks' forward passes (the first steps compile; a "
        "discriminator with a gradient penalty stays eager: compiled graphs have no double backward)",
    )


class TrialSpec(StrictModel):
    """One fully resolved trial: everything that determines its result, and nothing else."""

    dataset: ComponentSpec
    model: ComponentSpec
    loss: ComponentSpec | None = None
    penalty: ComponentSpec | None = None
    optimizer: ComponentSpec | None = None
    train: TrainSpec
    metrics: tuple[ComponentSpec, ...]
    seed: int
    #: changes of GAN training against mode collapse and non-convergence (``genbench.remedies``),
    #: applied in this order
    remedies: tuple[ComponentSpec, ...] = ()

    @model_serializer(mode="wrap")
    def without_empty_remedies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The spec as data, without ``remedies`` when there are none: a trial without remedies
        serialises, and so hashes (``trial_id``), exactly as before remedies existed, so its stored
        results and the baselines that pin its protocol stay valid."""
        data = handler(self)
        if not self.remedies:
            data.pop("remedies", None)
        return data

    @property
    def trains(self) -> bool:
        return self.train.steps > 0

    def trial_id(self) -> str:
        content = json.dumps(
            {"spec_version": SPEC_VERSION, "spec": self.model_dump(mode="json")}, sort_keys=True
        )
        return hashlib.sha256(content.encode()).hexdigest()[:12]


class RunOptions(StrictModel):
    """How a trial is executed, written in a suite's ``train:`` section but not part of its spec:
    the same trial with other options computes the same result, so these change neither its id nor
    its record's spec. Suite-wide: a grid may not vary them."""

    checkpoint_every: int | None = Field(
        None,
        ge=1,
        description="generator updates between saves of a trial's full training state, from which a "
        "rerun (after a crash, a kill or a preempted job) continues; default: no saves",
    )
    timeout: float | None = Field(
        None,
        gt=0,
        description="seconds of wall time for a trial's training and evaluation (an ensemble's, for "
        "all its members), checked between steps; over it the trial fails (its state saved first with "
        "checkpoint_every); default: no limit",
    )


#: the keys of a suite's ``train:`` section that are run options, not part of the spec
RUN_OPTION_KEYS = tuple(RunOptions.model_fields)


class Trial(StrictModel):
    id: str
    spec: TrialSpec
    run_options: RunOptions = RunOptions()
    grid: dict[str, str] = Field(description="grid key -> short readable label of its value")
    grid_columns: dict[str, Any] = Field(description="flattened grid values, e.g. optimizer.lr")
