"""What runs on the sample organisation's GPUs, written as the real tools export it.

The billing generator says which resource was up in which hour; this module decides what each
resource did in those hours, and writes every non-billing landing folder from that one story:

- jobs/        MLflow `search_runs().to_csv()` per team, SageMaker `DescribeTrainingJob` JSON;
- utilization/ Prometheus `query_range` JSON of DCGM exporter series (CUR 2.0 accounts) and
               nvidia-smi CSV logs, one per host (legacy-CUR and GCP hosts, last 14 days); on the
               EKS cluster two A100s are MIG-partitioned and the T4 is time-sliced between pods;
- inventory/   hosts.csv (one host that reports telemetry and runs jobs is missing from it);
- inference/   LiteLLM spend-log JSONL (last 7 days) and CloudWatch endpoint metrics CSV;
- storage/     S3 Inventory (header-less CSV.gz + manifest.json, the layout S3 writes);
- budgets/     budgets.csv.

Planted for the pipeline to find: idle gaps on running boxes and boxes nobody uses, input-bound
jobs at low utilization, failed and killed runs (~8 %), RUNNING jobs at the window's end, shared
boxes with two concurrent jobs, notebooks run outside any tracker, a host with no inventory
mapping, a duplicated scrape, a job record whose end precedes its start.

Runtime follows the job's parameters (epochs, dataset size, model size, batch size, GPU type and
count) with ~15 % noise, so a runtime model has something real to learn.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .world import TEAMS, Resource, World, load_catalog, runs_of, sagemaker_training_job_name, stable_int

# Relative training throughput per GPU (A100-40GB = 1) and board power (W) at idle / full load.
GPU_SPEED = {"T4": 0.15, "A10G": 0.35, "L4": 0.3, "L40S": 0.6, "V100": 0.45, "A100-40GB": 1.0,
             "A100-80GB": 1.1, "H100": 2.2}
GPU_POWER = {"T4": (12, 70), "A10G": (25, 300), "L4": (16, 72), "L40S": (35, 350), "V100": (40, 300),
             "A100-40GB": (50, 400), "A100-80GB": (55, 400), "H100": (70, 700)}
GPU_PRODUCT = {"T4": "Tesla T4", "A10G": "NVIDIA A10G", "L4": "NVIDIA L4", "L40S": "NVIDIA L40S",
               "V100": "Tesla V100-SXM2-16GB", "A100-40GB": "NVIDIA A100-SXM4-40GB",
               "A100-80GB": "NVIDIA A100-SXM4-80GB", "H100": "NVIDIA H100 80GB HBM3"}
TRAINING_JOB_TYPES = {"training", "research", "experimental", "batch_retraining"}
USERS = {"nlp": ["alice", "arjun", "mei"], "vision": ["bruno", "chen"], "recsys": ["dana", "emeka"],
         "platform": ["farah"], "research": ["gus", "hana", "ivan"]}
EXPERIMENT_IDS = {p: str(11 + i) for i, p in enumerate(p for ps in TEAMS.values() for p in ps)}
MODEL_FAMILIES = {"nlp": ["llama-3.1-8b", "mistral-7b", "llama-3.1-70b-lora"], "vision": ["yolov8-x", "vit-l16", "sam-b"],
                  "recsys": ["dlrm-v2", "two-tower"], "research": ["ppo-agent", "sdxl-unet", "dit-xl"],
                  "platform": ["llama-3.1-8b"]}
UNMAPPED_HOST = "ip-10-0-77-12.ec2.internal"   # a sandbox box whose billing account we do not get
PROM_STEP_S = 1800                              # query_range step of the exported DCGM series
SMI_INTERVAL_S = 300                            # nvidia-smi -l 300
# Shared GPUs on the EKS cluster's nodes. MIG: on the A100 node, GPUs 6 and 7 are partitioned
# (the pods' 4 + 2 whole GPUs are 0-5); per GPU: (GPU_I_ID, GPU_I_PROFILE, namespace, pod, load),
# pod None = an instance no pod holds. Valid A100-40GB layouts: 7 compute and 8 memory slices.
MIG_LAYOUT = {
    6: [("1", "3g.20gb", "llm-serving", "bert-ner-api-6d5f8c-k2j4h", "diurnal"),
        ("2", "2g.10gb", "llm-serving", "whisper-asr-7c9f2b-p8d3s", "diurnal"),
        ("9", "1g.5gb", "research", "jupyter-hana-0", "notebook"),
        ("10", "1g.5gb", "research", "jupyter-ivan-0", "notebook")],
    7: [("1", "4g.20gb", "batch", "feature-embed-28fq9-w7x2c", "batch"),
        ("5", "2g.10gb", "llm-serving", "reranker-api-7f9c4d-q2w8e", "diurnal"),
        ("13", "1g.5gb", None, None, "none")],
}
# Time-slicing: the T4 node's one GPU is shared by these pods (nvidia.com/gpu replicas), each
# busy part of the time: (namespace, pod, share of the node's serving load, busy UTC hours).
TIME_SLICED_PODS = [("llm-serving", "embedding-api-5b7c8d-r5t2y", 0.6, None),
                    ("llm-serving", "moderation-api-64f7d9-h3k8n", 0.4, None),
                    ("batch", "nightly-eval-7k2mp", 0.0, (1, 4))]
SMI_DAYS = 14
REQUEST_LOG_DAYS = 7
# The shared LLM endpoint's tenants: per calling team, its LiteLLM virtual keys (key alias, prompt
# and completion length factors) - a RAG search sends long prompts for short answers, code
# generation the opposite - so that token mixes, not request counts, tell the tenants apart.
TENANT_KEYS = {
    "platform": [("platform-eval-harness", 1.0, 1.0)],
    "nlp": [("nlp-rag-search", 4.0, 0.4), ("nlp-summarizer", 2.5, 0.3)],
    "recsys": [("recsys-item-copy", 0.3, 2.5)],
    "research": [("research-codegen", 0.6, 3.0)],
}


@dataclass
class Job:
    job_id: str
    source: str                  # mlflow | sagemaker
    resource: Resource | None
    hostname: str | None
    start_h: float               # hours since the world's start
    end_h: float | None          # None while RUNNING
    busy_until_h: float          # where its GPU load ends (the window's end while RUNNING)
    status: str
    gpus: int
    gpu_offset: int              # first GPU index it uses on the box
    util: float                  # mean GPU utilization while it runs, 0-1
    team: str | None
    project: str | None
    user: str
    params: dict
    metrics: dict
    link: str                    # how the record names its box: resource_id | hostname | arn
    name: str


@dataclass
class Endpoint:
    resource: Resource
    name: str                    # endpoint name (SageMaker) or host (vLLM on a VM)
    model: str
    api_base: str
    util: np.ndarray             # per hour, 0-1
    requests: np.ndarray         # per hour
    callers: list[str]           # teams sending requests


@dataclass
class Workloads:
    hosts: dict[str, str]                      # resource_id -> hostname (GPU VMs)
    jobs: list[Job]
    endpoints: list[Endpoint]
    untracked: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # work outside any tracker
    sandbox: Resource | None = None            # the box missing from inventory (not billed to us)


def _hostname(r: Resource, rng: np.random.Generator) -> str:
    if r.kind == "gce":
        return r.resource_id.rsplit("/", 1)[-1]
    a, b, c = (int(x) for x in rng.integers(0, 255, 3))
    if r.region == "us-east-1":
        return f"ip-10-{a % 16}-{b}-{c}.ec2.internal"
    return f"ip-10-{a % 16}-{b}-{c}.{r.region}.compute.internal"


def _runtime(rng, team: str, gpu_model: str, gpus: int) -> tuple[dict, float]:
    """Parameters of one training run and its runtime in hours (the learnable relation)."""
    for _ in range(50):
        lo, hi = {"nlp": (350, 13000), "vision": (20, 600), "recsys": (10, 300)}.get(team, (50, 3000))
        model_params_m = float(np.exp(rng.uniform(math.log(lo), math.log(hi))))
        dataset_gb = float(np.exp(rng.uniform(math.log(2), math.log(400))))
        epochs = int(rng.integers(1, 4 if team == "nlp" else 13))
        batch_size = int(rng.choice([16, 32, 64, 128, 256, 512]))
        a100_hours = 0.004 * epochs * dataset_gb * (model_params_m / 100) ** 0.6
        throughput = GPU_SPEED[gpu_model] * gpus * 0.92 ** math.log2(gpus) * (batch_size / 64) ** 0.15
        hours = a100_hours / throughput * float(rng.lognormal(0, 0.15))
        if 0.25 <= hours <= 36:
            break
    params = {"model_params_m": round(model_params_m, 1), "dataset_gb": round(dataset_gb, 2), "epochs": epochs,
              "batch_size": batch_size, "learning_rate": float(rng.choice([1e-4, 3e-4, 1e-3])),
              "optimizer": str(rng.choice(["adamw", "sgd", "lion"])),
              "framework": str(rng.choice(["pytorch", "pytorch", "jax"])),
              "model_name": str(rng.choice(MODEL_FAMILIES.get(team, MODEL_FAMILIES["research"])))}
    return params, min(hours, 36.0)


def _job_util(rng, job_type: str) -> float:
    if rng.random() < 0.18:  # input-bound: the data loader starves the GPUs
        return float(rng.uniform(0.08, 0.28))
    base = {"training": 0.82, "batch_retraining": 0.7, "research": 0.58, "experimental": 0.4}.get(job_type, 0.6)
    return float(np.clip(rng.normal(base, 0.07), 0.05, 0.98))


def _progress_metrics(team: str, params: dict, done: float) -> dict:
    seen = params["dataset_gb"] * params["epochs"] * done
    if team == "nlp":
        return {"tokens": round(seen * 2.5e8), "loss": round(2.8 - 0.9 * done, 4)}
    return {"samples": round(seen * 5000), "loss": round(1.2 - 0.6 * done, 4)}


def simulate(world: World) -> Workloads:
    rng = np.random.default_rng(world.seed + 101)
    catalog = load_catalog()
    hosts: dict[str, str] = {}
    jobs: list[Job] = []
    endpoints: list[Endpoint] = []
    untracked: dict[str, list[tuple[float, float]]] = {}
    hour_of_day = (np.arange(world.hours) + world.start.hour) % 24
    diurnal = 0.2 + 0.8 * np.clip(np.sin(np.pi * (hour_of_day - 6) / 16), 0, None)
    weekday = np.array([(world.start + timedelta(hours=int(h))).weekday() < 5 for h in range(world.hours)])
    business = (weekday & (hour_of_day >= 8) & (hour_of_day < 20)).astype(float)

    for r in world.resources:
        if r.kind not in ("ec2", "gce", "sagemaker_training", "sagemaker_endpoint"):
            continue
        gpu_model = catalog[r.instance_type]["gpu_model"]
        gpu_count = int(catalog[r.instance_type]["gpu_count"])
        if r.kind in ("ec2", "gce"):
            hosts[r.resource_id] = _hostname(r, rng)
        if r.kind == "sagemaker_training":
            for k, (a, b) in enumerate(runs_of(r.active)):
                name = sagemaker_training_job_name(r, world.start + timedelta(hours=a))
                running = b == world.hours
                status = "RUNNING" if running else ("FAILED" if rng.random() < 0.08 else "FINISHED")
                params, _ = _runtime(rng, r.team, gpu_model, gpu_count)
                jobs.append(Job(
                    job_id=f"arn:aws:sagemaker:{r.region}:{r.account.account_id}:training-job/{name}", source="sagemaker",
                    resource=r, hostname=None, start_h=a + 0.05, end_h=None if running else b - 0.02, busy_until_h=b,
                    status=status, gpus=gpu_count, gpu_offset=0, util=_job_util(rng, r.job_type), team=r.team,
                    project=r.project, user=str(rng.choice(USERS[r.team])), params=params, metrics={}, link="arn", name=name))
            continue
        if r.kind == "sagemaker_endpoint" or r.job_type == "inference":
            # the planted idle endpoint draws from its own stream, so everything else stays as it was
            own = np.random.default_rng(world.seed + 909) if "traffic_stops_hours_before_end" in r.notes else rng
            endpoints.append(_endpoint(own, r, diurnal, business, hosts.get(r.resource_id)))
            continue
        if r.job_type not in TRAINING_JOB_TYPES:
            continue  # up, tagged or not, and nobody runs anything on it: idle
        team = r.team or str(rng.choice(list(USERS)))
        gap_mean = {"training": 0.6, "batch_retraining": 1.0}.get(r.job_type, 3.0)
        for a, b in runs_of(r.active):
            b = min(b, world.hours - r.notes.get("quiet_last_hours", 0))  # nothing runs in a planted quiet tail
            if b <= a:
                continue
            t = a + float(rng.uniform(0.1, 0.6))
            while t < b - 0.5:
                shared = gpu_count >= 4 and rng.random() < 0.3 and not r.notes.get("job_gpus")
                slots = 2 if shared else 1
                ends = []
                for slot in range(slots):
                    gpus = r.notes.get("job_gpus") or gpu_count // slots
                    s = t + (float(rng.uniform(0.05, 0.5)) if slot else 0.0)
                    for _attempt in range(4):  # people pick a job that fits before the box stops
                        params, hours = _runtime(rng, team, gpu_model, gpus)
                        if s + hours <= b - 0.05 or b == world.hours:  # still up at the export: may run on
                            break
                    e = s + hours
                    status = "FINISHED"
                    if rng.random() < 0.075:
                        status, e = "FAILED", s + hours * float(rng.uniform(0.05, 0.6))
                    busy = e
                    if e > b - 0.05:
                        if b == world.hours:
                            status, e, busy = "RUNNING", None, b
                        elif rng.random() < 0.5:  # the instance was stopped under it
                            status, e = "KILLED", b - float(rng.uniform(0.02, 0.1))
                            busy = e
                        else:  # too long to fit before the box stops: nobody starts it, the box idles
                            continue
                    done = 1.0 if status == "FINISHED" else max(0.0, (busy - s) / hours)
                    run_id = _uuid(rng).hex
                    project = r.project or str(rng.choice(TEAMS[team]))
                    jobs.append(Job(
                        job_id=run_id, source="mlflow", resource=r, hostname=hosts[r.resource_id], start_h=s, end_h=e,
                        busy_until_h=busy, status=status, gpus=gpus, gpu_offset=slot * gpus,
                        util=_job_util(rng, r.job_type), team=team, project=project, user=str(rng.choice(USERS[team])),
                        params=params, metrics=_progress_metrics(team, params, done),
                        link="resource_id" if rng.random() < 0.55 else "hostname",
                        name=f"{params['model_name']}-{run_id[:6]}"))
                    ends.append(busy)
                if not ends:
                    break  # the next job would not fit before the box stops: it idles until then
                gap = float(rng.exponential(gap_mean))
                if r.job_type in ("research", "experimental") and rng.random() < 0.35:
                    # a notebook session nobody logged: the GPUs are busy, no tracker knows why
                    untracked.setdefault(r.resource_id, []).append((max(ends), min(b, max(ends) + gap)))
                t = max(ends) + gap + 0.05
    # jobs on a box missing from inventory/hosts.csv: kept, reported as unattributed
    sandbox = Resource(resource_id="(unmapped)", account=world.resources[0].account, kind="ec2",
                       instance_type="g5.xlarge", region="us-east-1", team=None, project=None, job_type=None, env=None,
                       experiment_id=None, tag_style="none", pricing="on_demand",
                       active=np.zeros(world.hours, bool), hourly_price=0.0)
    sandbox.active[max(0, world.hours - 24 * 10):] = True
    for k in range(3):
        s = max(0, world.hours - 24 * (10 - 3 * k))
        params, hours = _runtime(rng, "research", "A10G", 1)
        jobs.append(Job(job_id=uuid.UUID(int=stable_int(world.seed, "unmapped", k)).hex, source="mlflow", resource=sandbox,
                        hostname=UNMAPPED_HOST, start_h=s, end_h=s + hours, busy_until_h=s + hours, status="FINISHED",
                        gpus=1, gpu_offset=0, util=0.6, team="research", project="rl-agents", user="gus", params=params,
                        metrics=_progress_metrics("research", params, 1.0), link="hostname",
                        name=f"sandbox-{k}"))
    return Workloads(hosts=hosts, jobs=jobs, endpoints=endpoints, untracked=untracked, sandbox=sandbox)


def _uuid(rng) -> uuid.UUID:
    hi, lo = (int(x) for x in rng.integers(0, 1 << 63, 2))
    return uuid.UUID(int=hi << 64 | lo, version=4)


def _endpoint(rng, r: Resource, diurnal: np.ndarray, business: np.ndarray, host: str | None) -> Endpoint:
    team = r.team or "platform"
    model = {"platform": "llama-3.1-8b-instruct", "nlp": "llama-3.1-70b-instruct-awq", "recsys": "bge-large-en-v1.5",
             "vision": "yolov8-x"}.get(team, "llama-3.1-8b-instruct")
    # peak utilization the traffic reaches; a few endpoints are sized far above their load
    peak = float(rng.choice([0.08, 0.12])) if rng.random() < 0.3 else float(rng.uniform(0.45, 0.85))
    if r.notes.get("traffic") == "business_hours":  # nobody calls it at night or at weekends
        diurnal = diurnal * business
    util = np.where(r.active, np.clip(peak * diurnal * rng.lognormal(0, 0.1, len(diurnal)), 0, 0.99), 0)
    rate = 30 * peak / 0.6 * diurnal  # requests per hour follow the load
    requests = np.where(r.active, rng.poisson(rate), 0)
    if "traffic_stops_hours_before_end" in r.notes:  # its callers moved elsewhere; the endpoint stayed up
        stop = len(util) - int(r.notes["traffic_stops_hours_before_end"])
        util[stop:], requests[stop:] = 0.0, 0
    if r.kind == "sagemaker_endpoint":
        name = r.resource_id.rsplit("/", 1)[-1]
        api_base = f"https://runtime.sagemaker.{r.region}.amazonaws.com/endpoints/{name}/invocations"
    else:
        name = host
        api_base = f"http://{host}:8000/v1"
    callers = [team] if team != "platform" else ["platform", "nlp", "recsys", "research"]
    return Endpoint(r, name, model, api_base, util, requests, callers)


# --- writers -----------------------------------------------------------------------------------
def _iso(world: World, h: float) -> datetime:
    return world.start + timedelta(seconds=round(h * 3600))


def _mlflow_time(dt: datetime | None) -> str:
    return "" if dt is None else dt.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"


def write_jobs(landing: Path, world: World, wl: Workloads) -> list[Path]:
    out = []
    mlflow = [j for j in wl.jobs if j.source == "mlflow"]
    by_team: dict[str, list[Job]] = {}
    for j in mlflow:
        by_team.setdefault(j.team, []).append(j)
    param_keys = sorted({k for j in mlflow for k in j.params})
    metric_keys = sorted({k for j in mlflow for k in j.metrics})
    tag_keys = ["mlflow.runName", "mlflow.source.type", "mlflow.user", "team", "project", "resource_id", "hostname",
                "instance_type", "gpu_count"]
    # search_runs orders columns: run_id, experiment_id, status, artifact_uri, start/end, metrics, params, tags
    header = ["", "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
              *[f"metrics.{k}" for k in metric_keys], *[f"params.{k}" for k in param_keys], *[f"tags.{k}" for k in tag_keys]]
    for team, jobs in sorted(by_team.items()):
        jobs.sort(key=lambda j: -j.start_h)  # search_runs returns newest first
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        # one clock-skewed record (end before start) for the pipeline to reject with its reason
        skewed = next((j.job_id for j in jobs[7:] if j.end_h is not None), None) if team == "vision" else None
        for i, j in enumerate(jobs):
            exp = EXPERIMENT_IDS.get(j.project, "0")
            r = j.resource
            start, end = _iso(world, j.start_h), None if j.end_h is None else _iso(world, j.end_h)
            if j.job_id == skewed:
                start, end = end, start
            tags = {"mlflow.runName": j.name, "mlflow.source.type": "JOB", "mlflow.user": j.user, "team": j.team,
                    "project": j.project, "resource_id": r.resource_id if j.link == "resource_id" else "",
                    "hostname": j.hostname if j.link == "hostname" else "",
                    "instance_type": r.instance_type, "gpu_count": j.gpus}
            w.writerow([i, j.job_id, exp, j.status, f"s3://acme-mlflow/{exp}/{j.job_id}/artifacts",
                        _mlflow_time(start), _mlflow_time(end),
                        *[("" if k not in j.metrics else float(j.metrics[k])) for k in metric_keys],
                        *[j.params.get(k, "") for k in param_keys], *[tags[k] for k in tag_keys]])
        path = landing / "jobs" / "mlflow" / f"runs-{team}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(buf.getvalue())
        out.append(path)
    for j in (j for j in wl.jobs if j.source == "sagemaker"):
        r = j.resource
        status = {"FINISHED": "Completed", "FAILED": "Failed", "RUNNING": "InProgress"}[j.status]
        start = _iso(world, j.start_h)
        doc = {
            "TrainingJobName": j.name, "TrainingJobArn": j.job_id, "TrainingJobStatus": status,
            "SecondaryStatus": {"Completed": "Completed", "Failed": "Failed", "InProgress": "Training"}[status],
            "HyperParameters": {k: str(v) for k, v in j.params.items()},
            "AlgorithmSpecification": {"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311",
                                       "TrainingInputMode": "FastFile"},
            "RoleArn": f"arn:aws:iam::{r.account.account_id}:role/SageMakerExecution",
            "ResourceConfig": {"InstanceType": r.instance_type, "InstanceCount": 1, "VolumeSizeInGB": 200},
            "StoppingCondition": {"MaxRuntimeInSeconds": 432000},
            "CreationTime": (start - timedelta(minutes=4)).isoformat(), "TrainingStartTime": start.isoformat(),
            "EnableManagedSpotTraining": False,
            "Tags": [{"Key": "team", "Value": r.team}, {"Key": "project", "Value": r.project}, {"Key": "user", "Value": j.user}],
        }
        if j.end_h is not None:
            doc["TrainingEndTime"] = _iso(world, j.end_h).isoformat()
            doc["BillableTimeInSeconds"] = int(round((j.end_h - j.start_h) * 3600))
        if status == "Failed":
            doc["FailureReason"] = "AlgorithmError: CUDA out of memory. Tried to allocate 2.00 GiB"
        path = landing / "jobs" / "sagemaker" / f"{j.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2))
        out.append(path)
    return out


def _gpu_load(world: World, wl: Workloads, r: Resource, gpu_count: int, times_h: np.ndarray, rng) -> np.ndarray:
    """Utilization (0-100) per sample time and GPU of one box: idle, jobs, notebooks or traffic."""
    util = rng.uniform(0, 1.5, (len(times_h), gpu_count))
    for j in (j for j in wl.jobs if j.resource is r):
        on = (times_h >= j.start_h) & (times_h < j.busy_until_h)
        if on.any():
            cols = slice(j.gpu_offset, j.gpu_offset + j.gpus)
            util[on, cols] = np.clip(j.util * 100 + rng.normal(0, 6, (int(on.sum()), j.gpus)), 0, 100)
    for a, b in wl.untracked.get(r.resource_id, []):
        on = (times_h >= a) & (times_h < b)
        util[on] = np.clip(rng.normal(55, 10, (int(on.sum()), gpu_count)), 0, 100)
    for ep in (e for e in wl.endpoints if e.resource is r):
        hours = np.minimum(times_h.astype(int), world.hours - 1)
        util = np.clip(ep.util[hours][:, None] * 100 + rng.normal(0, 4, util.shape), 0, 100)
    return np.round(util, 0)


def _sample_times(r: Resource, world: World, step_s: int, first_h: float = 0.0) -> np.ndarray:
    t = np.arange(first_h * 3600, world.hours * 3600, step_s) / 3600.0
    return t[r.active[t.astype(int)]]


def _gpu_uuid(rid: str, i: int) -> str:
    return "GPU-" + str(uuid.UUID(int=stable_int("gpu", rid, i) << 64 | stable_int("gpu-lo", rid, i)))


def write_utilization(landing: Path, world: World, wl: Workloads) -> list[Path]:
    rng = np.random.default_rng(world.seed + 202)
    catalog = load_catalog()
    epoch0 = world.start.timestamp()
    prom_series: dict[str, list[tuple[dict, np.ndarray, np.ndarray]]] = {}
    out = []
    boxes = [r for r in world.resources if r.resource_id in wl.hosts]
    for r in boxes + [wl.sandbox]:
        host = wl.hosts.get(r.resource_id, UNMAPPED_HOST)
        row = catalog[r.instance_type]
        gpu_model, gpu_count, mem_mib = row["gpu_model"], int(row["gpu_count"]), int(row["gpu_memory_gib"]) * 1024
        idle_w, max_w = GPU_POWER[gpu_model]
        smi = r.account.source != "cur2"
        step = SMI_INTERVAL_S if smi else PROM_STEP_S
        times = _sample_times(r, world, step, first_h=max(0, world.hours - 24 * SMI_DAYS) if smi else 0.0)
        if len(times) == 0:
            continue
        util = _gpu_load(world, wl, r, gpu_count, times, rng)
        mem = np.round(np.where(util > 3, mem_mib * (0.45 + 0.45 * rng.random(util.shape)), 300 + 50 * rng.random(util.shape)))
        power = np.round(idle_w + (max_w - idle_w) * util / 100 * (0.85 + 0.15 * rng.random(util.shape)), 2)
        if smi:
            out.append(_write_nvidia_smi(landing, world, host, gpu_model, r, times, util, mem, mem_mib, power))
            continue
        ts = np.round(epoch0 + times * 3600).astype(np.int64)
        mig = MIG_LAYOUT if "eks" in r.notes and gpu_model.startswith("A100") else {}
        for g in range(gpu_count):
            labels = {"DCGM_FI_DRIVER_VERSION": "535.161.08", "Hostname": host, "UUID": _gpu_uuid(r.resource_id, g),
                      "device": f"nvidia{g}", "gpu": str(g), "instance": f"{host}:9400", "job": "dcgm-exporter",
                      "modelName": GPU_PRODUCT[gpu_model], "pci_bus_id": f"00000000:{16 + g:02X}:1C.0"}
            for metric, values in (("DCGM_FI_DEV_GPU_UTIL", util[:, g]), ("DCGM_FI_DEV_FB_USED", mem[:, g]),
                                   ("DCGM_FI_DEV_POWER_USAGE", power[:, g])):
                if g in mig and metric != "DCGM_FI_DEV_POWER_USAGE":
                    continue  # MIG mode: no device-level utilization or memory, per instance below
                prom_series.setdefault(metric, []).append((dict(labels, __name__=metric), ts, values))
            for metric, labelled, values in _shared_gpu_series(world, r, g, mig, times, util[:, g], mem_mib):
                prom_series.setdefault(metric, []).append((dict(labels, **labelled, __name__=metric), ts, values))
    # one query_range export per metric and week, as a scheduled `curl .../query_range` would save
    week_s = 7 * 86400
    for metric, series in sorted(prom_series.items()):
        first = int(epoch0)
        for k, lo in enumerate(range(first, first + world.hours * 3600, week_s)):
            result = []
            for labels, ts, values in series:
                sel = (ts >= lo) & (ts < lo + week_s)
                if sel.any():
                    result.append({"metric": labels, "values": [[int(t), _num(v)] for t, v in zip(ts[sel], values[sel])]})
            if metric == "DCGM_FI_DEV_GPU_UTIL" and k == 3 and result:
                result.append(result[0])  # a federated scrape repeats a series: duplicates to reject
            day = datetime.fromtimestamp(lo, timezone.utc)
            path = landing / "utilization" / "prometheus" / f"{metric.lower()}_{day:%Y-%m-%d}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}},
                                       separators=(",", ":")))
            out.append(path)
    return out


def _shared_gpu_series(world: World, r: Resource, g: int, mig: dict, times_h: np.ndarray, util: np.ndarray,
                       mem_mib: int) -> list[tuple[str, dict, np.ndarray]]:
    """DCGM series of a shared GPU of the EKS cluster, labelled as dcgm-exporter's Kubernetes
    mapping does: per MIG instance (GPU_I_ID, GPU_I_PROFILE) with the pod holding it, or per pod
    time-sharing the GPU. Own random stream, so every other series stays as it was."""
    if "eks" not in r.notes or (g not in mig and r.instance_type != "g4dn.xlarge"):
        return []
    rng = np.random.default_rng(stable_int(world.seed, "shared-gpu", r.resource_id, g))
    hour_of_day = (np.floor(times_h).astype(int) + world.start.hour) % 24
    day = np.clip(np.sin(np.pi * (hour_of_day - 6) / 16), 0, None)
    out = []
    for gid, profile, namespace, pod, load in mig.get(g, []):
        share = {"diurnal": 0.15 + 0.6 * day, "notebook": np.where(rng.random(len(times_h)) < 0.3, 0.7, 0.02),
                 "batch": np.where((hour_of_day >= 0) & (hour_of_day < 6), 0.85, 0.05),
                 "none": np.zeros(len(times_h))}[load]
        active = np.round(np.clip(share + rng.normal(0, 0.04, len(times_h)), 0, 1), 3) * (load != "none")
        slice_mib = int(profile.split(".")[1][:-2]) * 1024
        memory = np.round(np.where(active > 0.03, slice_mib * (0.5 + 0.4 * rng.random(len(times_h))), 0))
        labelled = {"GPU_I_ID": gid, "GPU_I_PROFILE": profile}
        if pod:
            labelled.update(namespace=namespace, pod=pod, container=pod.split("-")[0])
        out += [("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labelled, active), ("DCGM_FI_DEV_FB_USED", labelled, memory)]
    if g not in mig:  # the time-sliced T4: each pod's engine-active share of the GPU's load
        for namespace, pod, share, busy_hours in TIME_SLICED_PODS:
            if busy_hours:
                on = (hour_of_day >= busy_hours[0]) & (hour_of_day < busy_hours[1])
                part = np.where(on, np.clip(0.35 + rng.normal(0, 0.05, len(times_h)), 0, 1), 0.0)
            else:
                part = share * util / 100.0 * (0.9 + 0.2 * rng.random(len(times_h)))
            labelled = {"namespace": namespace, "pod": pod, "container": pod.split("-")[0]}
            out.append(("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labelled, np.round(np.clip(part, 0, 0.6), 3)))
    return out


def _num(v: float) -> str:
    """Prometheus writes sample values as strings, integers without a decimal point."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _write_nvidia_smi(landing, world, host, gpu_model, r, times, util, mem, mem_mib, power) -> Path:
    lines = ["timestamp, name, uuid, utilization.gpu [%], utilization.memory [%], memory.used [MiB], "
             "memory.total [MiB], power.draw [W]"]
    name = GPU_PRODUCT[gpu_model]
    for i, t in enumerate(times):
        stamp = (world.start + timedelta(seconds=float(t) * 3600 + 0.123)).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        for g in range(util.shape[1]):
            lines.append(f"{stamp}, {name}, {_gpu_uuid(r.resource_id, g)}, {int(util[i, g])} %, "
                         f"{int(util[i, g] * 0.6)} %, {int(mem[i, g])} MiB, {mem_mib} MiB, {power[i, g]:.2f} W")
    path = landing / "utilization" / "nvidia-smi" / host / "nvidia-smi.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_inventory(landing: Path, wl: Workloads) -> Path:
    path = landing / "inventory" / "hosts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted((h, rid) for rid, h in wl.hosts.items())
    path.write_text("hostname,resource_id\n" + "".join(f"{h},{rid}\n" for h, rid in rows))
    return path


