"""DiffAugment's transformations against hand computations, their draws, members and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genbench.errors import GenbenchError
from genbench.remedies.diffaugment_ops import (
    POLICIES,
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    augment,
    cut_out,
    translate,
)
from genbench.train.streams import MemberStreams

# one member, one image of 3 channels and 2x2 pixels
PIXELS = np.array(
    [
        [[0.0, 1.0], [2.0, 3.0]],
        [[4.0, 5.0], [6.0, 7.0]],
        [[-1.0, 0.5], [0.0, 2.0]],
    ]
)


def image(values: np.ndarray) -> torch.Tensor:
    """[C, H, W] (or [H, W]: one channel) values as a batch [1, 1, C, H, W] in float64."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    return torch.tensor(values)[None, None]


def per_image(*values: float) -> torch.Tensor:
    return torch.tensor([values], dtype=torch.float64)


def streams(*seeds: int) -> MemberStreams:
    return MemberStreams([torch.Generator().manual_seed(seed) for seed in seeds])


def test_brightness_adds_the_offset_to_every_pixel():
    result = adjust_brightness(image(PIXELS), per_image(-0.3))
    np.testing.assert_allclose(result[0, 0].numpy(), PIXELS - 0.3)


def test_saturation_scales_each_pixels_distance_from_its_channel_mean():
    result = adjust_saturation(image(PIXELS), per_image(1.5))
    # pixel (0, 0): channels 0, 4, -1, mean 1 -> 1 + 1.5 * (-1, 3, -2)
    np.testing.assert_allclose(result[0, 0, :, 0, 0].numpy(), [-0.5, 5.5, -2.0])
    mean = PIXELS.mean(axis=0)
    np.testing.assert_allclose(result[0, 0].numpy(), mean + 1.5 * (PIXELS - mean))


def test_contrast_scales_each_pixels_distance_from_the_image_mean():
    result = adjust_contrast(image(PIXELS), per_image(0.5))
    mean = PIXELS.sum() / 12  # 29.5 / 12
    np.testing.assert_allclose(result[0, 0].numpy(), mean + 0.5 * (PIXELS - mean))


SQUARE = np.arange(1.0, 10.0).reshape(3, 3)  # 1 2 3 / 4 5 6 / 7 8 9


def test_translation_moves_content_and_fills_with_zeros():
    result = translate(image(SQUARE), torch.tensor([[1]]), torch.tensor([[-1]]))
    # output (i, j) is input (i + 1, j - 1)
    expected = [[0.0, 4.0, 5.0], [0.0, 7.0, 8.0], [0.0, 0.0, 0.0]]
    np.testing.assert_array_equal(result[0, 0, 0].numpy(), expected)


def test_a_translation_beyond_the_side_leaves_only_zeros():
    result = translate(image(SQUARE), torch.tensor([[5]]), torch.tensor([[0]]))
    assert not result.any()


