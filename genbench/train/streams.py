"""Seeded random streams of a trial, kept apart so that adding draws to one never shifts another.

Each stream's seed is the trial seed plus a fixed offset; the reference set's seed is fixed, so
every trial of a suite is evaluated against the same real samples.
"""

from __future__ import annotations

import torch

DATA_STREAM, LATENT_STREAM, EVAL_STREAM = 1_000_003, 2_000_003, 3_000_017
REFERENCE_SEED = 20_170_000


def seeded(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)
