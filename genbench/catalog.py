"""The built-in registry entries, declared by name without importing them.

Everything a suite can name is listed here with a one-line description, the lazily imported
target and its parameter model. ``genbench list`` and ``genbench validate`` read only this module
and the torch-free parameter models, so they answer without importing torch.

Interfaces of the targets (what a user's ``package.module:factory`` must follow too):
- dataset: ``factory(**params)`` -> an object with ``sample(n, generator)``, ``shape``, ``mode_centres``
- model: ``factory(data_shape, **params)`` -> ``genbench.models.parts.GanParts`` or ``VaeParts``
- loss: ``factory(**params)`` -> a ``genbench.losses.gan.GanLoss`` or ``genbench.losses.vae.VaeObjective``
- penalty: ``factory(**params)`` -> a ``genbench.losses.penalties.DiscriminatorPenalty``:
  ``(discriminator, real, fake) -> penalty``
- metric: ``factory(**params)`` -> a ``genbench.metrics.base.Metric``, returning exactly the keys
  its entry declares in ``outputs``
- remedy: ``factory(**params)`` -> a ``genbench.remedies.base.Remedy`` (GAN training only)

A suite's trial always passes every parameter (its spec is resolved against the parameter model),
so the parameter models hold the defaults and the built-in factories state none. The one exception:
a model setting added after trials were recorded is left out of the spec while it holds its default
(``genbench.models.params.later_setting``), so those trials keep their ids; that model's factory
takes ``**params`` and resolves them through its parameter model.

Each metric declares its result keys once, in its entry: the direction in which each is better (or
that it has none), its axis label and its meaning; so does a model whose parts offer state probes
(``GanParts.probes``: the Dirac-GAN's theta and psi). ``OUTPUTS`` and ``HIGHER_IS_BETTER`` are
derived from them (and from ``TIMINGS``, the keys every trial records besides), for reports and checks.
"""

from genbench.metrics.keys import (
    KEY_ACTIVE_UNITS,
    KEY_COVERAGE,
    KEY_DENSITY,
    KEY_EQUILIBRIUM_DISTANCE,
    KEY_EVAL_SECONDS,
    KEY_FID,
    KEY_HELDOUT_ELBO,
    KEY_HELDOUT_KL,
    KEY_HELDOUT_RECONSTRUCTION,
    KEY_HQ_FRACTION,
    KEY_ISC_MEAN,
    KEY_ISC_STD,
    KEY_IWAE_LOG_LIKELIHOOD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_MODE_KL,
    KEY_MODES_COVERED,
    KEY_ORACLE_MODE_KL,
    KEY_ORACLE_MODES_COVERED,
    KEY_PEAK_MEMORY_MB,
    KEY_PRECISION,
    KEY_PSI,
    KEY_RECALL,
    KEY_SAMPLES_PER_SECOND,
    KEY_THETA,
    KEY_TRAIN_SECONDS,
    KEY_WARMUP_STEPS,
)
from genbench.registry import Direction, Output, Registry, outputs_by_key

HIGHER, LOWER, NO_DIRECTION = Direction.HIGHER, Direction.LOWER, Direction.NONE

DATASETS = Registry("dataset", allows_user_code=True)
MODELS = Registry("model", allows_user_code=True)
LOSSES = Registry("loss", allows_user_code=True)
PENALTIES = Registry("penalty", allows_user_code=True)
OPTIMIZERS = Registry("optimizer")
METRICS = Registry("metric")
REMEDIES = Registry("remedy", allows_user_code=True)

REGISTRIES = {
    "datasets": DATASETS,
    "models": MODELS,
    "losses": LOSSES,
    "penalties": PENALTIES,
    "optimizers": OPTIMIZERS,
    "metrics": METRICS,
    "remedies": REMEDIES,
}

