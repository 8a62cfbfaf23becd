"""`genbench check` and `compare` on hand-built runs: exit codes, the table, unusable input, artifacts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genbench.check.baseline import write_baseline
from genbench.check.commands import check_run, compare_runs, parse_tolerance
from genbench.check.rule import Verdict
from genbench.cli import app
from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.settings import Tolerance

from .hand_runs import MODES_PROTOCOL, cells_run, fake_record, write_records_run

BASELINE_VALUES = {"ns": [8.0, 7.0, 8.0, 8.0, 7.0], "hinge": [8.0, 8.0, 8.0, 7.0, 8.0]}
FRESH_SEEDS = {"ns": [7.0, 8.0, 8.0, 7.0, 8.0], "hinge": [8.0, 7.0, 8.0, 8.0, 8.0]}
COLLAPSED_NS = {"ns": [1.0, 1.0, 2.0, 1.0, 1.0], "hinge": [8.0, 7.0, 8.0, 8.0, 8.0]}
CHECK = {"metrics": ["modes_covered"], "tolerances": {"modes_covered": {"absolute": 1.0}}}


@pytest.fixture
def baseline_file(tmp_path):
    run = cells_run(tmp_path / "baseline_run", BASELINE_VALUES, check=CHECK)
    return write_baseline(run, tmp_path / "baseline.json")


def rows_by_key(result):
    return {(row.group, row.metric): row for row in result.rows}


def test_fresh_seeds_of_the_same_code_pass(tmp_path, baseline_file):
    result = check_run(cells_run(tmp_path / "run", FRESH_SEEDS, check=CHECK), baseline_file)
    assert result.exit_code == 0
    assert {row.verdict for row in result.rows} == {Verdict.PASS}
    assert set(rows_by_key(result)) == {
        (cell, metric) for cell in ("loss=ns", "loss=hinge") for metric in ("finished", "modes_covered")
    }


def test_a_collapsed_cell_fails_with_exit_1_and_the_table_names_group_and_metric(tmp_path, baseline_file):
    result = check_run(cells_run(tmp_path / "run", COLLAPSED_NS, check=CHECK), baseline_file)
    assert result.exit_code == 1
    assert [(row.group, row.metric) for row in result.regressions] == [("loss=ns", "modes_covered")]
    line = next(line for line in result.text().splitlines() if "REGRESSED" in line and "loss=ns" in line)
    assert "modes_covered" in line
    assert "- loss=ns / modes_covered: worse by 6.4 > band 1; p=" in result.text()


def test_a_cell_whose_seeds_now_diverge_regresses_on_finished(tmp_path, baseline_file):
    statuses = {"ns": [TrialStatus.DIVERGED] * 5}
    run = cells_run(tmp_path / "run", FRESH_SEEDS, statuses=statuses, check=CHECK)
    rows = rows_by_key(check_run(run, baseline_file))
    assert rows["loss=ns", "finished"].verdict == Verdict.REGRESSED
    assert rows["loss=ns", "modes_covered"].verdict == Verdict.REGRESSED
    assert "every seed diverged or failed" in rows["loss=ns", "modes_covered"].reason
    assert rows["loss=hinge", "finished"].verdict == Verdict.PASS


def test_a_cell_missing_from_the_run_is_unusable_input(tmp_path, baseline_file):
    run = cells_run(tmp_path / "run", {"ns": FRESH_SEEDS["ns"]}, check=CHECK)
    with pytest.raises(GenbenchError, match="cell 'loss=hinge' of the baseline is not in the run"):
        check_run(run, baseline_file)


def test_a_metric_missing_from_the_run_is_unusable_input(tmp_path, baseline_file):
    run = cells_run(tmp_path / "run", FRESH_SEEDS, metric="hq_fraction", check=CHECK)
    with pytest.raises(GenbenchError, match="no final value of modes_covered"):
        check_run(run, baseline_file)


def test_a_metric_computed_under_another_protocol_is_unusable_input(tmp_path, baseline_file):
    other = {**MODES_PROTOCOL, "eval_samples": 500}
    records = [
        fake_record({"loss": loss}, seed, {"modes_covered": value}, protocol=other)
        for loss, values in FRESH_SEEDS.items()
        for seed, value in enumerate(values)
    ]
    with pytest.raises(GenbenchError, match=r"computed differently now \(eval_samples 1000 -> 500\)"):
        check_run(write_records_run(tmp_path / "run", records, check=CHECK), baseline_file)


def test_a_changed_protocol_is_unusable_unless_allowed(tmp_path, baseline_file):
    records = [
        fake_record({"loss": loss}, seed, {"modes_covered": value}).model_copy(
            update={"spec": {"seed": seed, "loss": loss, "train": {"steps": 400}}}
        )
        for loss, values in FRESH_SEEDS.items()
        for seed, value in enumerate(values)
    ]
    run = write_records_run(tmp_path / "run", records, check=CHECK)
    changed = r"the suite changed: train.steps \(unset\) -> 400 in loss=hinge, loss=ns"
    with pytest.raises(GenbenchError, match=changed):
        check_run(run, baseline_file)
    with pytest.raises(GenbenchError, match="allow-suite-change"):
        check_run(run, baseline_file)
    allowed = check_run(run, baseline_file, allow_suite_change=True)
    assert allowed.exit_code == 0
    assert any("the suite changed" in note for note in allowed.notes)


def test_a_corrupted_baseline_is_unusable_input(tmp_path, baseline_file):
    baseline_file.write_text(baseline_file.read_text()[:-40])
    with pytest.raises(GenbenchError, match="is not a valid baseline"):
        check_run(cells_run(tmp_path / "run", FRESH_SEEDS, check=CHECK), baseline_file)


def test_tolerance_and_alpha_given_for_one_check_replace_the_baseline_s(tmp_path, baseline_file):
    run = cells_run(tmp_path / "run", COLLAPSED_NS, check=CHECK)
    assert check_run(run, baseline_file, tolerances={"modes_covered": Tolerance(absolute=7.0)}).exit_code == 0
    assert check_run(run, baseline_file, alpha=1e-12).exit_code == 0
    with pytest.raises(GenbenchError, match="does not cover"):
        check_run(run, baseline_file, tolerances={"precision": Tolerance(absolute=1.0)})


def test_the_baseline_s_tolerance_applies_and_a_different_suite_setting_is_noted(tmp_path, baseline_file):
    loose = {"metrics": ["modes_covered"], "tolerances": {"modes_covered": {"absolute": 7.0}}}
    result = check_run(cells_run(tmp_path / "run", COLLAPSED_NS, check=loose), baseline_file)
    assert result.exit_code == 1
    assert any("the baseline's absolute 1 applies" in note for note in result.notes)


def test_tolerances_parse_as_absolute_or_relative():
    assert parse_tolerance("mode_kl=0.1") == ("mode_kl", Tolerance(absolute=0.1))
    assert parse_tolerance("hq_fraction=10%") == ("hq_fraction", Tolerance(relative=0.1))
    for text in ("mode_kl", "mode_kl=-1", "=1", "mode_kl=a lot"):
        with pytest.raises(GenbenchError, match="METRIC=VALUE"):
            parse_tolerance(text)


def test_compare_uses_the_shared_cells_and_notes_the_rest(tmp_path):
    run_a = cells_run(tmp_path / "a", {"ns": BASELINE_VALUES["ns"], "wgan": [3.0] * 3}, check=CHECK)
    run_b = cells_run(tmp_path / "b", {"ns": COLLAPSED_NS["ns"], "hinge": [8.0] * 3}, check=CHECK)
    result = compare_runs(run_a, run_b)
    assert {row.group for row in result.rows} == {"loss=ns"}
    assert result.exit_code == 1
    assert any("loss=wgan" in note for note in result.notes)
    assert any("loss=hinge" in note for note in result.notes)


def test_the_result_is_written_as_json_and_markdown(tmp_path, baseline_file):
    result = check_run(cells_run(tmp_path / "run", COLLAPSED_NS, check=CHECK), baseline_file)
    json_path, markdown_path = result.write(tmp_path / "artifacts")
    payload = json.loads(json_path.read_text())
    assert payload["exit_code"] == 1
    regressed = [row for row in payload["rows"] if row["verdict"] == "regressed"]
    assert [(row["group"], row["metric"]) for row in regressed] == [("loss=ns", "modes_covered")]
    markdown = markdown_path.read_text()
    assert "| group " in markdown and "| loss=ns    | modes_covered |" in markdown


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_cli_exit_codes_are_0_pass_1_regression_2_unusable(tmp_path):
    baseline_run = cells_run(tmp_path / "baseline_run", BASELINE_VALUES, check=CHECK)
    written = invoke("baseline", baseline_run, "--out", tmp_path / "b.json")
    assert written.exit_code == 0, written.output
    fresh = cells_run(tmp_path / "fresh", FRESH_SEEDS, check=CHECK)
    collapsed = cells_run(tmp_path / "collapsed", COLLAPSED_NS, check=CHECK)
    assert invoke("check", fresh, "--baseline", tmp_path / "b.json").exit_code == 0
    assert (fresh / "check.json").is_file() and (fresh / "check.md").is_file()
    regressed = invoke("check", collapsed, "--baseline", tmp_path / "b.json")
    assert regressed.exit_code == 1 and "REGRESSED" in regressed.output
    assert invoke("check", collapsed, "--baseline", tmp_path / "absent.json").exit_code == 2
    loose = invoke("check", collapsed, "--baseline", tmp_path / "b.json", "--tolerance", "modes_covered=90%")
    assert loose.exit_code == 0
    assert invoke("compare", baseline_run, collapsed).exit_code == 0


def test_cli_baseline_takes_metrics_comma_separated_or_repeated(tmp_path):
    record = fake_record({"loss": "ns"}, 0, {"hq_fraction": 0.5, "mode_kl": 0.1})
    run = write_records_run(tmp_path / "run", [record])
    out = tmp_path / "b.json"
    invoke("baseline", run, "--out", out, "--metrics", "hq_fraction,mode_kl")
    assert list(json.loads(out.read_text())["metrics"]) == ["finished", "hq_fraction", "mode_kl"]
    assert invoke("baseline", run, "--out", out, "--metrics", "mode_kl", "--metrics", "nope").exit_code == 2


def test_the_check_modules_do_not_import_torch():
    code = "import sys, genbench.check.commands, genbench.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
