"""GPU telemetry readers on files exactly as Prometheus (DCGM exporter) and nvidia-smi write them."""

import json
from datetime import datetime

import pytest

from orchestration.ingest.errors import BadFileError
from orchestration.ingest.telemetry import read_hosts_csv, read_nvidia_smi_csv, read_prometheus_query_range

LABELS = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DRIVER_VERSION": "535.104.12", "Hostname": "ip-10-0-1-23",
          "UUID": "GPU-5e0c1f2a-0000-4b6e-9d1e-3f0a7c2b9e11", "container": "trainer", "device": "nvidia0", "gpu": "0",
          "instance": "10.0.1.23:9400", "job": "dcgm-exporter", "modelName": "NVIDIA A100-SXM4-40GB",
          "namespace": "ml", "pod": "train-abc", "pci_bus_id": "00000000:10:1C.0"}


def write_query_range(path, result, status="success", kind="matrix"):
    path.write_text(json.dumps({"status": status, "data": {"resultType": kind, "result": result}}))
    return str(path)


def test_prometheus_matrix_to_samples_with_mig_labels(tmp_path):
    mig = dict(LABELS, __name__="DCGM_FI_PROF_GR_ENGINE_ACTIVE", GPU_I_ID="1", GPU_I_PROFILE="1g.10gb")
    f = write_query_range(tmp_path / "q.json", [
        {"metric": LABELS, "values": [[1762164000, "87"], [1762164015, "88"], [1762164015, "88"], [1762164030, "NaN"]]},
        {"metric": mig, "values": [[1762164000.123, "0.42"]]},
        {"metric": dict(LABELS, __name__="DCGM_FI_DEV_SM_CLOCK"), "values": [[1762164000, "1410"]]},
    ])
    samples, rejects = read_prometheus_query_range(f)
    rows = samples.to_pylist()
    assert [(r["metric"], r["value"]) for r in rows] == [
        ("DCGM_FI_DEV_GPU_UTIL", 87.0), ("DCGM_FI_DEV_GPU_UTIL", 88.0), ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.42)]
    assert rows[0]["sampled_at"] == datetime(2025, 11, 3, 10, 0) and rows[0]["hostname"] == "ip-10-0-1-23"
    assert rows[0]["pod"] == "train-abc" and rows[0]["gpu_model"] == "NVIDIA A100-SXM4-40GB"
    assert (rows[2]["gpu_instance_id"], rows[2]["gpu_instance_profile"]) == ("1", "1g.10gb")
    reasons = sorted(r["reason"] for r in rejects.to_pylist())
    assert reasons == ["duplicate sample of the same series and time", "not a DCGM exporter metric this pipeline uses",
                       "sample value is NaN, infinite or negative"]
    assert all(r["source_row"] and r["source_file"] == f for r in rejects.to_pylist())


def test_prometheus_error_response_and_instant_vector_fail_the_file(tmp_path):
    with pytest.raises(BadFileError, match="status"):
        read_prometheus_query_range(write_query_range(tmp_path / "e.json", [], status="error"))
    with pytest.raises(BadFileError, match="matrix"):
        read_prometheus_query_range(write_query_range(tmp_path / "v.json", [], kind="vector"))
    (tmp_path / "bad.json").write_text('{"status": "succ')
    with pytest.raises(BadFileError, match="bad.json"):
        read_prometheus_query_range(str(tmp_path / "bad.json"))


NVIDIA_SMI = """timestamp, name, uuid, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], power.draw [W]
2026/11/03 10:00:00.123, NVIDIA A100-SXM4-40GB, GPU-5e0c1f2a-0000-4b6e-9d1e-3f0a7c2b9e11, 87 %, 40 %, 30000 MiB, 40960 MiB, 250.12 W
2026/11/03 10:00:05.125, NVIDIA A100-SXM4-40GB, GPU-5e0c1f2a-0000-4b6e-9d1e-3f0a7c2b9e11, [N/A], 41 %, 30010 MiB, 40960 MiB, abc W
timestamp, name, uuid, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], power.draw [W]
yesterday, NVIDIA A100-SXM4-40GB, GPU-5e0c1f2a-0000-4b6e-9d1e-3f0a7c2b9e11, 5 %, 1 %, 100 MiB, 40960 MiB, 60.00 W
"""


def test_nvidia_smi_units_na_and_host_from_folder(tmp_path):
    d = tmp_path / "gpu-node-07"
    d.mkdir()
    (d / "smi.csv").write_text(NVIDIA_SMI)
    samples, rejects = read_nvidia_smi_csv(str(d / "smi.csv"))
    rows = samples.to_pylist()
    first = {r["metric"]: r["value"] for r in rows if r["source_row"] == 1}
    assert first == {"DCGM_FI_DEV_GPU_UTIL": 87.0, "DCGM_FI_DEV_MEM_COPY_UTIL": 40.0, "DCGM_FI_DEV_FB_USED": 30000.0,
                     "nvidia_smi_memory_total_mib": 40960.0, "DCGM_FI_DEV_POWER_USAGE": 250.12}
    assert {r["hostname"] for r in rows} == {"gpu-node-07"}
    assert rows[0]["sampled_at"] == datetime(2026, 11, 3, 10, 0, 0)
    second = {r["metric"] for r in rows if r["source_row"] == 2}
    assert "DCGM_FI_DEV_GPU_UTIL" not in second  # [N/A] is no sample, not an error
    got = [(r["source_row"], r["column_name"], r["raw_value"]) for r in rejects.to_pylist()]
    assert got == [(2, "power.draw", "abc W"), (4, "timestamp", "yesterday")]


def test_hosts_csv_maps_and_rejects_conflicts(tmp_path):
    f = tmp_path / "hosts.csv"
    f.write_text("hostname,resource_id\nip-10-0-1-23,i-0abc\nip-10-0-1-24,\nip-10-0-1-23,i-0def\nip-10-0-1-23,i-0abc\n")
    good, rejects = read_hosts_csv(str(f))
    assert good.to_pylist() == [{"hostname": "ip-10-0-1-23", "resource_id": "i-0abc", "source_row": 1}]
    assert [(r["source_row"], r["column_name"]) for r in rejects.to_pylist()] == [(2, "resource_id"), (3, "hostname")]


def test_energy_counter_becomes_increases_and_a_reset_counts_from_zero(tmp_path):
    """DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION is a counter (mJ since the driver loaded): each
    sample after the first becomes the increase over its interval; when it falls (reboot), the
    increase counts from zero and the reset is listed with its reason."""
    energy = dict(LABELS, __name__="DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
    f = write_query_range(tmp_path / "e.json", [{"metric": energy, "values": [
        [1762164000, "1000000"], [1762164060, "1030000"], [1762164120, "5000"], [1762164180, "35000"]]}])
    samples, rejects = read_prometheus_query_range(f)
    assert [(r["metric"], r["value"]) for r in samples.to_pylist()] == [
        ("gpu_energy_mj_increase", 30000.0), ("gpu_energy_mj_increase", 5000.0), ("gpu_energy_mj_increase", 30000.0)]
    assert [(r["source_row"], r["reason"].split(" (")[0]) for r in rejects.to_pylist()] == [(3, "counter reset")]
