import json
import os
from datetime import datetime

from orchestration.billing.sensors import changed_periods
from orchestration.ingest.pipeline import scan_billing
from orchestration.marts.dbt_vars import dbt_build_args, dbt_vars
from orchestration.policy import load_policy


def test_sensor_sees_new_redelivered_and_removed_files_only(sample_landing, tagging):
    files = scan_billing(str(sample_landing))
    cursor, touched = changed_periods({}, files, tagging)
    assert sorted(touched) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    cursor = json.loads(json.dumps(cursor))  # survives the round trip through Dagster's cursor
    assert changed_periods(cursor, scan_billing(str(sample_landing)), tagging)[1] == {}
    # AWS refreshes the open month in place: new size/mtime on the same object
    part = sample_landing / "billing/cur2/acme-ml-cur2/data/BILLING_PERIOD=2026-11/acme-ml-cur2-00001.snappy.parquet"
    part.write_bytes(part.read_bytes() + b"")
    t = datetime(2026, 11, 21, 6).timestamp()
    os.utime(part, (t, t))
    cursor2, touched = changed_periods(cursor, scan_billing(str(sample_landing)), tagging)
    assert list(touched) == ["2026-11"]
    (sample_landing / "billing/focus/gcp/focus-gcp-2026-08.csv.gz").unlink()
    assert list(changed_periods(cursor2, scan_billing(str(sample_landing)), tagging)[1]) == ["2026-08"]


def test_sensor_probes_files_whose_path_names_no_period(tmp_path, tagging):
    from tests.unit.test_cur_amortisation import write_cur2

    write_cur2(tmp_path / "billing" / "export.parquet")
    _, touched = changed_periods({}, scan_billing(str(tmp_path)), tagging)
    assert list(touched) == ["2026-11"]


def test_dbt_vars_come_from_policy(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("tagging:\n  keys:\n    team: [team]\n  required: [team]\n  top_offenders: 5\n"
                 "allocation:\n  idle_gpu_utilization_below: 0.1\n"
                 "efficiency:\n  training_bands: [0.1, 0.3, 0.6, 0.9]\n  inference_target_utilization: 0.3\n")
    policy = load_policy(f)
    expected = {
        "untagged_required_tags": ["team"], "untagged_top_offenders": 5, "idle_gpu_utilization_below": 0.1,
        "training_efficiency_bands": [0.1, 0.3, 0.6, 0.9], "inference_efficiency_bands": [0.1, 0.25, 0.5, 0.75],
        "training_target_utilization": 0.4, "inference_target_utilization": 0.3, "protected_tags": [],
        "workload_tiers": {"default": {"job_types": [], "idle_pause_after_hours": 24.0, "allow_spot": False,
                                       "requires_approval": True}}}
    got = dbt_vars(policy)
    assert {k: got[k] for k in expected} == expected
    assert got["rec"]["idle"]["archive_after_days"] == 30 and got["rec"]["budgets"]["action_at"] == 0.95
    args = dbt_build_args(policy)
    assert args[:2] == ["build", "--vars"] and json.loads(args[2])["untagged_top_offenders"] == 5
    # runs on real data leave dbt's unit tests (fixed inputs) to CI; the data tests stay
    assert args[3:] == ["--exclude-resource-type", "unit_test"]
    assert dbt_build_args(policy, unit_tests=True) == args[:3]
