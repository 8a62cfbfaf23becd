"""The whole report: every figure written and valid, the document's sections, partial runs."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from genbench.records import TrialStatus
from genbench.report import build_report
from genbench.report.build import HTML_FILE, MARKDOWN_FILE, REPORT_DIR

from .hand_runs import RING8, HandTrial, write_trials_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LOSSES = ("ns", "hinge")
OPTIMIZERS = ("adam(lr=0.001)", "rmsprop(lr=0.0005)")


def ring_samples(modes: int, seed: int) -> np.ndarray:
    """500 points around the first ``modes`` centres of ring8."""
    rng = np.random.default_rng(seed)
    centres = RING8[rng.integers(0, modes, 500)]
    return (centres + rng.normal(0, 0.05, centres.shape)).astype(np.float32)


def trained(loss: str, optimizer: str, seed: int, modes: int) -> HandTrial:
    covered = [list(range(max(1, modes - 2))), list(range(modes)), list(range(modes))]
    return HandTrial(
        f"{loss}-{optimizer[:4]}-{seed}",
        {"loss": loss, "optimizer": optimizer},
        seed,
        metrics={"modes_covered": float(modes), "hq_fraction": 0.9, "mode_kl": 0.1 * (8 - modes)},
        curves={
            "modes_covered": [float(max(1, modes - 2)), float(modes), float(modes)],
            "generator_loss": [0.7 + 0.1 * seed, 0.8, 0.75],
            "discriminator_loss": [1.3, 1.2 - 0.1 * seed, 1.25],
            "generator_grad_norm": [0.5, 0.6, 0.55],
            "discriminator_grad_norm": [1.0, 1.1, 0.9],
        },
        covered_modes=covered,
        timings={"train_seconds": 30.0},
        samples=ring_samples(modes, seed),
        mode_centres=RING8,
    )


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    """2 losses x 2 optimizers x 3 seeds, with one diverged, one failed and two missing trials."""
    trials = [
        trained(loss, optimizer, seed, modes=8 - 2 * i - seed % 2)
        for i, (loss, optimizer) in enumerate((lo, op) for lo in LOSSES for op in OPTIMIZERS)
        for seed in range(3)
    ]
    trials[4] = HandTrial(
        trials[4].id,
        trials[4].grid,
        trials[4].seed,
        TrialStatus.DIVERGED,
        curves={"modes_covered": [2.0], "generator_loss": [5.0]},
        diverged_step=150,
        mode_centres=RING8,
    )
    trials[7] = HandTrial(
        trials[7].id,
        trials[7].grid,
        trials[7].seed,
        TrialStatus.FAILED,
        error="RuntimeError: planted failure",
    )
    run = write_trials_run(
        tmp_path_factory.mktemp("report") / "run",
        trials,
        ["loss", "optimizer"],
        missing=("missing00001", "missing00002"),
    )
    build_report(run)
    return run


FIGURES = ("metric_curves", "final_distribution", "heatmap", "samples", "loss_curves")


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_written_as_a_valid_png_and_svg(partial_run, name):
    figures = partial_run / REPORT_DIR / "figures"
    png, svg = (figures / name).with_suffix(".png"), (figures / name).with_suffix(".svg")
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 1000
    root = ElementTree.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_no_image_grid_is_drawn_for_two_dimensional_samples(partial_run):
    assert not (partial_run / REPORT_DIR / "figures" / "image_grids.png").exists()


def test_tables_are_written_as_csv_and_markdown(partial_run):
    tables = partial_run / REPORT_DIR / "tables"
    for name in ("metrics", "outcomes", "stability_trials", "stability_groups", "comparison"):
        assert (tables / f"{name}.csv").stat().st_size > 0
    for name in ("headline", "metrics", "outcomes", "dynamics", "gradients", "comparison"):
        assert (tables / f"{name}.md").read_text().startswith("|")


def test_a_partial_run_says_which_trials_are_missing_and_what_failed(partial_run):
    markdown = (partial_run / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert "12 of 14 trials recorded (10 finished, 1 diverged, 1 failed)" in markdown
    assert "Partial run: 2 of 14 trials have no record yet" in markdown
    assert "`missing00001`, `missing00002`" in markdown
    assert "RuntimeError: planted failure" in markdown
    assert "stopped being finite at step 150" in markdown


def test_the_markdown_has_every_section_and_links_its_figures(partial_run):
    markdown = (partial_run / REPORT_DIR / MARKDOWN_FILE).read_text()
    for heading in (
        "# genbench report: hand",
        "## Headline metric: modes_covered",
        "## Pairwise comparison",
        "## Figures",
        "### Outcomes",
        "### Training dynamics",
        "## All final metrics",
        "## Failed and diverged trials",
        "## Settings",
        "## Environment",
        "## Glossary",
    ):
        assert f"\n{heading}\n" in f"\n{markdown}"
    for name in FIGURES:
        assert f"(figures/{name}.png)" in markdown
    assert "A hand-built run (hand)." in markdown
    assert "Underpowered" in markdown


def test_the_html_is_self_contained(partial_run):
    page = (partial_run / REPORT_DIR / HTML_FILE).read_text()
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert '<h2 id="glossary">Glossary</h2>' in page
    assert "RuntimeError: planted failure" in page


def test_rebuilding_gives_identical_files(partial_run):
    report = partial_run / REPORT_DIR
    before = {path: path.read_bytes() for path in report.rglob("*") if path.is_file()}
    build_report(partial_run)
    after = {path: path.read_bytes() for path in report.rglob("*") if path.is_file()}
    assert before.keys() == after.keys()
    assert [path for path in before if before[path] != after[path]] == []


def test_image_samples_are_shown_as_grids(tmp_path):
    rng = np.random.default_rng(0)
    trials = [
        HandTrial(
            f"img{seed}",
            {"loss": loss},
            seed,
            metrics={"precision": 0.5},
            samples=rng.uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32),
        )
        for loss in LOSSES
        for seed in range(2)
    ]
    run = write_trials_run(tmp_path / "run", trials, ["loss"], {"metric": "precision"})
    build_report(run)
    figures = run / REPORT_DIR / "figures"
    assert (figures / "image_grids.png").read_bytes()[:8] == PNG_MAGIC
    assert not (figures / "samples.png").exists()


def test_a_run_without_any_record_still_gets_a_report(tmp_path):
    run = write_trials_run(tmp_path / "run", [], ["loss"], missing=("a", "b", "c"))
    markdown = (build_report(run).parent / MARKDOWN_FILE).read_text()
    assert "0 of 3 trials recorded" in markdown
    assert "Partial run: 3 of 3 trials have no record yet" in markdown


def test_a_single_seed_run_is_reported_without_a_rank_test(tmp_path):
    trials = [trained(loss, OPTIMIZERS[0], 0, modes=8) for loss in LOSSES]
    run = write_trials_run(tmp_path / "run", trials, ["loss", "optimizer", "seed"])
    report = build_report(run)
    assert report.is_file()
    markdown = (run / REPORT_DIR / MARKDOWN_FILE).read_text()
    assert "one finished seed on a side" in markdown
