"""Names of every result key, declared once.

Callers never spell a metric name twice: they import the constant. What each metric key means and
the direction in which it is better are declared with the metric's entry in ``genbench.catalog``,
which derives ``HIGHER_IS_BETTER`` from them. Torch-free.
"""

KEY_HQ_FRACTION = "hq_fraction"
KEY_MODES_COVERED = "modes_covered"
KEY_MODE_KL = "mode_kl"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_DENSITY = "density"
KEY_COVERAGE = "coverage"

# GAN training signals (curves)
KEY_GENERATOR_LOSS = "generator_loss"
KEY_DISCRIMINATOR_LOSS = "discriminator_loss"
KEY_GENERATOR_GRAD_NORM = "generator_grad_norm"
KEY_DISCRIMINATOR_GRAD_NORM = "discriminator_grad_norm"
KEY_D_INPUT_GRAD_NORM_REAL = "d_input_grad_norm_real"
KEY_D_INPUT_GRAD_NORM_FAKE = "d_input_grad_norm_fake"

# a trial's timings (record.timings)
KEY_TRAIN_SECONDS = "train_seconds"
KEY_EVAL_SECONDS = "eval_seconds"
KEY_SAMPLES_PER_SECOND = "samples_per_second"
KEY_PEAK_MEMORY_MB = "peak_memory_mb"
KEY_WARMUP_STEPS = "warmup_steps"

# VAE training signals, per example in nats: vae_loss = reconstruction + kl (the negative ELBO),
# beta = the KL weight the objective applied (warm-up, beta-VAE)
KEY_VAE_LOSS = "vae_loss"
KEY_RECONSTRUCTION = "reconstruction"
KEY_KL = "kl"
KEY_BETA = "beta"
KEY_VAE_GRAD_NORM = "vae_grad_norm"

# VAE metrics on held-out data, per example in nats
KEY_HELDOUT_ELBO = "heldout_elbo"
KEY_IWAE_LOG_LIKELIHOOD = "iwae_log_likelihood"
KEY_HELDOUT_RECONSTRUCTION = "heldout_reconstruction"
KEY_HELDOUT_KL = "heldout_kl"
KEY_ACTIVE_UNITS = "active_units"

# image metrics (genbench.metrics.fidelity, genbench.metrics.stacked_modes)
KEY_FID = "fid"
KEY_ISC_MEAN = "isc_mean"
KEY_ISC_STD = "isc_std"
KEY_KID_MEAN = "kid_mean"
KEY_KID_STD = "kid_std"
#: mode counting of real held-out stacks through the same classifier: what a perfect generator scores
KEY_ORACLE_MODES_COVERED = "oracle_modes_covered"
KEY_ORACLE_MODE_KL = "oracle_mode_kl"

# the Dirac-GAN's state (genbench.models.dirac), read from its networks at every evaluation
KEY_THETA = "theta"
KEY_PSI = "psi"
KEY_EQUILIBRIUM_DISTANCE = "equilibrium_distance"
