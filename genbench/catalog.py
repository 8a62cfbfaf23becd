"""The built-in registry entries, declared by name without importing them.

Everything a suite can name is listed here with a one-line description, the lazily imported
target and its parameter model. ``genbench list`` and ``genbench validate`` read only this module
and the torch-free parameter models, so they answer without importing torch.

Interfaces of the targets (what a user's ``package.module:factory`` must follow too):
- dataset: ``factory(**params)`` -> an object with ``sample(n, generator)``, ``shape``, ``mode_centres``
- model: ``factory(data_shape, **params)`` -> ``genbench.models.parts.GanParts``
- loss: ``factory(**params)`` -> a ``genbench.losses.gan.GanLoss``
- penalty: ``factory(**params)`` -> a callable ``(discriminator, real, fake) -> penalty``
- metric: ``factory(**params)`` -> a ``genbench.metrics.base.Metric``
"""

from genbench.registry import Registry

DATASETS = Registry("dataset", allows_user_code=True)
MODELS = Registry("model", allows_user_code=True)
LOSSES = Registry("loss", allows_user_code=True)
PENALTIES = Registry("penalty", allows_user_code=True)
OPTIMIZERS = Registry("optimizer")
METRICS = Registry("metric")

REGISTRIES = {
    "datasets": DATASETS,
    "models": MODELS,
    "losses": LOSSES,
    "penalties": PENALTIES,
    "optimizers": OPTIMIZERS,
    "metrics": METRICS,
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
    params="genbench.data.params:DigitsParams",
)

MODELS.register(
    "mlp_gan",
    "genbench.models.mlp:build_mlp_gan",
    "MLP generator and discriminator for vector data; 'pack' applies PacGAN (Lin et al. 2018)",
    params="genbench.models.params:MlpGanParams",
    family="gan",
)
MODELS.register(
    "pretrained",
    "genbench.models.pretrained:load_pretrained",
    "a saved generator (torch.export, TorchScript, or state dict + factory), evaluated untrained",
    params="genbench.models.params:PretrainedParams",
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
    "Wasserstein loss with gradient penalty on interpolates (Gulrajani et al. 2017)",
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

PENALTIES.register(
    "r1",
    "genbench.losses.penalties:R1Penalty",
    "R1 penalty gamma/2 E||grad D(real)||^2, usable with any loss (Mescheder et al. 2018)",
    params="genbench.losses.params:R1Params",
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

METRICS.register(
    "modes",
    "genbench.metrics.modes:ModeMetric",
    "hq_fraction, modes_covered, mode_kl against known mode centres (VEEGAN, PacGAN protocol)",
    params="genbench.metrics.params:ModesParams",
)
METRICS.register(
    "prdc",
    "genbench.metrics.prdc:PrdcMetric",
    "precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020)",
    params="genbench.metrics.params:PrdcParams",
)