DATASETS.register(
    "ring8",
    "genbench.data.mixtures:RingMixture",
    "2-D mixture: 8 Gaussians on a circle of radius 2, std 0.02 (modes, radius, std settable)",
    params="genbench.data.params:RingParams",
)
DATASETS.register(
    "grid25",
    "genbench.data.mixtures:GridMixture",
    "2-D mixture: 5x5 Gaussians on a grid of spacing 2, std 0.05 (side, spacing, std settable)",
    params="genbench.data.params:GridParams",
)
DATASETS.register(
    "digits",
    "genbench.data.digits:DigitsDataset",
    "scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), upsampled to size x size, offline",
    params="genbench.data.params:DigitsParams",
)
DATASETS.register(
    "stacked_digits",
    "genbench.data.digits:StackedDigitsDataset",
    "three digits stacked as R, G, B channels: 1,000 modes (Stacked MNIST protocol), offline",
    params="genbench.data.params:StackedDigitsParams",
)
DATASETS.register(
    "torchvision",
    "genbench.data.images:TorchvisionDataset",
    "any torchvision.datasets class (CIFAR10, MNIST, CelebA, ...) from a local root; no download by default",
    params="genbench.data.params:TorchvisionParams",
)
DATASETS.register(
    "image_folder",
    "genbench.data.images:ImageFolderDataset",
    "every image file under a folder, resized and centre-cropped, with a seeded hold-out split",
    params="genbench.data.params:ImageFolderParams",
)
DATASETS.register(
    "dirac",
    "genbench.data.dirac:DiracPoint",
    "a point mass at 0 in 1-D: the Dirac-GAN's data (Mescheder et al. 2018)",
    params="genbench.data.dirac_params:DiracParams",
)

MODELS.register(
    "mlp_gan",
    "genbench.models.mlp:build_mlp_gan",
    "MLP GAN for vector data; 'pack': PacGAN (Lin et al. 2018), 'minibatch_std': ProGAN (Karras et al. 2018)",
    params="genbench.models.params:MlpGanParams",
    stacks=True,
    family="gan",
)
MODELS.register(
    "pretrained",
    "genbench.models.pretrained:load_pretrained",
    "a saved generator (torch.export, TorchScript, or state dict + factory), evaluated untrained",
    params="genbench.models.params:PretrainedParams",
)

MODELS.register(
    "dcgan",
    "genbench.models.dcgan:build_dcgan",
    "DCGAN (Radford et al. 2016); D norm batch, spectral or none; 'minibatch_std' (Karras et al. 2018)",
    params="genbench.models.params:DcganParams",
    stacks=True,
    family="gan",
)
MODELS.register(
    "dirac_gan",
    "genbench.models.dirac:build_dirac_gan",
    "Dirac-GAN: G(z) = theta, D(x) = psi * x; records theta, psi, distance to (0, 0) (Mescheder et al. 2018)",
    params="genbench.models.dirac_params:DiracGanParams",
    stacks=True,
    family="gan",
    # the state probes the model's parts offer (GanParts.probes), recorded like a metric's keys
    outputs=(
        Output(
            KEY_THETA,
            NO_DIRECTION,
            "generator parameter theta",
            "The Dirac-GAN generator's one parameter: every generated sample equals theta; 0 at the "
            "equilibrium. It has no better direction on its own: its distance to 0 is what matters.",
        ),
        Output(
            KEY_PSI,
            NO_DIRECTION,
            "discriminator parameter psi",
            "The Dirac-GAN discriminator's slope, D(x) = psi * x (genbench's logits score realness, so "
            "the paper's -psi); 0 at the equilibrium. It has no better direction on its own.",
        ),
        Output(
            KEY_EQUILIBRIUM_DISTANCE,
            LOWER,
            "distance to equilibrium",
            "sqrt(theta^2 + psi^2), the Dirac-GAN's Euclidean distance to its unique equilibrium (0, 0) "
            "(Mescheder et al. 2018): tends to 0 where training converges, stays away where it circles.",
        ),
    ),
)
MODELS.register(
    "vae_mlp",
    "genbench.models.vae:build_vae_mlp",
    "VAE with MLP encoder and decoder, Bernoulli or Gaussian likelihood (Kingma & Welling 2014)",
    params="genbench.models.params:VaeMlpParams",
    stacks=True,
    family="vae",
)
MODELS.register(
    "vae_conv",
    "genbench.models.vae:build_vae_conv",
    "VAE with DCGAN-shaped conv encoder and decoder, Bernoulli or Gaussian likelihood",
    params="genbench.models.params:VaeConvParams",
    stacks=True,
    family="vae",
)

