"""Job readers on files as `mlflow.search_runs().to_csv()` and `aws sagemaker describe-training-job` write them."""

import json
from datetime import datetime

import pytest

from orchestration.ingest.errors import BadFileError
from orchestration.ingest.jobs import parse_time, read_mlflow_runs_csv, read_sagemaker_training_jobs

MLFLOW_CSV = """,run_id,experiment_id,status,artifact_uri,start_time,end_time,metrics.tokens,metrics.loss,params.batch_size,params.epochs,tags.mlflow.user,tags.mlflow.runName,tags.team,tags.project,tags.resource_id,tags.instance_type,tags.gpu_count
0,4f1c2d3e5a6b,12,FINISHED,s3://mlflow/12/4f1c2d3e5a6b/artifacts,2026-11-03 10:00:00.123000+00:00,2026-11-03 14:30:00.456000+00:00,125000000.0,1.93,32,3,alice,bert-ft,nlp,chat-finetune,i-0abc,p4d.24xlarge,8
1,5a6b7c8d9e0f,12,RUNNING,s3://mlflow/12/5a6b7c8d9e0f/artifacts,2026-11-04 09:00:00+00:00,,,,64,1,bob,bert-ft-2,nlp,chat-finetune,i-0abc,p4d.24xlarge,8
2,6b7c8d9e0f1a,12,FAILED,s3://mlflow/12/6b7c8d9e0f1a/artifacts,2026-11-05 09:00:00+00:00,2026-11-05 08:00:00+00:00,,,64,1,bob,oops,nlp,chat-finetune,i-0abc,p4d.24xlarge,8
3,7c8d9e0f1a2b,12,PAUSED,s3://mlflow/12/7c8d9e0f1a2b/artifacts,2026-11-05 09:00:00+00:00,,,,64,1,bob,x,nlp,,,,
"""


def test_mlflow_search_runs_csv(tmp_path):
    f = tmp_path / "runs.csv"
    f.write_text(MLFLOW_CSV)
    jobs, rejects = read_mlflow_runs_csv(str(f))
    rows = jobs.to_pylist()
    assert [r["job_id"] for r in rows] == ["4f1c2d3e5a6b", "5a6b7c8d9e0f"]
    done = rows[0]
    assert (done["start_time"], done["end_time"]) == (datetime(2026, 11, 3, 10, 0), datetime(2026, 11, 3, 14, 30))
    assert (done["team"], done["project"], done["user_name"], done["instance_type"], done["gpu_count"]) == (
        "nlp", "chat-finetune", "alice", "p4d.24xlarge", 8)
    assert json.loads(done["params"]) == {"batch_size": "32", "epochs": "3"}
    assert json.loads(done["metrics"])["tokens"] == 125000000.0
    assert rows[1]["status"] == "RUNNING" and rows[1]["end_time"] is None
    assert [(r["source_row"], r["reason"]) for r in rejects.to_pylist()] == [
        (3, "job ends before it starts"), (4, "not an MLflow run status")]


def test_sagemaker_describe_training_job_cli_and_api_times(tmp_path):
    cli = {"TrainingJobName": "rank-2026-11-03", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:210987654321:training-job/rank-2026-11-03",
           "TrainingJobStatus": "Completed", "ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50},
           "TrainingStartTime": "2026-11-03T10:00:00.123000+00:00", "TrainingEndTime": "2026-11-03T12:00:00+00:00",
           "BillableTimeInSeconds": 14400, "EnableManagedSpotTraining": True,
           "HyperParameters": {"epochs": "5", "batch_size": "256"},
           "Tags": [{"Key": "team", "Value": "recsys"}, {"Key": "project", "Value": "ranker"}]}
    api = dict(cli, TrainingJobName="rank-2", TrainingJobArn="arn:aws:sagemaker:us-east-1:1:training-job/rank-2",
               TrainingJobStatus="Stopped", TrainingStartTime=1762164000.5, TrainingEndTime=1762167600.0)
    f = tmp_path / "jobs.json"
    f.write_text(json.dumps([cli, api, {"TrainingJobName": "x", "TrainingJobStatus": "Exploded"}]))
    jobs, rejects = read_sagemaker_training_jobs(str(f))
    rows = jobs.to_pylist()
    assert rows[0]["status"] == "FINISHED" and rows[0]["instance_count"] == 2 and rows[0]["managed_spot"]
    assert rows[0]["team"] == "recsys" and rows[0]["billable_seconds"] == 14400
    assert rows[1]["status"] == "KILLED" and rows[1]["start_time"] == datetime(2025, 11, 3, 10, 0)
    assert [r["column_name"] for r in rejects.to_pylist()] == ["TrainingJobStatus"]


def test_single_object_file_and_broken_json(tmp_path):
    f = tmp_path / "one.json"
    f.write_text(json.dumps({"TrainingJobName": "a", "TrainingJobStatus": "InProgress",
                             "TrainingStartTime": "2026-11-03T10:00:00Z", "ResourceConfig": {"InstanceType": "ml.p4d.24xlarge"}}))
    jobs, _ = read_sagemaker_training_jobs(str(f))
    assert jobs.to_pylist()[0]["status"] == "RUNNING"
    (tmp_path / "b.json").write_text("{")
    with pytest.raises(BadFileError, match="b.json"):
        read_sagemaker_training_jobs(str(tmp_path / "b.json"))


@pytest.mark.parametrize("raw,expected", [
    ("2026-11-03 10:00:00.123000+00:00", datetime(2026, 11, 3, 10)), ("2026-11-03T12:00:00+02:00", datetime(2026, 11, 3, 10)),
    ("1762164000", datetime(2025, 11, 3, 10)), (1762164000000, datetime(2025, 11, 3, 10)), ("", None),
])
def test_parse_time_forms(raw, expected):
    assert parse_time(raw) == expected


def test_mlflow_run_that_names_its_host_instead_of_a_resource(tmp_path):
    f = tmp_path / "runs.csv"
    f.write_text(",run_id,experiment_id,status,start_time,end_time,tags.hostname,tags.gpu_count\n"
                 "0,abc,3,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 11:00:00+00:00,ip-10-0-1-23.ec2.internal,4\n")
    jobs, _ = read_mlflow_runs_csv(str(f))
    row = jobs.to_pylist()[0]
    assert (row["resource_id"], row["hostname"], row["gpu_count"]) == (None, "ip-10-0-1-23.ec2.internal", 4)
