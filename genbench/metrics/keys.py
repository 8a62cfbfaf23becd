"""Names of every result key and the direction in which it is better, declared once.

Callers never spell a metric name twice: they import the constant. ``HIGHER_IS_BETTER`` is read by
reports and baselines to know whether a change is a gain or a loss. Torch-free.
"""

KEY_HQ_FRACTION = "hq_fraction"
KEY_MODES_COVERED = "modes_covered"
KEY_MODE_KL = "mode_kl"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_DENSITY = "density"
KEY_COVERAGE = "coverage"

KEY_GENERATOR_LOSS = "generator_loss"
KEY_DISCRIMINATOR_LOSS = "discriminator_loss"
KEY_GENERATOR_GRAD_NORM = "generator_grad_norm"
KEY_DISCRIMINATOR_GRAD_NORM = "discriminator_grad_norm"
KEY_D_INPUT_GRAD_NORM_REAL = "d_input_grad_norm_real"
KEY_D_INPUT_GRAD_NORM_FAKE = "d_input_grad_norm_fake"

KEY_TRAIN_SECONDS = "train_seconds"
KEY_EVAL_SECONDS = "eval_seconds"
KEY_SAMPLES_PER_SECOND = "samples_per_second"
KEY_PEAK_MEMORY_MB = "peak_memory_mb"

HIGHER_IS_BETTER: dict[str, bool] = {
    KEY_HQ_FRACTION: True,
    KEY_MODES_COVERED: True,
    KEY_MODE_KL: False,
    KEY_PRECISION: True,
    KEY_RECALL: True,
    KEY_DENSITY: True,
    KEY_COVERAGE: True,
    KEY_SAMPLES_PER_SECOND: True,
    KEY_TRAIN_SECONDS: False,
    KEY_EVAL_SECONDS: False,
    KEY_PEAK_MEMORY_MB: False,
}

STABILITY_KEYS = (
    KEY_GENERATOR_LOSS,
    KEY_DISCRIMINATOR_LOSS,
    KEY_GENERATOR_GRAD_NORM,
    KEY_DISCRIMINATOR_GRAD_NORM,
    KEY_D_INPUT_GRAD_NORM_REAL,
    KEY_D_INPUT_GRAD_NORM_FAKE,
)

# VAE training signals, per example in nats: vae_loss = reconstruction + kl (the negative ELBO),
# beta = the KL weight the objective applied (warm-up, beta-VAE)
KEY_VAE_LOSS = "vae_loss"
KEY_RECONSTRUCTION = "reconstruction"
KEY_KL = "kl"
KEY_BETA = "beta"
KEY_VAE_GRAD_NORM = "vae_grad_norm"

# VAE metrics on held-out data, per example in nats; heldout_kl has no better direction (a KL
# near 0 is a collapsed posterior, not a good model), so it is not in HIGHER_IS_BETTER
KEY_HELDOUT_ELBO = "heldout_elbo"
KEY_IWAE_LOG_LIKELIHOOD = "iwae_log_likelihood"
KEY_HELDOUT_RECONSTRUCTION = "heldout_reconstruction"
KEY_HELDOUT_KL = "heldout_kl"
KEY_ACTIVE_UNITS = "active_units"

HIGHER_IS_BETTER.update(
    {
        KEY_HELDOUT_ELBO: True,
        KEY_IWAE_LOG_LIKELIHOOD: True,
        KEY_HELDOUT_RECONSTRUCTION: False,
        KEY_ACTIVE_UNITS: True,
    }
)

# image metrics (genbench.metrics.fidelity, genbench.metrics.stacked_modes)
KEY_FID = "fid"
KEY_ISC_MEAN = "isc_mean"
KEY_ISC_STD = "isc_std"
KEY_KID_MEAN = "kid_mean"
KEY_KID_STD = "kid_std"
#: mode counting of real held-out stacks through the same classifier: what a perfect generator scores
KEY_ORACLE_MODES_COVERED = "oracle_modes_covered"
KEY_ORACLE_MODE_KL = "oracle_mode_kl"

HIGHER_IS_BETTER.update(
    {
        KEY_FID: False,
        KEY_ISC_MEAN: True,
        KEY_KID_MEAN: False,
        KEY_ORACLE_MODES_COVERED: True,
        KEY_ORACLE_MODE_KL: False,
    }
)