LOSSES.register(
    "ns",
    "genbench.losses.gan:NonSaturatingLoss",
    "non-saturating GAN loss: G maximises log D(G(z)) (Goodfellow et al. 2014)",
    params="genbench.losses.params:NoParams",
    family="gan",
)
LOSSES.register(
    "minimax",
    "genbench.losses.gan:MinimaxLoss",
    "original saturating minimax loss: G minimises log(1 - D(G(z))) (Goodfellow et al. 2014)",
    params="genbench.losses.params:NoParams",
    family="gan",
)
LOSSES.register(
    "wgan",
    "genbench.losses.gan:WassersteinClipLoss",
    "Wasserstein loss with critic weight clipping (Arjovsky et al. 2017)",
    params="genbench.losses.params:WganParams",
    family="gan",
)
LOSSES.register(
    "wgan-gp",
    "genbench.losses.gan:WassersteinGradientPenaltyLoss",
    "Wasserstein loss with the gradient penalty 'gp' weighted by gp_weight (Gulrajani et al. 2017)",
    params="genbench.losses.params:WganGpParams",
    family="gan",
)
LOSSES.register(
    "hinge",
    "genbench.losses.gan:HingeLoss",
    "hinge loss (Lim & Ye 2017; Miyato et al. 2018)",
    params="genbench.losses.params:NoParams",
    family="gan",
)
LOSSES.register(
    "lsgan",
    "genbench.losses.gan:LeastSquaresLoss",
    "least-squares loss with targets 0/1 (Mao et al. 2017)",
    params="genbench.losses.params:NoParams",
    family="gan",
)
LOSSES.register(
    "ragan",
    "genbench.losses.gan:RelativisticAverageLoss",
    "relativistic average GAN (RaSGAN): real vs. the average fake and back (Jolicoeur-Martineau 2019)",
    params="genbench.losses.params:NoParams",
    family="gan",
)
LOSSES.register(
    "rpgan",
    "genbench.losses.gan:RelativisticPairingLoss",
    "relativistic pairing GAN with R1 and R2 of weight gamma (Huang et al. 2024, R3GAN)",
    params="genbench.losses.params:RpGanParams",
    family="gan",
)

LOSSES.register(
    "elbo",
    "genbench.losses.vae:Elbo",
    "negative ELBO (Kingma & Welling 2014) with optional KL warm-up (Bowman et al. 2016)",
    params="genbench.losses.params:ElboParams",
    family="vae",
)
LOSSES.register(
    "beta_vae",
    "genbench.losses.vae:BetaVae",
    "beta-VAE: KL weighted by beta (Higgins et al. 2017), optional KL warm-up (Sønderby et al. 2016)",
    params="genbench.losses.params:BetaVaeParams",
    family="vae",
)

PENALTIES.register(
    "r1",
    "genbench.losses.penalties:R1Penalty",
    "R1 penalty gamma/2 E||grad D(real)||^2, usable with any loss (Mescheder et al. 2018)",
    params="genbench.losses.params:R1Params",
)
PENALTIES.register(
    "r2",
    "genbench.losses.penalties:R2Penalty",
    "R2 penalty gamma/2 E||grad D(fake)||^2, usable with any loss (Mescheder et al. 2018)",
    params="genbench.losses.params:R2Params",
)
PENALTIES.register(
    "gp",
    "genbench.losses.penalties:GradientPenalty",
    "gradient penalty weight E(||grad D(x_hat)|| - 1)^2 on real-fake interpolates (Gulrajani et al. 2017)",
    params="genbench.losses.params:GradientPenaltyParams",
)

