"""Non-billing landing folders load into raw tables; rejected records and unreadable files are kept."""

import json

from orchestration.ingest.folders import RAW_TABLES, load_raw_table
from tests.unit.test_job_readers import MLFLOW_CSV
from tests.unit.test_telemetry_readers import NVIDIA_SMI


def spec(name):
    return next(s for s in RAW_TABLES if s.table == name)


def test_utilization_folder_mixes_prometheus_and_nvidia_smi(tmp_path, con):
    host = tmp_path / "utilization" / "gpu-node-07"
    host.mkdir(parents=True)
    (host / "smi.csv").write_text(NVIDIA_SMI)
    (tmp_path / "utilization" / "prom.json").write_text(json.dumps({"status": "success", "data": {
        "resultType": "matrix", "result": [{"metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": "h1", "gpu": "0"},
                                            "values": [[1762164000, "50"]]}]}}))
    (tmp_path / "utilization" / "broken.json").write_text("{")
    result = load_raw_table(con, str(tmp_path), spec("gpu_samples"), log=lambda m: None)
    assert result.files == 3 and len(result.bad_files) == 1 and result.bad_files[0].endswith("broken.json")
    assert con.execute("SELECT COUNT(DISTINCT hostname) FROM raw.gpu_samples").fetchone()[0] == 2
    assert con.execute("SELECT COUNT(*) FROM raw.gpu_samples_rejects").fetchone()[0] == result.rejected == 2
    assert con.execute("SELECT raw_table, message LIKE '%broken.json%' FROM raw.landing_file_errors").fetchall() == [("gpu_samples", True)]
    # reloading replaces, never appends
    again = load_raw_table(con, str(tmp_path), spec("gpu_samples"), log=lambda m: None)
    assert con.execute("SELECT COUNT(*) FROM raw.gpu_samples").fetchone()[0] == again.rows == result.rows


def test_jobs_folder_and_empty_folders_give_typed_empty_tables(tmp_path, con):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "runs.csv").write_text(MLFLOW_CSV)
    assert load_raw_table(con, str(tmp_path), spec("jobs"), log=lambda m: None).rows == 2
    for name in ("budgets", "s3_inventory", "inference_requests", "gpu_hosts"):
        load_raw_table(con, str(tmp_path), spec(name), log=lambda m: None)
        assert con.execute(f"SELECT COUNT(*) FROM raw.{name}").fetchone()[0] == 0
    cols = [r[0] for r in con.execute("DESCRIBE raw.budgets").fetchall()]
    assert cols[:3] == ["team", "month", "amount_usd"]