def write_inference(landing: Path, world: World, wl: Workloads) -> list[Path]:
    rng = np.random.default_rng(world.seed + 303)
    out = []
    first_log_hour = max(0, world.hours - 24 * REQUEST_LOG_DAYS)
    days: dict[str, list[str]] = {}
    tenants = np.random.default_rng(world.seed + 313)  # own stream: the requests drawn below stay as they were
    for ep in wl.endpoints:
        for h in range(first_log_hour, world.hours):
            n = int(ep.requests[h])
            if n == 0:
                continue
            offsets = np.sort(rng.uniform(0, 3600, n))
            embed = ep.model.startswith("bge")
            vision = ep.model.startswith("yolo")
            for k in range(n):
                start = world.start + timedelta(hours=h, seconds=float(offsets[k]))
                prompt = int(rng.lognormal(6.3, 0.9)) + 1
                completion = 0 if embed or vision else int(rng.lognormal(5.0, 0.8)) + 1
                latency = (0.05 + 0.00002 * prompt if embed or vision else 0.25 + 0.018 * completion) * float(rng.lognormal(0, 0.2))
                ok = rng.random() > 0.01
                team = str(rng.choice(ep.callers))
                meta = {"user_api_key_team_alias": team, "user_api_key_alias": f"{team}-prod-key"}
                user = f"{team}-svc"
                if len(ep.callers) > 1:  # the multi-tenant endpoint: several keys and people per team
                    keys = TENANT_KEYS.get(team, [(f"{team}-prod-key", 1.0, 1.0)])
                    alias, p_factor, c_factor = keys[int(tenants.integers(len(keys)))]
                    people = USERS.get(team, [team])
                    user = f"{people[int(tenants.integers(len(people)))]}@acme.example"
                    prompt = max(1, int(prompt * p_factor))
                    completion = max(1, int(completion * c_factor))
                    meta = {"user_api_key_team_alias": team, "user_api_key_alias": alias, "user_api_key_user_id": user,
                            "user_api_key_org_id": "acme"}
                rec = {
                    "request_id": f"chatcmpl-{_uuid(rng).hex}",
                    "call_type": "aembedding" if embed else "acompletion",
                    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
                    "spend": 0.0, "total_tokens": None if vision else prompt + completion,
                    "prompt_tokens": None if vision else prompt, "completion_tokens": None if vision else completion,
                    "startTime": start.isoformat(timespec="milliseconds"),
                    "endTime": (start + timedelta(seconds=latency)).isoformat(timespec="milliseconds"),
                    "model": ep.model, "model_group": ep.model, "api_base": ep.api_base, "user": user,
                    "metadata": dict(meta, status="success" if ok else "failure"),
                    "status": "success" if ok else "failure", "cache_hit": "False",
                }
                days.setdefault(f"{start:%Y-%m-%d}", []).append((start, json.dumps(rec, separators=(",", ":"))))
    for day, recs in sorted(days.items()):
        recs.sort(key=lambda x: x[0])
        path = landing / "inference" / "litellm" / f"spend_logs_{day}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(r + "\n" for _, r in recs))
        out.append(path)
    # CloudWatch: hourly statistics of every SageMaker endpoint over the whole window
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["timestamp", "EndpointName", "VariantName", "metric", "value"])
    catalog = load_catalog()
    for ep in (e for e in wl.endpoints if e.resource.kind == "sagemaker_endpoint"):
        gpus = int(catalog[ep.resource.instance_type]["gpu_count"])
        for h in np.flatnonzero(ep.resource.active):
            ts = (world.start + timedelta(hours=int(h))).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([ts, ep.name, "AllTraffic", "Invocations", int(ep.requests[h])])
            w.writerow([ts, ep.name, "AllTraffic", "ModelLatency", round(float(rng.lognormal(12.5, 0.3)), 1)])  # microseconds
            w.writerow([ts, ep.name, "AllTraffic", "GPUUtilization", round(float(ep.util[h]) * 100 * gpus, 2)])  # summed over GPUs
            w.writerow([ts, ep.name, "AllTraffic", "CPUUtilization", round(float(5 + 30 * ep.util[h]), 2)])
    path = landing / "inference" / "cloudwatch" / "sagemaker-endpoint-metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue())
    out.append(path)
    return out


