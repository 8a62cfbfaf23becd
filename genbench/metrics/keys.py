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
