"""Planted regressions in the CI suite are caught against the committed baseline: exit 1, and the
table names the group and metric. Each planted run has 3 seeds, the fewest with which Welch's test
still decides; one worker, as 6 short trials gain less from a process pool than its start costs."""

from __future__ import annotations

import pytest

from genbench.check.commands import check_run
from genbench.check.rule import Verdict
from genbench.losses.gan import NonSaturatingLoss

from .regressions import CI_BASELINE, GROUPS, run_variant, wrong_sign_generator_loss

#: each test trains the CI suite's trials (tens of seconds on 2 cores)
pytestmark = pytest.mark.slow


def regressed(result) -> set[tuple[str, str]]:
    return {(row.group, row.metric) for row in result.regressions}


def test_a_learning_rate_100x_is_caught_in_both_groups(tmp_path):
    run = run_variant(tmp_path, "ci_lr_x100", [0, 1, 2], ("lr: 2.0e-3", "lr: 2.0e-1"), workers=1)
    result = check_run(run, CI_BASELINE, allow_suite_change=True)
    assert result.exit_code == 1
    assert {group for group, _ in regressed(result)} == GROUPS


def test_a_generator_that_ignores_its_latent_is_caught_as_mode_collapse(tmp_path):
    planted = ("name: mlp_gan", "name: 'tests.regressions:latent_ignoring_gan'")
    run = run_variant(tmp_path, "ci_collapsed", [0, 1, 2], planted, workers=1)
    result = check_run(run, CI_BASELINE, allow_suite_change=True)
    assert result.exit_code == 1
    assert {("loss=ns", "modes_covered"), ("loss=hinge", "modes_covered")} <= regressed(result)
    table_line = next(line for line in result.text().splitlines() if line.startswith("loss=ns     modes"))
    assert table_line.endswith("REGRESSED")


def test_a_wrong_sign_generator_loss_is_caught_in_its_group_only(tmp_path, monkeypatch):
    # patched in this process (hence one worker), so the planted bug keeps the label 'loss=ns'
    monkeypatch.setattr(NonSaturatingLoss, "generator_loss", wrong_sign_generator_loss)
    run = run_variant(tmp_path, "ci_wrong_sign", [0, 1, 2], workers=1)
    result = check_run(run, CI_BASELINE, allow_suite_change=True)
    assert result.exit_code == 1
    assert {group for group, _ in regressed(result)} == {"loss=ns"}
    assert all(row.verdict == Verdict.PASS for row in result.rows if row.group == "loss=hinge")
