"""The sample organisation: accounts, teams and the GPU/storage resources they run.

Every landing file the generator writes (billing now; telemetry, jobs, inference later) is drawn
from this one world, so the files agree with each other the way real exports do.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from ..config import GPU_CATALOG_CSV

DEFAULT_END = datetime(2026, 11, 20, tzinfo=timezone.utc)  # exclusive: data through 2026-11-19
DEFAULT_DAYS = 120

TEAMS = {
    "nlp": ["llm-pretrain", "chat-finetune"],
    "vision": ["detector-v3", "segmentation"],
    "recsys": ["ranker", "embeddings"],
    "platform": ["inference-gateway", "feature-store"],
    "research": ["rl-agents", "diffusion"],
}

# AWS region code -> (CUR usage-type prefix, location name)
REGIONS = {
    "us-east-1": ("USE1", "US East (N. Virginia)"),
    "us-west-2": ("USW2", "US West (Oregon)"),
    "eu-west-1": ("EU", "EU (Ireland)"),
}


def stable_int(*parts) -> int:
    """A hash that is the same in every process (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    payer_id: str
    payer_name: str
    source: str  # cur2 | cur_legacy | focus_gcp


ACCOUNTS = [
    Account("210987654321", "ml-research", "012345678901", "acme-ml-payer", "cur2"),
    Account("345678901234", "ml-production", "012345678901", "acme-ml-payer", "cur2"),
    Account("456789012345", "ml-sandbox", "012345678901", "acme-ml-payer", "cur2"),
    # A second payer still on the legacy CUR; its id starts with a zero, as AWS ids may.
    Account("098765432109", "vision-lab", "098765432109", "vision-lab", "cur_legacy"),
    Account("acme-ml-gcp-4821", "acme-ml-gcp", "01A2B3-C4D5E6-F70819", "Acme ML GCP billing", "focus_gcp"),
]


@dataclass
class Resource:
    resource_id: str
    account: Account
    kind: str            # ec2 | sagemaker_training | sagemaker_endpoint | sagemaker_notebook | gce | s3 | transfer
    instance_type: str | None
    region: str
    team: str | None
    project: str | None
    job_type: str | None
    env: str | None
    experiment_id: str | None
    tag_style: str       # how tags are spelled: lower | capitalised | mixed | none
    pricing: str         # on_demand | spot | savings_plan | reserved
    active: np.ndarray   # bool per hour of the window
    hourly_price: float  # on-demand USD per hour (instances); USD per GB-month (s3)
    size_gb: float = 0.0
    notes: dict = field(default_factory=dict)


def load_catalog() -> dict[str, dict]:
    with open(GPU_CATALOG_CSV, newline="") as fh:
        return {row["instance_type"]: row for row in csv.DictReader(fh)}


@dataclass
class World:
    start: datetime
    hours: int
    resources: list[Resource]
    seed: int
    scale: float

    def hour_starts(self) -> np.ndarray:
        base = np.datetime64(self.start.replace(tzinfo=None), "s")
        return base + np.arange(self.hours).astype("timedelta64[h]")


def _schedule(rng: np.random.Generator, hours: int, start: datetime, pattern: str) -> np.ndarray:
    h = np.arange(hours)
    dt = [start + timedelta(hours=int(i)) for i in range(0, hours, 24)]
    weekday = np.repeat(np.array([d.weekday() < 5 for d in dt]), 24)[:hours]
    hour_of_day = (h + start.hour) % 24
    if pattern == "always":
        return np.ones(hours, bool)
    if pattern == "business":
        return weekday & (hour_of_day >= 8) & (hour_of_day < 20)
    if pattern == "bursty":
        mask = np.zeros(hours, bool)
        t = int(rng.integers(0, 72))
        while t < hours:
            length = int(rng.integers(6, 96))
            mask[t : t + length] = True
            t += length + int(rng.integers(12, 120))
        return mask
    if pattern == "retired":  # ran until a day within the window, then terminated
        stop = int(rng.integers(hours // 4, hours // 2))
        mask = np.zeros(hours, bool)
        mask[:stop] = True
        return mask
    if pattern == "spike":  # a runaway sweep: one ~20-hour burst in the window's last week
        mask = np.zeros(hours, bool)
        begin = hours - 24 * 6 + 2
        mask[max(0, begin):max(0, begin + 20)] = True
        return mask
    if pattern == "new":  # launched part-way through the window
        begin = int(rng.integers(hours // 2, 3 * hours // 4))
        mask = np.zeros(hours, bool)
        mask[begin:] = True
        return mask
    raise ValueError(pattern)


_EC2_FLEET = [
    # (instance type, kind, pattern, pricing, team, job_type)
    ("p4d.24xlarge", "ec2", "bursty", "on_demand", "nlp", "training"),
    ("p4d.24xlarge", "ec2", "bursty", "on_demand", "nlp", "training"),
    ("p5.48xlarge", "ec2", "bursty", "on_demand", "nlp", "training"),
    ("p3.8xlarge", "ec2", "business", "on_demand", "research", "research"),
    ("p3.2xlarge", "ec2", "always", "reserved", "vision", "training"),
    ("p3.2xlarge", "ec2", "retired", "on_demand", "vision", "experimental"),
    ("g5.12xlarge", "ec2", "always", "savings_plan", "platform", "inference"),
    ("g5.12xlarge", "ec2", "always", "savings_plan", "platform", "inference"),
    ("g5.2xlarge", "ec2", "always", "on_demand", "recsys", "inference"),
    ("g5.2xlarge", "ec2", "bursty", "spot", "recsys", "batch_retraining"),
    ("g5.2xlarge", "ec2", "bursty", "spot", "vision", "batch_retraining"),
    ("g5.xlarge", "ec2", "business", "on_demand", "research", "experimental"),
    ("g5.xlarge", "ec2", "always", "on_demand", None, None),  # untagged, forgotten
    ("g4dn.xlarge", "ec2", "always", "on_demand", "platform", "inference"),
    ("g4dn.xlarge", "ec2", "new", "on_demand", "recsys", "inference"),
    ("g4dn.2xlarge", "ec2", "business", "on_demand", "research", "experimental"),
    ("g6.xlarge", "ec2", "new", "on_demand", "platform", "inference"),
    ("p4d.24xlarge", "ec2", "retired", "on_demand", None, "training"),  # tagged without a team
    ("ml.p4d.24xlarge", "sagemaker_training", "bursty", "on_demand", "nlp", "training"),
    ("ml.g5.2xlarge", "sagemaker_training", "bursty", "on_demand", "recsys", "batch_retraining"),
    ("ml.p3.2xlarge", "sagemaker_training", "bursty", "on_demand", "vision", "training"),
    ("ml.g5.xlarge", "sagemaker_endpoint", "always", "on_demand", "platform", "inference"),
    ("ml.g5.xlarge", "sagemaker_endpoint", "always", "on_demand", "recsys", "inference"),
    ("ml.g4dn.xlarge", "sagemaker_endpoint", "always", "on_demand", "nlp", "inference"),
    ("ml.g5.12xlarge", "sagemaker_endpoint", "business", "on_demand", "nlp", "inference"),
    ("g5.xlarge", "ec2", "bursty", "on_demand", "research", "experimental"),
    ("g5.4xlarge", "ec2", "business", "on_demand", "vision", "research"),
    ("p3.2xlarge", "ec2", "bursty", "spot", "research", "research"),
]
_LEGACY_FLEET = [
    ("g4dn.xlarge", "ec2", "always", "on_demand", "vision", "inference"),
    ("g4dn.12xlarge", "ec2", "bursty", "on_demand", "vision", "training"),
    ("p3.8xlarge", "ec2", "bursty", "on_demand", "vision", "training"),
    ("g5.2xlarge", "ec2", "business", "on_demand", "vision", "experimental"),
    ("g5.2xlarge", "ec2", "always", "on_demand", None, None),
    ("p3.2xlarge", "ec2", "retired", "on_demand", "vision", "research"),
]
_GCP_FLEET = [
    ("a2-highgpu-1g", "gce", "bursty", "on_demand", "research", "research"),
    ("a2-highgpu-1g", "gce", "always", "on_demand", "nlp", "inference"),
    ("a2-highgpu-2g", "gce", "bursty", "on_demand", "nlp", "training"),
    ("g2-standard-8", "gce", "always", "on_demand", "platform", "inference"),
    ("g2-standard-8", "gce", "business", "on_demand", None, "experimental"),
    ("a2-ultragpu-1g", "gce", "bursty", "spot", "research", "research"),
    ("a2-highgpu-8g", "gce", "spike", "on_demand", "research", "research"),  # the planted spend anomaly
]


# Planted for the recommendation engine (CUR 2.0 accounts), each with what it must or must not yield:
# (instance type, kind, pattern, pricing, team, job type, notes)
_PLANTED_FLEET = [
    # training box whose runs only ever use one of its four GPUs -> rightsize_gpu to a 1-GPU type
    ("g5.12xlarge", "ec2", "always", "on_demand", "vision", "training", {"job_gpus": 1}),
    # idle DR standby tagged tier=critical -> protected: no idle/rightsize/spot recommendation at all
    ("p3.2xlarge", "ec2", "always", "on_demand", "platform", "standby", {"tags": {"tier": "critical"}}),
    # endpoint with traffic in working hours only, billed around the clock -> autoscale_inference
    ("ml.g5.2xlarge", "sagemaker_endpoint", "always", "on_demand", "recsys", "inference", {"traffic": "business_hours"}),
    # research box whose owner stopped running anything three days before the export -> idle_pause
    ("g5.4xlarge", "ec2", "always", "on_demand", "research", "research", {"quiet_last_hours": 72}),
]


# An EKS GPU cluster with split cost allocation data turned on: three ml-production nodes of the
# EC2 fleet above (by index) and the pods they run, as (namespace, workload, workload type, pod,
# GPUs, vCPUs, GiB requested). AWS writes pod rows from the month the payer opted in.
EKS_CLUSTER = "ml-prod-gpu"
SCAD_START = datetime(2026, 11, 1, tzinfo=timezone.utc)
EKS_PODS = {
    1: [("research", "rl-agents-trainer", "StatefulSet", "rl-agents-trainer-0", 4, 40, 400),
        ("batch", "embedding-backfill", "Job", "embedding-backfill-28fq9", 2, 16, 192)],
    7: [("llm-serving", "vllm-llama3-8b", "Deployment", "vllm-llama3-8b-6c9d7f-x2k4p", 1, 8, 40),
        ("llm-serving", "vllm-llama3-8b", "Deployment", "vllm-llama3-8b-6c9d7f-m8q2z", 1, 8, 40),
        ("llm-serving", "embedding-api", "Deployment", "embedding-api-5b7c8d-t4n7w", 1, 4, 16)],
    13: [("batch", "nightly-eval", "CronJob", "nightly-eval-7k2mp", 1, 2, 8)],
}
# instance type -> (GPUs, vCPUs, GiB), for the split (AWS EC2 instance specs)
EKS_NODE_SPECS = {"p4d.24xlarge": (8, 96, 1152), "g5.12xlarge": (4, 48, 192), "g4dn.xlarge": (1, 4, 16)}


def build_world(seed: int = 7, scale: float = 1.0, days: int = DEFAULT_DAYS, end: datetime = DEFAULT_END) -> World:
    """The organisation. `scale` multiplies the fleet (x10 gives ~400 GPU resources)."""
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=days)
    hours = days * 24
    catalog = load_catalog()
    cur2_accounts = [a for a in ACCOUNTS if a.source == "cur2"]
    legacy = next(a for a in ACCOUNTS if a.source == "cur_legacy")
    gcp = next(a for a in ACCOUNTS if a.source == "focus_gcp")
    styles = ["lower", "capitalised", "mixed"]
    resources: list[Resource] = []
    copies = max(1, int(round(scale)))

    def add(fleet, account_for, prefix):
        for copy in range(copies):
            for i, (itype, kind, pattern, pricing, team, job_type, *notes) in enumerate(fleet):
                account = account_for(i)
                region = "us-east-1" if i % 4 else "us-west-2"
                if kind == "gce":
                    region = "us-central1"
                project = rng.choice(TEAMS[team]) if team else None
                n = len(resources)
                if kind == "ec2":
                    rid = f"i-0{int(rng.integers(1 << 60)):016x}"[:19]
                elif kind == "sagemaker_training":
                    rid = f"arn:aws:sagemaker:{region}:{account.account_id}:training-job/{team or 'adhoc'}-{project or 'job'}-{n:04d}"
                elif kind == "sagemaker_endpoint":
                    rid = f"arn:aws:sagemaker:{region}:{account.account_id}:endpoint/{project or 'ep'}-{n:04d}"
                else:
                    rid = f"//compute.googleapis.com/projects/{account.account_id}/zones/{region}-a/instances/{prefix}-{n:04d}"
                price = float(catalog[itype]["on_demand_hourly_usd"])
                style = "none" if team is None and job_type is None else styles[int(rng.integers(len(styles)))]
                resources.append(Resource(
                    resource_id=rid, account=account, kind=kind, instance_type=itype, region=region,
                    team=team, project=project, job_type=job_type,
                    env="prod" if job_type == "inference" else "dev",
                    experiment_id=f"exp-{int(rng.integers(100, 999))}" if job_type in ("training", "research") else None,
                    tag_style=style, pricing=pricing,
                    active=_schedule(rng, hours, start, pattern), hourly_price=price,
                    notes=dict(notes[0]) if notes else {},
                ))

    add(_EC2_FLEET, lambda i: cur2_accounts[i % len(cur2_accounts)], "ec2")
    add(_LEGACY_FLEET, lambda i: legacy, "ec2")
    add(_GCP_FLEET, lambda i: gcp, "gpu-vm")
    add(_PLANTED_FLEET, lambda i: cur2_accounts[(i + 1) % len(cur2_accounts)], "ec2")
    for i, pods in EKS_PODS.items():  # the first copy's nodes only; no draw from rng, so the rest is unchanged
        resources[i].notes["eks"] = {"cluster": EKS_CLUSTER, "pods": pods}
    # Storage and data transfer, a few per team.
    for copy in range(copies):
        for i, team in enumerate(list(TEAMS) + [None]):
            account = cur2_accounts[i % len(cur2_accounts)]
            resources.append(Resource(
                resource_id=f"acme-{team or 'scratch'}-datasets-{copy}", account=account, kind="s3",
                instance_type=None, region="us-east-1", team=team,
                project=TEAMS[team][0] if team else None, job_type=None, env="prod", experiment_id=None,
                tag_style="lower" if team else "none", pricing="on_demand",
                active=np.ones(hours, bool), hourly_price=0.023, size_gb=float(rng.integers(2_000, 60_000)),
            ))
        resources.append(Resource(
            resource_id="", account=cur2_accounts[0], kind="transfer", instance_type=None, region="us-east-1",
            team="nlp", project="llm-pretrain", job_type="training", env="dev", experiment_id=None,
            tag_style="none", pricing="on_demand", active=np.ones(hours, bool), hourly_price=0.02,
            size_gb=float(rng.integers(200, 900)),  # GB a day moved us-east-1 -> us-west-2
        ))
    # A GPU notebook instance started ten days before the export and not used since: billed every
    # hour with no job, request or telemetry behind it -> idle_pause. Appended last and drawn from
    # no rng, so the rest of the organisation stays as it was.
    notebook_active = np.zeros(hours, bool)
    notebook_active[max(0, hours - 24 * 10):] = True
    account = cur2_accounts[0]
    resources.append(Resource(
        resource_id=f"arn:aws:sagemaker:us-east-1:{account.account_id}:notebook-instance/research-scratch-gpu",
        account=account, kind="sagemaker_notebook", instance_type="ml.g4dn.xlarge", region="us-east-1",
        team="research", project=TEAMS["research"][0], job_type="research", env="dev", experiment_id=None,
        tag_style="lower", pricing="on_demand", active=notebook_active,
        hourly_price=float(catalog["ml.g4dn.xlarge"]["on_demand_hourly_usd"]),
    ))
    # A SageMaker endpoint whose callers moved away five days before the export: zero invocations
    # since, still billed -> idle_pause (production inference pauses after 72 h, with approval).
    resources.append(Resource(
        resource_id=f"arn:aws:sagemaker:us-east-1:{account.account_id}:endpoint/chat-finetune-legacy",
        account=account, kind="sagemaker_endpoint", instance_type="ml.g5.xlarge", region="us-east-1",
        team="nlp", project="chat-finetune", job_type="inference", env="prod", experiment_id=None,
        tag_style="lower", pricing="on_demand", active=np.ones(hours, bool),
        hourly_price=float(catalog["ml.g5.xlarge"]["on_demand_hourly_usd"]),
        notes={"traffic_stops_hours_before_end": 120},
    ))
    return World(start=start, hours=hours, resources=resources, seed=seed, scale=scale)


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True as (first hour, hour after the last)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def sagemaker_training_job_name(r: Resource, started: datetime) -> str:
    """Each run of a SageMaker training resource is its own training job (and its own ARN in CUR)."""
    return f"{r.team or 'adhoc'}-{r.project or 'job'}-{started:%Y%m%d-%H%M}"


def training_job_arns(r: Resource, world: World) -> np.ndarray:
    """Per active hour of a SageMaker training resource, the ARN of the job billed in that hour."""
    arns = np.empty(world.hours, dtype=object)
    base = r.resource_id.rsplit("/", 1)[0]
    for a, b in runs_of(r.active):
        arns[a:b] = f"{base}/{sagemaker_training_job_name(r, world.start + timedelta(hours=a))}"
    return arns
