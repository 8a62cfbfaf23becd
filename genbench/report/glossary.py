"""What every number and axis in a report means: axis labels with units, and the glossary's terms.

Defined once so the tables, the figures and the glossary cannot drift apart: a metric's label,
direction and meaning come from its declaration in ``genbench.catalog``; the training signals' labels
and the report's own terms are here. Each definition says how the number is computed from the stored
results and names the paper it comes from. Torch-free.
"""

from __future__ import annotations

from genbench.catalog import OUTPUTS
from genbench.metrics import keys

#: axis label of each training signal (curves, not final values), with its unit
SIGNAL_LABELS: dict[str, str] = {
    keys.KEY_GENERATOR_LOSS: "generator loss",
    keys.KEY_DISCRIMINATOR_LOSS: "discriminator loss",
    keys.KEY_GENERATOR_GRAD_NORM: "generator gradient norm",
    keys.KEY_DISCRIMINATOR_GRAD_NORM: "discriminator gradient norm",
    keys.KEY_D_INPUT_GRAD_NORM_REAL: "||grad_x D(x)||, real samples",
    keys.KEY_D_INPUT_GRAD_NORM_FAKE: "||grad_x D(x)||, generated samples",
}

STEP_LABEL = "generator step"


def metric_label(metric: str) -> str:
    declared = OUTPUTS.get(metric)
    return declared.label if declared else SIGNAL_LABELS.get(metric, metric)


def direction(metric: str) -> str:
    declared = OUTPUTS.get(metric)
    return declared.direction.value if declared else "no declared direction"


def terms(metrics: list[str]) -> tuple[tuple[str, str], ...]:
    """The report's terms, then the meaning of each of ``metrics`` that is declared."""
    return (*TERMS, *((metric, OUTPUTS[metric].meaning) for metric in metrics if metric in OUTPUTS))


#: (term, definition) in the order a reader meets them in the report
TERMS: tuple[tuple[str, str], ...] = (
    (
        "group, seed",
        "A group is one point of the suite's grid with the seed left out (or the keys given by "
        "--group-by); its seeds are independent repetitions of the same training, so their spread is "
        "the noise against which groups are compared.",
    ),
    (
        "n",
        "Seeds of the group whose trial finished. Diverged and failed trials have no final metric "
        "and are counted in the outcome table instead.",
    ),
    ("mean ± std", "Mean over the finished seeds and their sample standard deviation (ddof = 1)."),
    (
        "IQM",
        "Interquartile mean: the mean of the middle 50% of the seeds' values (25% cut at each end), "
        "robust to one outlying seed yet less noisy than the median (Agarwal et al. 2021, 'Deep RL at "
        "the Edge of the Statistical Precipice'). With fewer than 4 seeds nothing is cut.",
    ),
    (
        "CI",
        "Confidence interval of the mean at the report's confidence level: percentile bootstrap "
        "(Efron 1979) over the seeds with a fixed random seed, so it is the same every time the "
        "report is built. With 3 seeds it is wide and optimistic; read it as a rough band.",
    ),
    (
        "diverged, diverged at step",
        "Share of the trials that trained (finished or diverged) whose losses or samples stopped "
        "being finite, with a Wilson score interval (Wilson 1927); the median generator step at which "
        "that happened.",
    ),
    (
        "failed",
        "Share of the recorded trials that crashed (an exception, e.g. out of memory); their "
        "messages are listed under 'Failed and diverged trials'.",
    ),
    (
        "success rate",
        "Share of the trials that trained whose final metric met the success criterion stated in "
        "the settings; a diverged trial counts as unsuccessful. Wilson score interval.",
    ),
    (
        "first reached at step, seconds to reach",
        "First evaluation step at which the success metric met the criterion, median over the seeds "
        "that ever met it, and the training time to that step (assuming a constant time per step, "
        "evaluation excluded). A seed can meet the criterion and lose it again before the end, as a "
        "generator hopping between modes does: it then counts here but not in the success rate.",
    ),
    (
        "metric oscillation, G loss oscillation, D loss oscillation",
        "How much a curve still swings at the end of training: the mean rolling standard deviation "
        "(window of 'rolling_window' evaluations) over the last 'tail_fraction' of the evaluations. "
        "Given for the headline metric and for the generator and discriminator losses; near 0 for "
        "a run that settled, large for one that cycles. Mean over the seeds.",
    ),
    (
        "mode set changes",
        "Number of consecutive evaluations between which the set of covered modes changed. A "
        "generator that rotates through the modes instead of covering them all, as the standard GAN "
        "does in Metz et al. 2017 ('Unrolled Generative Adversarial Networks'), changes its set at "
        "every evaluation. Mean over the seeds.",
    ),
    (
        "modes dropped",
        "Total number of modes covered at one evaluation and lost at the next: mode hopping proper. "
        "A generator that is only still learning new modes changes its set without dropping any. "
        "Mean over the seeds.",
    ),
    (
        "drop from best",
        "Best value of the headline metric at any evaluation minus its final value, in the metric's "
        "better direction (0: training ended at its best). Mean over the finished seeds.",
    ),
    (
        "final std, final range",
        "Standard deviation and range (max - min) of the headline metric's final value across the "
        "group's finished seeds: how much the outcome depends on the seed.",
    ),
    (
        "G grad norm, D grad norm",
        "L2 norm of the gradient of the generator's (G) and of the discriminator's (D) parameters, "
        "averaged over the steps between evaluations: 'median' is the median over evaluations (then "
        "over seeds), 'max' the largest seen in any seed. Exploding norms precede divergence; vanishing "
        "generator norms signal a saturated discriminator (Arjovsky & Bottou 2017).",
    ),
    (
        "||grad_x D(x)||",
        "Mean norm of the discriminator's gradient with respect to its input on real and generated "
        "samples at an evaluation: a sharp discriminator (large norm) is what gradient penalties "
        "(Gulrajani et al. 2017; Mescheder et al. 2018) keep in check.",
    ),
    (
        "Mann-Whitney U, p, Holm p",
        "Two-sided Mann-Whitney U test (Mann & Whitney 1947) of a group's final values against its "
        "reference group's, with a permutation p-value (exact for small groups, else from 9,999 seeded "
        "permutations; valid with tied values); U counts "
        "the pairs of seeds in which the group's seed is better (ties count half). Holm p is the "
        "p-value after Holm's step-down correction (Holm 1979) over every test in the table; a "
        "difference is significant when Holm p < alpha. Groups are compared only with the reference "
        "that shares their metric protocol (the same dataset and evaluation set).",
    ),
    (
        "P(improvement)",
        "Probability of improvement P(X > Y) + P(X = Y)/2 = U / (n_x n_y): the chance that a random "
        "seed of the group beats a random seed of the reference in the metric's better direction "
        "(0.5: no difference; Agarwal et al. 2021), with a percentile bootstrap interval.",
    ),
    (
        "underpowered",
        "With fewer than 5 seeds on a side a rank test can hardly reach significance (3 vs 3 seeds: "
        "the smallest possible two-sided p is 0.1), so 'no significant difference' means 'not "
        "enough seeds to tell', not 'equal'.",
    ),
)