def write_storage(landing: Path, world: World) -> list[Path]:
    rng = np.random.default_rng(world.seed + 404)
    out = []
    end = world.start + timedelta(hours=world.hours)
    schema = "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessDate"
    for r in (r for r in world.resources if r.kind == "s3"):
        n = 400
        sizes = rng.dirichlet(np.ones(n)) * r.size_gb * 1e9
        ages = rng.exponential(200, n)  # days since last write
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for i in range(n):
            modified = end - timedelta(days=float(ages[i]))
            accessed = modified + timedelta(days=float(rng.uniform(0, ages[i])))
            cls = "STANDARD" if ages[i] < 400 or rng.random() < 0.7 else "STANDARD_IA"
            key = f"datasets/{r.project or 'scratch'}/v{i % 7}/shard {i:05d}.tar"
            w.writerow([r.resource_id, key.replace(" ", "+"), int(sizes[i]), modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        cls, accessed.strftime("%Y-%m-%dT%H:%M:%S.000Z")])
        base = landing / "storage" / "acme-s3-inventory" / r.resource_id / "daily"
        data_key = f"{uuid.UUID(int=stable_int(r.resource_id, 'inv'))}.csv.gz"
        data = base / "data" / data_key
        data.parent.mkdir(parents=True, exist_ok=True)
        with open(data, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
            fh.write(buf.getvalue().encode())
        stamp = (end - timedelta(hours=23)).strftime("%Y-%m-%dT%H-%MZ")
        manifest = base / stamp / "manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({
            "sourceBucket": r.resource_id, "destinationBucket": "arn:aws:s3:::acme-s3-inventory", "version": "2016-11-30",
            "creationTimestamp": str(int((end - timedelta(hours=23)).timestamp() * 1000)), "fileFormat": "CSV",
            "fileSchema": schema,
            "files": [{"key": f"{r.resource_id}/daily/data/{data_key}", "size": data.stat().st_size,
                       "MD5checksum": "0" * 32}],
        }, indent=2))
        out += [data, manifest]
    return out