REMEDIES.register(
    "ema",
    "genbench.remedies.ema:GeneratorAverage",
    "evaluate, sample and checkpoint an exponential moving average of G's weights (Yazici et al. 2019)",
    params="genbench.remedies.params:EmaParams",
)
REMEDIES.register(
    "unrolled",
    "genbench.remedies.unrolled:UnrolledDiscriminator",
    "G's update sees D after k look-ahead updates, then D is restored; first order (Metz et al. 2017)",
    params="genbench.remedies.params:UnrolledParams",
)
REMEDIES.register(
    "spectral_norm",
    "genbench.remedies.spectral_norm:SpectralNorm",
    "spectral normalisation of every Linear and conv weight of any discriminator (Miyato et al. 2018)",
    params="genbench.remedies.params:SpectralNormParams",
)
REMEDIES.register(
    "instance_noise",
    "genbench.remedies.instance_noise:InstanceNoise",
    "Gaussian noise on every input of D, real and fake, std annealed linearly to 0 (Sønderby et al. 2017)",
    params="genbench.remedies.params:InstanceNoiseParams",
)
REMEDIES.register(
    "diffaugment",
    "genbench.remedies.diffaugment:DiffAugment",
    "differentiable color/translation/cutout of every real and fake image D sees (Zhao et al. 2020)",
    params="genbench.remedies.params:DiffAugmentParams",
)

OPTIMIZERS.register("adam", "torch.optim:Adam", "Adam (Kingma & Ba 2015)", params="genbench.optim:AdamParams")
OPTIMIZERS.register(
    "adamw",
    "torch.optim:AdamW",
    "AdamW, decoupled weight decay (Loshchilov & Hutter 2019)",
    params="genbench.optim:AdamWParams",
)
OPTIMIZERS.register(
    "rmsprop",
    "torch.optim:RMSprop",
    "RMSprop (Tieleman & Hinton 2012)",
    params="genbench.optim:RmspropParams",
)
OPTIMIZERS.register(
    "sgd", "torch.optim:SGD", "SGD with (Nesterov) momentum", params="genbench.optim:SgdParams"
)

# result keys that two metrics write (the 2-D and the stacked-digits mode count; PRDC on raw samples
# and on features), declared once and named by both entries
MODES_COVERED = Output(
    KEY_MODES_COVERED,
    HIGHER,
    "modes covered (count)",
    "True modes on which at least min_count samples fall: high-quality samples of a 2-D mixture "
    "(Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN), classified stacks of stacked digits "
    "(Metz et al. 2017).",
)
MODE_KL = Output(
    KEY_MODE_KL,
    LOWER,
    "mode KL to uniform (nats)",
    "KL divergence (nats) from the histogram of samples over the true modes to the uniform one, "
    "log K - H: 0 when every mode gets an equal share (on 2-D mixtures, of the high-quality samples).",
)
PRDC_OUTPUTS = (
    Output(
        KEY_PRECISION,
        HIGHER,
        "precision (fraction)",
        "Improved precision (Kynkäänniemi et al. 2019): the share of generated samples inside the real "
        "data's k-nearest-neighbour manifold.",
    ),
    Output(
        KEY_RECALL,
        HIGHER,
        "recall (fraction)",
        "Improved recall (Kynkäänniemi et al. 2019): the share of real samples inside the generated "
        "samples' k-nearest-neighbour manifold.",
    ),
    Output(
        KEY_DENSITY,
        HIGHER,
        "density (ratio)",
        "Naeem et al. 2020: how many real neighbourhoods contain each generated sample, over k (1 on "
        "average when the distributions match; above 1 when samples crowd where the data is dense).",
    ),
    Output(
        KEY_COVERAGE,
        HIGHER,
        "coverage (fraction)",
        "Naeem et al. 2020: the share of real neighbourhoods (k-nearest-neighbour balls) that contain a "
        "generated sample.",
    ),
)

