"""Minibatch standard deviation against a loop over its groups, per member and under vmap; where
mlp_gan and dcgan place it; the discriminator's own size; trial ids that do not set them unchanged."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from genbench.catalog import MODELS
from genbench.errors import GenbenchError
from genbench.models.minibatch_std import EPSILON, MinibatchStd
from genbench.models.params import MlpGanParams
from genbench.models.stacking import StackedMembers, VmappedMembers, stack_members
from genbench.suite import load_suite

from .components import built
from .test_ensemble_equivalence import assert_same_as_alone


def expected_statistic(features: np.ndarray, group_size: int) -> np.ndarray:
    """ProGAN's statistic by loops: sample i belongs to group i mod M (M = batch / group size);
    each feature's population std over the group, averaged over features; one value per sample."""
    batch = features.shape[0]
    group = min(group_size, batch)
    groups = batch // group
    flat = features.reshape(batch, -1)
    values = np.empty(batch)
    for index in range(groups):
        members = flat[index::groups]
        std = np.sqrt(((members - members.mean(axis=0)) ** 2).mean(axis=0) + EPSILON)
        values[index::groups] = std.mean()
    return values


def test_vectors_get_one_feature_more_holding_their_groups_mean_std():
    features = torch.randn(8, 3, dtype=torch.float64)
    output = MinibatchStd(group_size=4, feature_dims=1)(features)
    assert output.shape == (8, 4)
    assert torch.equal(output[:, :3], features)
    np.testing.assert_allclose(output[:, 3].numpy(), expected_statistic(features.numpy(), 4), rtol=1e-12)


def test_feature_maps_get_one_constant_channel_more_holding_their_groups_mean_std():
    features = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    output = MinibatchStd(group_size=2, feature_dims=3)(features)
    assert output.shape == (6, 3, 3, 3)
    assert torch.equal(output[:, :2], features)
    expected = expected_statistic(features.numpy(), 2)
    np.testing.assert_allclose(
        output[:, 2].numpy(), np.broadcast_to(expected[:, None, None], (6, 3, 3)), rtol=1e-12
    )


def test_a_collapsed_batch_has_no_spread():
    features = torch.ones(4, 5).double()
    output = MinibatchStd(group_size=4, feature_dims=1)(features)
    assert output[:, 5].tolist() == pytest.approx([EPSILON**0.5] * 4)


def test_a_batch_smaller_than_the_group_is_one_group():
    features = torch.randn(3, 2, dtype=torch.float64)
    output = MinibatchStd(group_size=4, feature_dims=1)(features)
    np.testing.assert_allclose(output[:, 2].numpy(), expected_statistic(features.numpy(), 3), rtol=1e-12)


def test_a_batch_not_divisible_by_the_group_size_is_a_clear_error():
    with pytest.raises(GenbenchError, match="minibatch_group"):
        MinibatchStd(group_size=4, feature_dims=1)(torch.randn(6, 2))


def test_members_statistics_are_their_own():
    layer = MinibatchStd(group_size=4, feature_dims=1)
    members = torch.randn(3, 8, 5, dtype=torch.float64)
    together = layer(members)
    for member in range(3):
        assert torch.equal(together[member], layer(members[member]))


def test_under_vmap_each_member_gets_what_it_gets_alone():
    layer = MinibatchStd(group_size=2, feature_dims=3)
    members = torch.randn(2, 4, 3, 4, 4)
    vmapped = torch.func.vmap(layer)(members)
    for member in range(2):
        torch.testing.assert_close(vmapped[member], layer(members[member]))


def mlp_gan(**params):
    return built(MODELS, "mlp_gan", (2,), **params)


def linear_layers(network: nn.Module) -> list[nn.Linear]:
    return [module for module in network.modules() if isinstance(module, nn.Linear)]


def test_mlp_gan_puts_it_before_the_discriminators_last_layer():
    discriminator = mlp_gan(hidden=16, depth=2, minibatch_std=True, minibatch_group=2).discriminator
    *_, statistic, last = discriminator.network
    assert isinstance(statistic, MinibatchStd) and statistic.group_size == 2
    assert (last.in_features, last.out_features) == (17, 1)
    assert discriminator(torch.randn(8, 2)).shape == (8,)


def test_mlp_gan_has_no_minibatch_std_unless_asked():
    discriminator = mlp_gan(hidden=16, depth=2).discriminator
    assert not any(isinstance(module, MinibatchStd) for module in discriminator.modules())
    assert linear_layers(discriminator)[-1].in_features == 16


def test_under_packing_the_groups_are_of_packs():
    discriminator = mlp_gan(hidden=16, depth=2, pack=2, minibatch_std=True, minibatch_group=4).discriminator
    assert discriminator(torch.randn(16, 2)).shape == (8,)  # 8 packs, 2 groups of 4
    with pytest.raises(GenbenchError, match="packs under PacGAN"):
        discriminator(torch.randn(12, 2))  # 6 packs


def test_mlp_gan_with_minibatch_std_still_stacks_and_members_never_mix():
    torch.manual_seed(0)
    discriminators = [mlp_gan(hidden=8, depth=1, minibatch_std=True).discriminator for _ in range(2)]
    stacked = stack_members(discriminators)
    assert isinstance(stacked, StackedMembers)
    samples = torch.randn(2, 8, 2)
    together = stacked(samples)
    for member, discriminator in enumerate(discriminators):
        torch.testing.assert_close(together[member], discriminator(samples[member]))


def dcgan(**params):
    return built(MODELS, "dcgan", (1, 16, 16), latent_dim=8, base_channels=8, **params)


