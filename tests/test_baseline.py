"""Baseline files: cells, raw per-seed values and summaries, provenance, stable text, corruption."""

from __future__ import annotations

import json

import pytest

from genbench.check.baseline import load_baseline, summarize_run, write_baseline
from genbench.errors import GenbenchError
from genbench.records import TrialStatus
from genbench.replicates import WHOLE_SUITE

from .hand_runs import ENVIRONMENT, MODES_PROTOCOL, cells_run, fake_record, write_records_run

MODES = {"modes_covered": 8.0, "hq_fraction": 0.9, "mode_kl": 0.05}


def test_cells_are_keyed_by_readable_grid_labels_without_the_seed(tmp_path):
    records = [
        fake_record({"loss": loss, "optimizer": "adam(lr=0.001)"}, seed, MODES)
        for loss in ("ns", "hinge")
        for seed in (0, 1)
    ]
    run = write_records_run(tmp_path / "run", records, grid_keys=("loss", "optimizer", "seed"))
    baseline = summarize_run(run)
    ns, hinge = "loss=ns|optimizer=adam(lr=0.001)", "loss=hinge|optimizer=adam(lr=0.001)"
    assert list(baseline.cells) == [ns, hinge]
    assert baseline.cells[ns].grid == {"loss": "ns", "optimizer": "adam(lr=0.001)"}


def test_a_grid_of_seeds_only_is_one_cell(tmp_path):
    records = [fake_record({}, seed, MODES) for seed in range(3)]
    run = write_records_run(tmp_path / "run", records, grid_keys=("seed",))
    assert list(summarize_run(run).cells) == [WHOLE_SUITE]


def test_each_cell_keeps_raw_per_seed_values_and_their_summary(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [6.0, 8.0, 7.0]})
    cell = summarize_run(run, ["modes_covered"]).cells["loss=ns"]
    assert [(s.seed, s.values["modes_covered"]) for s in cell.seeds] == [(0, 6.0), (1, 8.0), (2, 7.0)]
    summary = cell.metrics["modes_covered"]
    assert (summary.n, summary.mean, summary.std) == (3, 7.0, 1.0)
    assert summary.protocol == MODES_PROTOCOL


def test_direction_tolerance_alpha_and_environment_are_recorded(tmp_path):
    check = {"metrics": ["mode_kl"], "tolerances": {"mode_kl": {"absolute": 0.1}}, "alpha": 0.01}
    run = write_records_run(tmp_path / "run", [fake_record({"loss": "ns"}, 0, MODES)], check=check)
    baseline = summarize_run(run)
    assert list(baseline.metrics) == ["finished", "mode_kl"]
    assert baseline.metrics["mode_kl"].higher_is_better is False
    assert baseline.metrics["mode_kl"].tolerance.absolute == 0.1
    assert baseline.metrics["finished"].higher_is_better is True
    assert baseline.alpha == 0.01
    assert baseline.environment == ENVIRONMENT
    assert baseline.suite == "unit"


def test_metrics_default_to_every_final_metric_with_a_direction(tmp_path):
    metrics = {**MODES, "d_input_grad_norm_real": 0.3}
    run = write_records_run(tmp_path / "run", [fake_record({"loss": "ns"}, 0, metrics)])
    assert list(summarize_run(run).metrics) == ["finished", "modes_covered", "hq_fraction", "mode_kl"]


def test_diverged_seeds_have_no_values_and_count_as_not_finished(tmp_path):
    statuses = {"ns": [TrialStatus.FINISHED, TrialStatus.DIVERGED, TrialStatus.FAILED]}
    run = cells_run(tmp_path / "run", {"ns": [8.0, 0.0, 0.0]}, statuses=statuses)
    cell = summarize_run(run, ["modes_covered"]).cells["loss=ns"]
    assert cell.values("modes_covered") == [8.0]
    assert cell.values("finished") == [1.0, 0.0, 0.0]
    assert cell.metrics["finished"].mean == pytest.approx(1 / 3)
    assert cell.metrics["modes_covered"].std is None