METRICS.register(
    "modes",
    "genbench.metrics.modes:ModeMetric",
    "hq_fraction, modes_covered, mode_kl against known mode centres (VEEGAN, PacGAN protocol)",
    params="genbench.metrics.params:ModesParams",
    outputs=(
        Output(
            KEY_HQ_FRACTION,
            HIGHER,
            "high-quality samples (fraction)",
            "Share of generated samples within quality_radius standard deviations of their nearest "
            "true mode (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).",
        ),
        MODES_COVERED,
        MODE_KL,
    ),
)
METRICS.register(
    "prdc",
    "genbench.metrics.prdc:PrdcMetric",
    "precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020)",
    params="genbench.metrics.params:PrdcParams",
    outputs=PRDC_OUTPUTS,
)
METRICS.register(
    "fid",
    "genbench.metrics.fidelity:FrechetInceptionDistance",
    "Frechet distance of feature Gaussians (Heusel et al. 2017) by torch-fidelity; extractor settable",
    params="genbench.metrics.params:FeatureSpaceParams",
    outputs=(
        Output(
            KEY_FID,
            LOWER,
            "FID (squared feature distance)",
            "Fréchet distance between Gaussians fitted to the features of generated and real samples "
            "(Heusel et al. 2017); biased upwards at small sample counts, so comparable only at equal ones.",
        ),
    ),
)
METRICS.register(
    "isc",
    "genbench.metrics.fidelity:InceptionScore",
    "inception score mean/std (Salimans et al. 2016) by torch-fidelity, on the extractor's logits",
    params="genbench.metrics.params:IscParams",
    outputs=(
        Output(
            KEY_ISC_MEAN,
            HIGHER,
            "inception score (effective classes)",
            "Inception score exp E KL(p(y|x) || p(y)) of the generated samples' class predictions, mean "
            "over splits (Salimans et al. 2016); at most the extractor's number of classes.",
        ),
        Output(
            KEY_ISC_STD,
            NO_DIRECTION,
            "inception score std over splits",
            "Standard deviation of the inception score over its splits: a spread of the estimate, not a "
            "quality of the samples, so it has no better direction.",
        ),
    ),
)
METRICS.register(
    "kid",
    "genbench.metrics.fidelity:KernelInceptionDistance",
    "kernel inception distance mean/std (Binkowski et al. 2018) by torch-fidelity",
    params="genbench.metrics.params:KidParams",
    outputs=(
        Output(
            KEY_KID_MEAN,
            LOWER,
            "KID (squared MMD)",
            "Kernel inception distance: unbiased squared MMD with a cubic polynomial kernel between the "
            "features of generated and real samples, mean over random subsets (Binkowski et al. 2018).",
        ),
        Output(
            KEY_KID_STD,
            NO_DIRECTION,
            "KID std over subsets",
            "Standard deviation of KID over its subsets: a spread of the estimate, not a quality of the "
            "samples, so it has no better direction.",
        ),
    ),
)
METRICS.register(
    "prc",
    "genbench.metrics.fidelity:PrecisionRecall",
    "precision/recall (Kynkaanniemi et al. 2019) by torch-fidelity, density/coverage on the same features",
    params="genbench.metrics.params:PrcParams",
    outputs=PRDC_OUTPUTS,
)
METRICS.register(
    "stacked_modes",
    "genbench.metrics.stacked_modes:StackedModesMetric",
    "modes_covered (of 1,000), mode_kl on stacked digits and the real-data oracle (Metz et al. 2017)",
    params="genbench.metrics.params:StackedModesParams",
    outputs=(
        MODES_COVERED,
        MODE_KL,
        Output(
            KEY_ORACLE_MODES_COVERED,
            HIGHER,
            "oracle modes covered (count)",
            "modes_covered of as many real held-out stacks through the same classifier: what a perfect "
            "generator scores at this sample count (near 1,000: the count can be trusted).",
        ),
        Output(
            KEY_ORACLE_MODE_KL,
            LOWER,
            "oracle mode KL to uniform (nats)",
            "mode_kl of as many real held-out stacks: the finite-sample floor a perfect generator reaches, "
            "about (K - 1) / (2N).",
        ),
    ),
)
METRICS.register(
    "vae",
    "genbench.metrics.vae:VaeMetric",
    "held-out ELBO, reconstruction, KL and active units (Burda et al. 2016) of a VAE",
    params="genbench.metrics.params:VaeMetricParams",
    outputs=(
        Output(
            KEY_HELDOUT_ELBO,
            HIGHER,
            "held-out ELBO (nats per example)",
            "Evidence lower bound -(reconstruction + KL) on held-out data, one posterior draw per example "
            "and the closed-form KL (Kingma & Welling 2014).",
        ),
        Output(
            KEY_HELDOUT_RECONSTRUCTION,
            LOWER,
            "held-out reconstruction (nats per example)",
            "Negative log-likelihood of held-out data under the decoder, one posterior draw per example.",
        ),
        Output(
            KEY_HELDOUT_KL,
            NO_DIRECTION,
            "held-out KL (nats per example)",
            "KL divergence from the posterior q(z|x) to the prior on held-out data; no better direction: "
            "a KL near 0 is a collapsed posterior, not a good model.",
        ),
        Output(
            KEY_ACTIVE_UNITS,
            HIGHER,
            "active latent units (count)",
            "Latents whose posterior mean varies across held-out examples by more than active_threshold "
            "(Burda et al. 2016); 0 when the posterior has collapsed onto the prior.",
        ),
    ),
)
METRICS.register(
    "iwae",
    "genbench.metrics.vae:ImportanceWeightedLikelihood",
    "held-out log-likelihood estimated by the k-sample IWAE bound (Burda et al. 2016)",
    params="genbench.metrics.params:IwaeParams",
    outputs=(
        Output(
            KEY_IWAE_LOG_LIKELIHOOD,
            HIGHER,
            "IWAE log-likelihood (nats per example)",
            "Held-out log-likelihood estimated by the k-sample importance-weighted bound (Burda et al. "
            "2016): at least the ELBO, tending to log p(x) as k grows.",
        ),
    ),
)