def write_budgets(landing: Path, world: World) -> Path:
    """What finance allots: last month's run rate per team, with nlp planned too tight."""
    months: dict[tuple[str, str], float] = {}
    hours = world.hour_starts()
    month_of = hours.astype("datetime64[M]").astype(str)
    for r in world.resources:
        if r.team is None or r.kind in ("s3", "transfer"):
            continue
        for m in np.unique(month_of):
            months[(r.team, m)] = months.get((r.team, m), 0.0) + float(r.active[month_of == m].sum()) * r.hourly_price
    full = {}
    for (team, m), v in months.items():
        days = int(((month_of == m).sum()) // 24)
        month_days = (np.datetime64(m, "M") + 1 - np.datetime64(m, "M")).astype("timedelta64[D]").astype(int)
        factor = 0.85 if team == "nlp" else 1.15
        full[(team, m)] = round(v / max(days, 1) * month_days * factor, -2)
    last = max(m for _, m in full)
    nxt = str(np.datetime64(last, "M") + 1)
    for team in {t for t, _ in full}:
        full[(team, nxt)] = full[(team, last)]
    path = landing / "budgets" / "budgets.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("team,month,amount_usd\n" + "".join(f"{t},{m},{v:.2f}\n" for (t, m), v in sorted(full.items())))
    return path


def write_workloads(landing: str | Path, world: World, log=print) -> dict:
    landing = Path(landing)
    wl = simulate(world)
    files = []
    files += write_jobs(landing, world, wl)
    files += write_utilization(landing, world, wl)
    files.append(write_inventory(landing, wl))
    files += write_inference(landing, world, wl)
    files += write_storage(landing, world)
    files.append(write_budgets(landing, world))
    statuses: dict[str, int] = {}
    for j in wl.jobs:
        statuses[j.status] = statuses.get(j.status, 0) + 1
    log(f"  wrote {len(files)} workload files: {len(wl.jobs)} jobs {statuses}, {len(wl.endpoints)} inference endpoints")
    return {"files": files, "jobs": len(wl.jobs), "statuses": statuses}
