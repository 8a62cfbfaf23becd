"""Precision/recall/density/coverage in row blocks: the same values as the whole-matrix algorithm
genbench had before (kept here, and only here, as the reference), as the ``prdc`` package, with
ties on a ball's boundary and duplicate samples; every block within the memory bound; members
together as each alone; and the memory estimate that lets validation accept 50,000 samples."""

from __future__ import annotations

import numpy as np
import prdc as reference_package
import pytest
import torch

from genbench.catalog import METRICS
from genbench.metrics import prdc
from genbench.metrics.params import PrdcParams

from .components import built
from .conftest import TINY_SUITE, genbench_process

K_PRECISION_RECALL, K_DENSITY_COVERAGE = 3, 5


def whole_matrix_values(generated: torch.Tensor, real: torch.Tensor, k_pr: int, k_dc: int) -> dict:
    """genbench's algorithm before row blocks, as it was (one member): the three whole distance
    matrices, the k-th neighbour by ``topk`` of k + 1 (the sample itself first), boundaries inside."""

    def nearest_neighbour_radii(distances: torch.Tensor, k: int) -> torch.Tensor:
        return distances.topk(k + 1, dim=-1, largest=False).values[..., k]

    generated = generated.reshape(1, generated.shape[0], -1)
    real = real.reshape(real.shape[0], -1).to(generated)
    real_to_real = torch.cdist(real, real)
    radii_pr = nearest_neighbour_radii(real_to_real, k_pr)
    radii_dc = nearest_neighbour_radii(real_to_real, k_dc)
    fake_radii_pr = nearest_neighbour_radii(torch.cdist(generated, generated), k_pr)
    real_to_fake = torch.cdist(real[None], generated)
    precision = (real_to_fake <= radii_pr[None, :, None]).any(dim=1).double().mean(dim=1)
    recall = (real_to_fake <= fake_radii_pr[:, None, :]).any(dim=2).double().mean(dim=1)
    in_ball_counts = (real_to_fake <= radii_dc[None, :, None]).sum(dim=2, dtype=torch.int32)
    density = in_ball_counts.sum(dim=1)
    coverage = (in_ball_counts > 0).double().mean(dim=1)
    return {
        "precision": precision.item(),
        "recall": recall.item(),
        "density": density.item() / (k_dc * generated.shape[1]),
        "coverage": coverage.item(),
    }


def blocked_values(generated: torch.Tensor, real: torch.Tensor) -> dict:
    return prdc.precision_recall_density_coverage(generated, real, K_PRECISION_RECALL, K_DENSITY_COVERAGE)


def rows_per_block_bound(rows: int, columns: int, dtype: torch.dtype) -> int:
    """The block bound at which a matrix of ``columns`` columns is computed ``rows`` rows at a time."""
    return rows * columns * torch.finfo(dtype).bits // 8


