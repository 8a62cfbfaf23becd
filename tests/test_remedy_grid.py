"""Every remedy composes with every GAN loss on both GAN architectures: a grid of remedies x losses
x {MLP, DCGAN} (each with and without minibatch std) trains a few steps and evaluates finite
metrics. A remedy that breaks with one loss (a penalty's double backward under unrolling, spectral
norm on a packed or convolutional critic, augmentation with a relativistic loss) fails here."""

from __future__ import annotations

import json
import math

import pytest

from genbench.catalog import LOSSES, REMEDIES

from .conftest import run_dir_of

GAN_LOSSES = [name for name in LOSSES.names() if LOSSES.get(name).family == "gan"]

REMEDY_GRID = """
name: remedy_grid
dataset: {{name: digits, params: {{size: 16}}}}
model: {{name: dcgan, params: {{latent_dim: 8, base_channels: 4}}}}
loss: {loss}
optimizer: {{name: adam, lr: 1.0e-3, betas: [0.5, 0.9]}}
train: {{steps: 2, batch_size: 8, d_steps: 2, eval_every: 0, eval_samples: 32}}
metrics: [prdc]
grid:
  model:
    - {{name: dcgan, params: {{latent_dim: 8, base_channels: 4}}}}
    - {{name: dcgan, params: {{latent_dim: 8, base_channels: 4, minibatch_std: true}}}}
    - {{name: mlp_gan, params: {{latent_dim: 8, hidden: 16, depth: 2}}}}
    - {{name: mlp_gan, params: {{latent_dim: 8, hidden: 16, depth: 2, minibatch_std: true, pack: 2}}}}
  remedies:
    - []
    - [{{name: ema, params: {{decay: 0.9}}}}]
    - [{{name: unrolled, params: {{steps: 2}}}}]
    - [spectral_norm]
    - [{{name: instance_noise, params: {{std: 0.1, anneal_steps: 2}}}}]
    - [diffaugment]
    - [ema, spectral_norm, instance_noise, diffaugment, {{name: unrolled, params: {{steps: 1}}}}]
"""


def test_the_grid_names_every_gan_loss_and_every_remedy():
    assert set(GAN_LOSSES) == {"ns", "minimax", "wgan", "wgan-gp", "hinge", "lsgan", "ragan", "rpgan"}
    written = REMEDY_GRID.replace("{", " ").replace("]", " ").replace(",", " ").split()
    assert set(REMEDIES.names()) <= set(written)


@pytest.mark.parametrize("loss", GAN_LOSSES)
def test_every_remedy_trains_with_the_loss_on_mlp_and_dcgan(write_suite, tmp_path, loss):
    suite = write_suite(REMEDY_GRID.format(loss=loss))
    run = run_dir_of(suite, tmp_path / "run", workers=1, quiet=True, ensemble="off")
    records = [json.loads(path.read_text()) for path in sorted((run / "trials").glob("*/record.json"))]
    assert len(records) == 4 * 7
    for record in records:
        spec = record["spec"]
        where = f"{spec['model']['params']} with remedies {[r['name'] for r in spec.get('remedies', [])]}"
        assert record["status"] == "finished", f"{where}: {record.get('error')}"
        assert record["metrics"] and all(math.isfinite(value) for value in record["metrics"].values()), where