def test_a_metric_without_a_declared_direction_is_refused(tmp_path):
    record = fake_record({"loss": "ns"}, 0, {"d_input_grad_norm_real": 0.3})
    run = write_records_run(tmp_path / "run", [record])
    with pytest.raises(GenbenchError, match="no declared better direction"):
        summarize_run(run, ["d_input_grad_norm_real"])


def test_a_finished_trial_without_a_checked_metric_is_an_error(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [8.0]})
    with pytest.raises(GenbenchError, match="no final value of precision"):
        summarize_run(run, ["precision"])


def test_an_unfinished_run_is_refused(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [8.0, 7.0]})
    (run / "trials" / "loss=ns-seed1" / "record.json").unlink()
    with pytest.raises(GenbenchError, match="1 of 2 trials have no record"):
        summarize_run(run)


def test_seeds_of_a_cell_under_different_protocols_are_an_error(tmp_path):
    other = {**MODES_PROTOCOL, "eval_samples": 500}
    records = [
        fake_record({"loss": "ns"}, 0, {"modes_covered": 8.0}),
        fake_record({"loss": "ns"}, 1, {"modes_covered": 8.0}, protocol=other),
    ]
    with pytest.raises(GenbenchError, match="different protocols"):
        summarize_run(write_records_run(tmp_path / "run", records))


def test_the_file_has_sorted_keys_and_round_trips(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [6.0, 8.0, 7.0], "hinge": [8.0, 8.0, 8.0]})
    path = write_baseline(run, tmp_path / "baseline.json")
    text = path.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    loaded = load_baseline(path)
    assert loaded == summarize_run(run).model_copy(update={"created_at": loaded.created_at})


def test_the_default_path_is_baselines_slash_suite(tmp_path, monkeypatch):
    run = cells_run(tmp_path / "run", {"ns": [8.0]})
    monkeypatch.chdir(tmp_path)
    assert write_baseline(run).as_posix() == "baselines/unit.json"
    assert (tmp_path / "baselines" / "unit.json").is_file()


def test_rewriting_a_baseline_changes_only_its_date(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [6.0, 8.0, 7.0]})
    first = json.loads(write_baseline(run, tmp_path / "a.json").read_text())
    second = json.loads(write_baseline(run, tmp_path / "b.json").read_text())
    first.pop("created_at"), second.pop("created_at")
    assert first == second


@pytest.fixture
def baseline_payload(tmp_path):
    run = cells_run(tmp_path / "run", {"ns": [6.0, 8.0, 7.0]})
    return json.loads(write_baseline(run, tmp_path / "baseline.json").read_text())


def write_payload(tmp_path, payload) -> str:
    path = tmp_path / "edited.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def test_a_missing_baseline_file_is_an_error(tmp_path):
    with pytest.raises(GenbenchError, match="no baseline file"):
        load_baseline(tmp_path / "absent.json")


def test_a_truncated_file_is_an_error_naming_it(tmp_path, baseline_payload):
    path = write_payload(tmp_path, json.dumps(baseline_payload)[:200])
    with pytest.raises(GenbenchError, match=f"{path} is not a valid baseline"):
        load_baseline(path)


def test_a_missing_field_is_an_error(tmp_path, baseline_payload):
    del baseline_payload["alpha"]
    with pytest.raises(GenbenchError, match="alpha"):
        load_baseline(write_payload(tmp_path, baseline_payload))


def test_an_edited_value_that_disagrees_with_its_summary_is_an_error(tmp_path, baseline_payload):
    baseline_payload["cells"]["loss=ns"]["seeds"][0]["values"]["modes_covered"] = 1.0
    with pytest.raises(GenbenchError, match="summary and values disagree"):
        load_baseline(write_payload(tmp_path, baseline_payload))


def test_a_renamed_cell_is_an_error(tmp_path, baseline_payload):
    baseline_payload["cells"]["loss=hinge"] = baseline_payload["cells"].pop("loss=ns")
    with pytest.raises(GenbenchError, match="does not match its grid labels"):
        load_baseline(write_payload(tmp_path, baseline_payload))


def test_an_unknown_format_version_is_an_error(tmp_path, baseline_payload):
    baseline_payload["format"] = 99
    with pytest.raises(GenbenchError, match="format"):
        load_baseline(write_payload(tmp_path, baseline_payload))