def test_dcgan_puts_it_before_the_discriminators_last_convolution():
    torch.manual_seed(0)
    discriminator = dcgan(minibatch_std=True).discriminator
    convolutions = [module for module in discriminator.modules() if isinstance(module, nn.Conv2d)]
    statistics = [module for module in discriminator.modules() if isinstance(module, MinibatchStd)]
    assert [module.feature_dims for module in statistics] == [3]
    assert convolutions[-1].in_channels == convolutions[-2].out_channels + 1
    assert discriminator(torch.randn(8, 1, 16, 16)).shape == (8,)


def test_dcgan_with_minibatch_std_is_vmapped_and_members_never_mix():
    torch.manual_seed(0)
    discriminators = [dcgan(minibatch_std=True, discriminator_norm="none").discriminator for _ in range(2)]
    stacked = stack_members(discriminators)
    assert isinstance(stacked, VmappedMembers)
    images = torch.randn(2, 4, 1, 16, 16)
    together = stacked(images)
    for member, discriminator in enumerate(discriminators):
        torch.testing.assert_close(together[member], discriminator(images[member]))


def test_the_discriminator_can_be_sized_apart_from_the_generator():
    parts = mlp_gan(hidden=400, depth=4, discriminator_hidden=200, discriminator_depth=3)
    generator_layers, discriminator_layers = (
        linear_layers(parts.generator),
        linear_layers(parts.discriminator),
    )
    assert [layer.out_features for layer in generator_layers] == [400] * 4 + [2]
    assert [layer.out_features for layer in discriminator_layers] == [200] * 3 + [1]


def test_the_discriminator_size_defaults_to_the_generators():
    parts = mlp_gan(hidden=12, depth=2)
    assert [layer.out_features for layer in linear_layers(parts.discriminator)] == [12, 12, 1]
    assert MlpGanParams(hidden=12, depth=2).discriminator_size == (12, 2)


def test_the_memory_estimate_counts_the_discriminators_own_size():
    params = MlpGanParams(hidden=400, depth=4, discriminator_hidden=200, discriminator_depth=3, pack=2)
    assert params.activations_per_sample((2,)) == 400 * 4 + 200 * 3 // 2


PINNED = {
    # trial ids computed before the minibatch-std and discriminator-size settings existed
    "2bf44d1a8a81": """
        name: pinned
        dataset: {name: ring8}
        model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2, pack: 2}}
        loss: ns
        optimizer: {name: adam, lr: 1.0e-3}
        train: {steps: 40, batch_size: 32, eval_every: 20, eval_samples: 256}
        metrics: [modes]
        """,
    "a698e29bab91": """
        name: pinned
        dataset: {name: digits, params: {size: 16}}
        model: {name: dcgan, params: {latent_dim: 8, base_channels: 8}}
        loss: hinge
        optimizer: {name: adam, lr: 2.0e-4}
        train: {steps: 4, batch_size: 8, eval_every: 0, eval_samples: 64}
        metrics: [modes]
        """,
}


@pytest.mark.parametrize("trial_id", list(PINNED))
def test_trials_that_do_not_set_the_new_settings_keep_their_ids(write_suite, trial_id):
    assert load_suite(write_suite(textwrap.dedent(PINNED[trial_id]))).trials[0].id == trial_id


@pytest.mark.parametrize("trial_id", list(PINNED))
def test_setting_the_new_settings_to_their_defaults_keeps_the_id(write_suite, trial_id):
    text = textwrap.dedent(PINNED[trial_id]).replace(
        "latent_dim:", "minibatch_std: false, minibatch_group: 4, latent_dim:"
    )
    assert load_suite(write_suite(text)).trials[0].id == trial_id


@pytest.mark.parametrize(
    "setting",
    ["minibatch_std: true", "discriminator_hidden: 8", "discriminator_depth: 1", "discriminator_hidden: 16"],
)
def test_setting_a_new_setting_changes_the_id(write_suite, setting):
    text = textwrap.dedent(PINNED["2bf44d1a8a81"]).replace("latent_dim:", f"{setting}, latent_dim:")
    spec = load_suite(write_suite(text)).trials[0]
    assert spec.id != "2bf44d1a8a81"


def test_a_minibatch_group_that_is_set_is_recorded(write_suite):
    text = textwrap.dedent(PINNED["2bf44d1a8a81"]).replace(
        "latent_dim:", "minibatch_std: true, minibatch_group: 2, latent_dim:"
    )
    params = load_suite(write_suite(text)).trials[0].spec.model.params
    assert (params["minibatch_std"], params["minibatch_group"]) == (True, 2)


ENSEMBLE_SUITES = {
    "mlp_gan": """
        name: together
        dataset: {name: ring8}
        model: {name: mlp_gan, params: {latent_dim: 2, hidden: 16, depth: 2, minibatch_std: true}}
        loss: ns
        optimizer: {name: adam, lr: 1.0e-3}
        train: {steps: 20, batch_size: 32, eval_every: 10, eval_samples: 256}
        metrics: [modes]
        grid: {seed: [0, 1, 2]}
        """,
    "dcgan": """
        name: together
        dataset: {name: digits, params: {size: 16}}
        model:
          name: dcgan
          params: {latent_dim: 8, base_channels: 4, minibatch_std: true, minibatch_group: 2}
        loss: ns
        optimizer: {name: adam, lr: 1.0e-3}
        train: {steps: 4, batch_size: 8, eval_every: 2, eval_samples: 64}
        metrics: [prdc]
        grid: {seed: [0, 1]}
        """,
}


@pytest.mark.parametrize("model", list(ENSEMBLE_SUITES))
def test_members_with_minibatch_std_keep_the_weights_of_their_trials_alone(write_suite, model):
    assert_same_as_alone(load_suite(write_suite(textwrap.dedent(ENSEMBLE_SUITES[model]))).trials)