#: what every trial records besides its metrics' values (``TrialRecord.timings``)
TIMINGS = (
    Output(
        KEY_TRAIN_SECONDS, LOWER, "training time (s)", "Wall-clock seconds of training, evaluations excluded."
    ),
    Output(KEY_EVAL_SECONDS, LOWER, "evaluation time (s)", "Wall-clock seconds of all evaluations."),
    Output(
        KEY_SAMPLES_PER_SECOND,
        HIGHER,
        "throughput (samples/s)",
        "Real samples the trial consumed per second of training after its warm-up steps (a GAN's "
        "discriminator reads a batch per d_step); trials trained as one ensemble each report their own "
        "samples per second of the ensemble's time.",
    ),
    Output(
        KEY_WARMUP_STEPS,
        NO_DIRECTION,
        "warm-up steps",
        "Steps before throughput was timed (allocator warm-up, torch.compile), excluded from samples/s; "
        "no better direction: a setting of the measurement, not a result.",
    ),
    Output(
        KEY_PEAK_MEMORY_MB,
        LOWER,
        "peak memory (MiB)",
        "Peak memory of the trial: on CUDA of the tensors allocated, on the CPU the process's resident set.",
    ),
)

#: every key a trial records, its metrics', its model's state probes' and its timings, by key
OUTPUTS: dict[str, Output] = outputs_by_key(
    [*METRICS.outputs().values(), *MODELS.outputs().values(), *TIMINGS]
)
#: the direction in which each key that has one is better, read by reports and regression checks
HIGHER_IS_BETTER: dict[str, bool] = {
    key: output.direction is HIGHER for key, output in OUTPUTS.items() if output.direction is not NO_DIRECTION
}