def test_cutout_zeroes_the_part_of_the_square_inside_the_image():
    result = cut_out(image(SQUARE), torch.tensor([[-1]]), torch.tensor([[1]]), 2, 2)
    # rows -1 .. 0 x columns 1 .. 2: inside the image only row 0, columns 1 and 2
    expected = [[1.0, 0.0, 0.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    np.testing.assert_array_equal(result[0, 0, 0].numpy(), expected)


def test_each_image_of_a_batch_gets_its_own_parameters():
    batch = torch.cat([image(SQUARE), image(SQUARE)], dim=1)  # [1, 2, 1, 3, 3]
    result = translate(batch, torch.tensor([[0, -1]]), torch.tensor([[1, 0]]))
    np.testing.assert_array_equal(
        result[0, 0, 0].numpy(), [[2.0, 3.0, 0.0], [5.0, 6.0, 0.0], [8.0, 9.0, 0.0]]
    )
    np.testing.assert_array_equal(
        result[0, 1, 0].numpy(), [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    )


def images(members: int = 1, batch: int = 3, side: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(members, batch, 3, side, side, generator=torch.Generator().manual_seed(seed)).double()


def test_color_draws_brightness_saturation_and_contrast_from_the_members_stream():
    x = images()
    draws = torch.Generator().manual_seed(5)
    brightness, saturation, contrast = (torch.rand(3, generator=draws).double() for _ in range(3))
    expected = adjust_brightness(x, (brightness - 0.5)[None])
    expected = adjust_saturation(expected, (2 * saturation)[None])
    expected = adjust_contrast(expected, (contrast + 0.5)[None])
    torch.testing.assert_close(augment(x, ["color"], streams(5)), expected)


def test_translation_shifts_by_up_to_an_eighth_of_the_side_drawn_from_the_stream():
    x = images(side=16)  # at most 2 pixels
    draws = torch.Generator().manual_seed(5)
    rows = torch.randint(-2, 3, (3,), generator=draws)
    columns = torch.randint(-2, 3, (3,), generator=draws)
    torch.testing.assert_close(
        augment(x, ["translation"], streams(5)), translate(x, rows[None], columns[None])
    )


def test_cutout_zeroes_a_square_of_half_the_side_centred_by_the_stream():
    x = images(side=16)  # an 8x8 square, centre 0 .. 16
    draws = torch.Generator().manual_seed(5)
    centre_rows = torch.randint(0, 17, (3,), generator=draws)
    centre_columns = torch.randint(0, 17, (3,), generator=draws)
    expected = cut_out(x, centre_rows[None] - 4, centre_columns[None] - 4, 8, 8)
    result = augment(x, ["cutout"], streams(5))
    torch.testing.assert_close(result, expected)
    zeroed = (result == 0).all(dim=2).sum(dim=(-2, -1))[0]  # pixels per image
    for image_index, (row, column) in enumerate(
        zip(centre_rows.tolist(), centre_columns.tolist(), strict=True)
    ):
        inside_rows = min(row + 4, 16) - max(row - 4, 0)
        inside_columns = min(column + 4, 16) - max(column - 4, 0)
        assert zeroed[image_index] == inside_rows * inside_columns


def test_policies_apply_in_the_order_named_one_after_another_from_one_stream():
    x = images()
    noise = streams(2)
    expected = POLICIES["color"](POLICIES["translation"](x, noise), noise)
    torch.testing.assert_close(augment(x, ["translation", "color"], streams(2)), expected)


@pytest.mark.parametrize(
    "policy", [["color"], ["translation"], ["cutout"], ["color", "translation", "cutout"]]
)
def test_members_draw_what_their_trials_draw_alone(policy):
    x = images(members=2)
    together = augment(x, policy, streams(11, 12))
    for member, seed in enumerate((11, 12)):
        torch.testing.assert_close(
            together[member], augment(x[member : member + 1], policy, streams(seed))[0]
        )


def test_translation_passes_gradients_to_the_pixels_it_keeps():
    x = image(SQUARE).requires_grad_(True)
    translate(x, torch.tensor([[1]]), torch.tensor([[0]])).sum().backward()
    # rows 1 and 2 move up and stay; row 0 leaves the image
    np.testing.assert_array_equal(x.grad[0, 0, 0].numpy(), [[0.0] * 3, [1.0] * 3, [1.0] * 3])


def test_cutout_passes_no_gradient_to_the_pixels_it_cuts():
    x = image(SQUARE).requires_grad_(True)
    cut_out(x, torch.tensor([[0]]), torch.tensor([[0]]), 2, 2).sum().backward()
    np.testing.assert_array_equal(
        x.grad[0, 0, 0].numpy(), [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]
    )


def test_color_is_differentiable_with_the_analytic_gradient():
    factors = per_image(1.3)
    assert torch.autograd.gradcheck(
        lambda x: adjust_contrast(adjust_saturation(x, factors), factors), image(PIXELS).requires_grad_(True)
    )


def test_every_policy_carries_gradients_to_the_images():
    x = images().requires_grad_(True)
    augment(x, list(POLICIES), streams(3)).square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_unknown_policies_and_non_image_batches_are_clear_errors():
    with pytest.raises(
        GenbenchError, match="unknown DiffAugment policy 'colour'; allowed: color, translation, cutout"
    ):
        augment(images(), ["colour"], streams(0))
    with pytest.raises(GenbenchError, match=r"image batches \[members, batch, channels, height, width\]"):
        augment(torch.zeros(1, 4, 2), ["color"], streams(0))