@pytest.fixture
def distance_blocks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shape of every distance block torch.cdist computes during the test."""
    shapes: list[tuple[int, ...]] = []
    cdist = torch.cdist

    def recorded(first: torch.Tensor, second: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        distances = cdist(first, second, *args, **kwargs)
        shapes.append(tuple(distances.shape))
        return distances

    monkeypatch.setattr(torch, "cdist", recorded)
    return shapes


def random_samples(real: int, generated: int, dimension: int, dtype: torch.dtype, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    reference = torch.randn(real, dimension, generator=generator, dtype=dtype)
    fake = 0.8 * torch.randn(generated, dimension, generator=generator, dtype=dtype) + 0.3
    return fake, reference


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dimension", [2, 64])
@pytest.mark.parametrize("rows", [64, 333])
def test_row_blocks_give_the_values_of_the_whole_matrices(monkeypatch, dtype, dimension, rows):
    """Blocks of 64 and 333 rows, neither dividing the 1,200 or 1,000 rows of a matrix."""
    fake, real = random_samples(1200, 1000, dimension, dtype)
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", rows_per_block_bound(rows, 1200, dtype))
    assert blocked_values(fake, real) == whole_matrix_values(
        fake, real, K_PRECISION_RECALL, K_DENSITY_COVERAGE
    )


def test_every_distance_block_stays_within_the_bound(monkeypatch, distance_blocks):
    bound = rows_per_block_bound(100, 900, torch.float32)
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", bound)
    fake, real = random_samples(900, 800, 16, torch.float32)
    blocked_values(fake, real)
    sizes = [4 * int(np.prod(shape)) for shape in distance_blocks]
    assert max(sizes) <= bound
    # real-real in blocks of 100 rows of 900, fake-fake and real-fake in blocks of 112 rows of 800
    assert len(distance_blocks) == 9 + 8 + 9


def test_matrices_that_fit_are_computed_whole(distance_blocks):
    fake, real = random_samples(500, 400, 2, torch.float32)
    blocked_values(fake, real)
    assert distance_blocks == [(1, 500, 500), (1, 400, 400), (1, 500, 400)]


def samples_with_ties() -> tuple[torch.Tensor, torch.Tensor]:
    """Integer points, whose distances are exact, so ties are exact. Real: (i, 0) for i < 200, and
    ten copies of (500, 0), whose balls have radius 0. Generated: (i, 2), each on the boundary of
    the ball of (i, 0), whose 3rd nearest other point is 2 away (but at the line's ends: 3), and a
    copy of (500, 0), on the boundary (0) of the copies' balls."""
    line = torch.arange(200, dtype=torch.float64)
    real = torch.cat([torch.stack([line, 0 * line], dim=1), torch.tensor([[500.0, 0.0]]).repeat(10, 1)])
    generated = torch.cat([torch.stack([line, 2 + 0 * line], dim=1), torch.tensor([[500.0, 0.0]])])
    return generated, real


def test_ties_and_duplicates_in_blocks_as_in_the_whole_matrices(monkeypatch):
    fake, real = samples_with_ties()
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", rows_per_block_bound(64, len(real), torch.float64))
    values = blocked_values(fake, real)
    assert values == whole_matrix_values(fake, real, K_PRECISION_RECALL, K_DENSITY_COVERAGE)
    # on a boundary is inside: every generated point is in some real ball
    assert values["precision"] == 1.0


def test_ties_are_the_only_difference_from_the_prdc_package(monkeypatch):
    """The prdc package counts a point on a boundary outside: moved off the boundaries by a
    hundredth, the points are inside or outside alike, and the four values agree."""
    fake, real = samples_with_ties()
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", rows_per_block_bound(64, len(real), torch.float64))
    on_boundaries = prdc.precision_recall_density_coverage(fake, real, K_DENSITY_COVERAGE, K_DENSITY_COVERAGE)
    expected = reference_package.compute_prdc(real.numpy(), fake.numpy(), nearest_k=K_DENSITY_COVERAGE)
    assert on_boundaries["density"] > expected["density"]
    inside = fake - torch.tensor([0.0, 0.01])
    values = prdc.precision_recall_density_coverage(inside, real, K_DENSITY_COVERAGE, K_DENSITY_COVERAGE)
    expected = reference_package.compute_prdc(real.numpy(), inside.numpy(), nearest_k=K_DENSITY_COVERAGE)
    assert values == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("dimension", [2, 64])
def test_row_blocks_equal_the_prdc_package(monkeypatch, dimension):
    fake, real = random_samples(1100, 900, dimension, torch.float64, seed=3)
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", rows_per_block_bound(128, 1100, torch.float64))
    expected = reference_package.compute_prdc(real.numpy(), fake.numpy(), nearest_k=K_DENSITY_COVERAGE)
    values = prdc.precision_recall_density_coverage(fake, real, K_DENSITY_COVERAGE, K_DENSITY_COVERAGE)
    assert values == pytest.approx(expected, abs=1e-12)


def test_members_in_row_blocks_equal_each_member_alone(monkeypatch):
    """Members too large to share a block are taken one at a time, each in the blocks it has alone."""
    generator = torch.Generator().manual_seed(4)
    real = torch.randn(700, 8, generator=generator)
    members = torch.stack([torch.randn(600, 8, generator=generator) * scale for scale in (0.5, 1.0, 2.0)])
    monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", rows_per_block_bound(96, 700, torch.float32))
    metric = built(METRICS, "prdc")
    together = metric.evaluate_members(members, real, None)
    assert together == [metric(member, real, None) for member in members]
    assert [result.values for result in together] == [
        whole_matrix_values(member, real, K_PRECISION_RECALL, K_DENSITY_COVERAGE) for member in members
    ]


def test_the_memory_estimate_is_one_block_and_the_nearest_distances_per_sample():
    """167 rows of 50,000 float32 distances fit in 32 MiB, each distance with a byte of ball
    membership; per real sample its 6 nearest distances (k = 5), per generated one its 4 (k = 3)
    and a byte of membership in some real ball."""
    per_sample = 4 * (6 + 4) + 1
    assert PrdcParams().working_bytes(50_000, 50_000, 64, 0) == (4 + 1) * 167 * 50_000 + 50_000 * per_sample
    assert PrdcParams().working_bytes(1_000, 1_000, 2, 0) == (4 + 1) * 1_000 * 1_000 + 1_000 * per_sample


def test_validate_accepts_the_50k_sample_protocol(write_suite, tmp_path):
    """Whole matrices of 50,000 samples were 30 GB, more than most machines: validation refused it."""
    suite = TINY_SUITE.replace("eval_samples: 256", "eval_samples: 50000")
    result = genbench_process("validate", write_suite(suite), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "valid, 1 trials" in result.stdout


@pytest.mark.parametrize("block_bytes", [None, 4096])
def test_feature_precision_recall_equal_torch_fidelity_in_blocks(monkeypatch, block_bytes):
    """The ``prc`` metric's precision and recall (on features) come from the blocked computation;
    they equal torch-fidelity's whole-matrix ``prc_features_to_metric`` on the same features, also
    when the blocks are a few rows."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    if block_bytes is not None:
        monkeypatch.setattr(prdc, "DISTANCE_BLOCK_BYTES", block_bytes)
    rng = torch.Generator().manual_seed(3)
    real = torch.randn(400, 16, generator=rng)
    fake = torch.stack([torch.randn(300, 16, generator=rng) * scale + 0.3 for scale in (0.5, 1.0, 2.0)])
    ours = prdc.member_precision_recall_density_coverage(fake, real, K_PRECISION_RECALL, K_DENSITY_COVERAGE)
    for member, values in zip(fake, ours, strict=True):
        theirs = prc_features_to_metric(
            member, real, prc_neighborhood=K_PRECISION_RECALL, save_cpu_ram=False, verbose=False
        )
        assert values["precision"] == pytest.approx(theirs["precision"], abs=1e-6)
        assert values["recall"] == pytest.approx(theirs["recall"], abs=1e-6)
    # torch-fidelity averages in float32; one sample more or less in a ball moves a value by 1/400
    # the three members differ, so equality is not a coincidence of constant values
    assert len({round(values["recall"], 6) for values in ours}) == 3
