"""Write a realistic, deterministic landing folder for a small ML organisation.

    python -m orchestration.sample_data.generator --landing data/landing --seed 7 --scale 1

Billing (this module): ~120 days for ~40 GPU resources (EC2 g4dn/g5/g6/p3/p4d/p5, SageMaker
training jobs and endpoints, GCP A100/L4 VMs), S3 and inter-region data transfer, across five
accounts and three export formats, as the real tools lay them out:
- payer 012345678901: AWS Data Exports CUR 2.0, parquet, `cur2/acme-ml-cur2/data/BILLING_PERIOD=YYYY-MM/`
  with a `metadata/.../acme-ml-cur2-Manifest.json`; MAP columns `product`, `resource_tags`,
  `cost_category`; Savings Plan covered usage + negation + recurring fee, RI discounted usage + RIFee,
  spot, credits and tax.
- payer 098765432109: legacy CUR, csv.gz with slash headers, one assembly folder per delivery;
  the current month is delivered twice (a partial delivery, then a restatement).
- Google Cloud billing account: FOCUS 1.2 CSV, one file per month.
Tag keys come in mixed spellings (`user_team`, `user_Team`, `user_TEAM`, `user:Project`) and some
resources carry no tags at all.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .lines import FLOAT, STRING, TIME, Lines
from .world import (DEFAULT_DAYS, DEFAULT_END, EKS_NODE_SPECS, REGIONS, SCAD_START, Resource, World, build_world,
                    stable_int, training_job_arns)

SCHEMA = {
    "usage_account": STRING, "account_name": STRING, "payer": STRING, "payer_name": STRING,
    "start": TIME, "end": TIME, "line_item_type": STRING, "product_code": STRING,
    "product_name": STRING, "product_family": STRING, "usage_type": STRING, "operation": STRING,
    "resource_id": STRING, "usage_amount": FLOAT, "unblended_rate": FLOAT, "unblended_cost": FLOAT,
    "od_rate": FLOAT, "od_cost": FLOAT, "pricing_term": STRING, "pricing_unit": STRING,
    "instance_type": STRING, "region": STRING, "location": STRING, "az": STRING,
    "description": STRING, "sp_arn": STRING, "sp_effective": FLOAT, "sp_total": FLOAT,
    "sp_used": FLOAT, "ri_arn": STRING, "ri_effective": FLOAT, "ri_unused_recurring": FLOAT,
    "tag_ref": STRING, "line_id": FLOAT,
    "split_parent": STRING, "split_cost": FLOAT, "split_unused": FLOAT, "split_usage": FLOAT,
    "split_ratio": FLOAT, "split_actual": FLOAT, "split_reserved": FLOAT,
}

SP_DISCOUNT = 0.28      # Compute Savings Plan, 1 year, no upfront, on g5
SP_COMMITMENT = 8.5     # USD per hour
RI_DISCOUNT = 0.38      # p3.2xlarge standard RI, 1 year, no upfront
SPOT_FACTOR = 0.35      # spot price as a share of on-demand


def _tags(r: Resource) -> dict[str, str]:
    """The resource's tags spelled the way its team spells them (CUR 2.0 / legacy key form)."""
    if r.tag_style == "none":
        return {}
    values = {"team": r.team, "project": r.project, "job_type": r.job_type, "env": r.env,
              "experiment_id": r.experiment_id}
    spelling = {
        "lower": {"team": "team", "project": "project", "job_type": "job_type", "env": "env", "experiment_id": "experiment_id"},
        "capitalised": {"team": "Team", "project": "Project", "job_type": "JobType", "env": "Environment", "experiment_id": "ExperimentId"},
        "mixed": {"team": "TEAM", "project": "project", "job_type": "job-type", "env": "env", "experiment_id": "experiment_id"},
    }[r.tag_style]
    tags = {spelling[k]: v for k, v in values.items() if v}
    tags.update(r.notes.get("tags", {}))
    return tags


class Generator:
    def __init__(self, world: World):
        self.world = world
        self.hour_starts = world.hour_starts()
        self.tag_sets: dict[str, dict[str, str]] = {}
        self.index = {id(r): i for i, r in enumerate(world.resources)}
        # one reservation (ARN, RIFee line) per reserved box: larger scales reserve several
        self.reservation = {id(r): k for k, r in enumerate(r for r in world.resources if r.pricing == "reserved")}

    # --- line items -------------------------------------------------------------------------
    def lines_for(self, resources: list[Resource], lo: int, hi: int) -> Lines:
        """All line items of `resources` whose hour index is in [lo, hi)."""
        out = Lines(SCHEMA)
        for idx, r in enumerate(resources):
            ref = f"{r.resource_id}|{r.tag_style}"
            self.tag_sets[ref] = _tags(r)
            base = self._base(r, ref)
            active = np.flatnonzero(r.active[lo:hi]) + lo
            rix = self.index[id(r)]
            if r.kind in ("ec2", "sagemaker_training", "sagemaker_endpoint", "sagemaker_notebook", "gce"):
                self._instance_hours(out, r, base, active, rix)
                if "eks" in r.notes:
                    self._pod_split_hours(out, r, base, active, rix)
            elif r.kind == "s3":
                self._storage_days(out, r, base, lo, hi, rix)
            elif r.kind == "transfer":
                self._transfer_days(out, r, base, lo, hi, rix)
        return out

    def _base(self, r: Resource, ref: str) -> dict:
        prefix, location = REGIONS.get(r.region, ("USE1", r.region))
        return dict(usage_account=r.account.account_id, account_name=r.account.name,
                    payer=r.account.payer_id, payer_name=r.account.payer_name, region=r.region,
                    location=location, tag_ref=ref, resource_id=r.resource_id or None,
                    az=f"{r.region}a" if r.kind == "ec2" else None, instance_type=r.instance_type), prefix

    def _ri_arn(self, r: Resource) -> str:
        family = r.instance_type.split(".")[0]
        return f"arn:aws:ec2:{r.region}:{r.account.payer_id}:reserved-instances/acme-{family}-ri-{self.reservation[id(r)] + 1}"

    def _ids(self, rix: int, kind: int, hours: np.ndarray) -> np.ndarray:
        return (rix * 100 + kind) * 100_000.0 + hours

    def _instance_hours(self, out: Lines, r: Resource, base_prefix, active: np.ndarray, rix: int) -> None:
        base, prefix = base_prefix
        n = len(active)
        if n == 0:
            return
        starts = self.hour_starts[active]
        ends = starts + np.timedelta64(1, "h")
        price = r.hourly_price
        common = dict(base, start=starts, end=ends, usage_amount=1.0, od_rate=price, od_cost=price,
                      pricing_unit="Hrs", line_id=self._ids(rix, 1, active))
        if r.kind == "ec2":
            common.update(product_code="AmazonEC2", product_name="Amazon Elastic Compute Cloud",
                          product_family="Compute Instance", operation="RunInstances")
            if r.pricing == "spot":
                rng = np.random.default_rng(rix)
                spot = np.round(price * SPOT_FACTOR * (1 + 0.1 * rng.standard_normal(n)).clip(0.7, 1.4), 6)
                out.add(n, **common, line_item_type="Usage", usage_type=f"{prefix}-SpotUsage:{r.instance_type}",
                        unblended_rate=spot, unblended_cost=spot, pricing_term="Spot",
                        description=f"{r.instance_type} Linux/UNIX Spot Instance-hour in {r.region}")
            elif r.pricing == "savings_plan":
                eff = round(price * (1 - SP_DISCOUNT), 6)
                arn = f"arn:aws:savingsplans::{r.account.payer_id}:savingsplan/acme-compute-sp-1"
                out.add(n, **common, line_item_type="SavingsPlanCoveredUsage",
                        usage_type=f"{prefix}-BoxUsage:{r.instance_type}", unblended_rate=price,
                        unblended_cost=price, pricing_term="OnDemand", sp_arn=arn, sp_effective=eff,
                        description=f"Savings Plan covered {r.instance_type} usage")
                out.add(n, **dict(common, line_id=self._ids(rix, 2, active), od_cost=0.0),
                        line_item_type="SavingsPlanNegation",
                        usage_type=f"{prefix}-BoxUsage:{r.instance_type}", unblended_rate=-price,
                        unblended_cost=-price, pricing_term="OnDemand", sp_arn=arn,
                        description=f"SavingsPlanCoveredUsage negation for {r.instance_type}")
            elif r.pricing == "reserved":
                eff = round(price * (1 - RI_DISCOUNT), 6)
                arn = self._ri_arn(r)
                out.add(n, **common, line_item_type="DiscountedUsage",
                        usage_type=f"{prefix}-BoxUsage:{r.instance_type}", unblended_rate=0.0,
                        unblended_cost=0.0, pricing_term="Reserved", ri_arn=arn, ri_effective=eff,
                        description=f"{r.instance_type} reserved instance applied")
            else:
                out.add(n, **common, line_item_type="Usage", usage_type=f"{prefix}-BoxUsage:{r.instance_type}",
                        unblended_rate=price, unblended_cost=price, pricing_term="OnDemand",
                        description=f"${price} per On Demand Linux {r.instance_type} Instance Hour")
        elif r.kind.startswith("sagemaker"):
            suffix = {"sagemaker_training": "Training", "sagemaker_notebook": "Notebook"}.get(r.kind, "Hosting")
            # training and hosting in the older `ml.x-Training` form, the notebook as CUR writes it now
            usage_type = f"{prefix}-Notebk:{r.instance_type}" if suffix == "Notebook" else f"{r.instance_type}-{suffix}"
            if r.kind == "sagemaker_training":  # CUR names the training job, one ARN per job
                common["resource_id"] = training_job_arns(r, self.world)[active].astype(str)
            out.add(n, **common, product_code="AmazonSageMaker", product_name="Amazon SageMaker",
                    product_family="ML Instance", operation=f"RunInstance:{suffix}",
                    line_item_type="Usage", usage_type=usage_type,
                    unblended_rate=price, unblended_cost=price, pricing_term="OnDemand",
                    description=f"${price} per {r.instance_type} {suffix.lower()} hour")
        else:  # gce: written as FOCUS
            factor = SPOT_FACTOR if r.pricing == "spot" else 1.0
            cost = round(price * factor, 6)
            out.add(n, **common, product_code="Compute Engine", product_name="Compute Engine",
                    product_family="Compute", operation="RunInstances", line_item_type="Usage",
                    usage_type=f"{r.instance_type}", unblended_rate=cost, unblended_cost=cost,
                    pricing_term="Spot" if r.pricing == "spot" else "OnDemand",
                    description=f"{r.instance_type} running in {r.region}")

    def _pod_split_hours(self, out: Lines, r: Resource, base_prefix, active: np.ndarray, rix: int) -> None:
        """EKS split cost allocation rows as AWS writes them: per pod and hour one Usage row per
        resource (vCPU, memory, GPU), product AmazonEKS, operation EKSPod-EC2, the pod ARN as
        resource id and no unblended cost of its own (the node's line keeps the bill). The node's
        amortised hourly cost is split with AWS's weights (GPU 9 : vCPU 0.9 : GiB 0.1) and the
        capacity no pod asked for becomes unused cost, spread over the pods by their share."""
        base, prefix = base_prefix
        scad = int((SCAD_START - self.world.start).total_seconds() // 3600)
        active = active[active >= scad]
        n = len(active)
        if n == 0:
            return
        eks = r.notes["eks"]
        if r.pricing == "savings_plan":
            amortised = round(r.hourly_price * (1 - SP_DISCOUNT), 6)
        elif r.pricing == "reserved":
            amortised = round(r.hourly_price * (1 - RI_DISCOUNT), 6)
        elif r.pricing == "spot":
            raise ValueError("EKS sample nodes are on-demand, Savings Plan or reserved")
        else:
            amortised = r.hourly_price
        capacity = dict(zip(("GPU", "vCPU", "GB"), EKS_NODE_SPECS[r.instance_type]))
        weight = {"GPU": 9.0, "vCPU": 0.9, "GB": 0.1}
        unit = amortised / sum(weight[k] * capacity[k] for k in capacity)
        pods = eks["pods"]
        asked = {k: sum(p[4 + i] for p in pods) for i, k in enumerate(("GPU", "vCPU", "GB"))}
        starts = self.hour_starts[active]
        used_share = {"GPU": 1.0, "vCPU": 0.62, "GB": 0.81}  # what pods used of what they requested
        for j, (namespace, workload, workload_type, pod, *req) in enumerate(pods):
            arn = (f"arn:aws:eks:{r.region}:{r.account.account_id}:pod/{eks['cluster']}/{namespace}/{pod}/"
                   f"{uuid.UUID(int=(stable_int(r.resource_id, pod) << 64) | stable_int(pod, r.resource_id))}")
            ref = f"{arn}|eks"
            self.tag_sets[ref] = {"aws_eks_cluster_name": eks["cluster"], "aws_eks_namespace": namespace,
                                  "aws_eks_workload_name": workload, "aws_eks_workload_type": workload_type,
                                  "aws_eks_node": r.resource_id}
            for k, (resource, amount) in enumerate(zip(("GPU", "vCPU", "GB"), req)):
                rate = weight[resource] * unit
                split = amount * rate
                unused = rate * (capacity[resource] - asked[resource]) * amount / asked[resource]
                out.add(n, **dict(base, resource_id=arn, tag_ref=ref, instance_type=None, az=None),
                        start=starts, end=starts + np.timedelta64(1, "h"), product_code="AmazonEKS",
                        product_name="Amazon Elastic Kubernetes Service", product_family="Compute",
                        operation="EKSPod-EC2", line_item_type="Usage",
                        usage_type=f"{prefix}-EKS-EC2-{resource}-Hours", usage_amount=float(amount),
                        unblended_rate=0.0, unblended_cost=0.0, od_rate=0.0, od_cost=0.0,
                        pricing_term="OnDemand", pricing_unit=f"{resource}-Hours",
                        line_id=self._ids(rix, 10 + 3 * j + k, active),
                        description=f"EKS pod {resource}-hours on {r.instance_type}",
                        split_parent=r.resource_id, split_cost=round(split, 10), split_unused=round(unused, 10),
                        split_usage=float(amount), split_ratio=amount / capacity[resource],
                        split_actual=round(amount * used_share[resource], 6), split_reserved=float(amount))

    def _days(self, lo: int, hi: int) -> np.ndarray:
        first = lo + (-(lo + self.world.start.hour) % 24)
        return np.arange(first, hi, 24)

    def _storage_days(self, out: Lines, r: Resource, base_prefix, lo: int, hi: int, rix: int) -> None:
        base, prefix = base_prefix
        days = self._days(lo, hi)
        if len(days) == 0:
            return
        starts = self.hour_starts[days]
        gb_month = np.round(r.size_gb / 30.0 * (1 + 0.002 * np.arange(len(days))), 6)
        cost = np.round(gb_month * r.hourly_price, 8)
        out.add(len(days), **base, start=starts, end=starts + np.timedelta64(1, "D"),
                product_code="AmazonS3", product_name="Amazon Simple Storage Service",
                product_family="Storage", operation="StandardStorage", line_item_type="Usage",
                usage_type=f"{prefix}-TimedStorage-ByteHrs", usage_amount=gb_month,
                unblended_rate=r.hourly_price, unblended_cost=cost, od_rate=r.hourly_price, od_cost=cost,
                pricing_term="OnDemand", pricing_unit="GB-Mo", line_id=self._ids(rix, 3, days),
                description=f"${r.hourly_price} per GB - first 50 TB / month of storage used")

    def _transfer_days(self, out: Lines, r: Resource, base_prefix, lo: int, hi: int, rix: int) -> None:
        base, prefix = base_prefix
        days = self._days(lo, hi)
        if len(days) == 0:
            return
        starts = self.hour_starts[days]
        gb = np.round(r.size_gb * (1 + 0.3 * np.sin(np.arange(len(days)) / 3.0)), 4)
        cost = np.round(gb * r.hourly_price, 8)
        out.add(len(days), **dict(base, resource_id="acme-nlp-datasets-0"), start=starts,
                end=starts + np.timedelta64(1, "D"), product_code="AWSDataTransfer",
                product_name="AWS Data Transfer", product_family="Data Transfer",
                operation="InterRegion Outbound", line_item_type="Usage",
                usage_type=f"{prefix}-USW2-AWS-Out-Bytes", usage_amount=gb, unblended_rate=r.hourly_price,
                unblended_cost=cost, od_rate=r.hourly_price, od_cost=cost, pricing_term="OnDemand",
                pricing_unit="GB", line_id=self._ids(rix, 4, days),
                description=f"${r.hourly_price} per GB - US East (N. Virginia) data transfer to US West (Oregon)")

    def commitment_fees(self, out: Lines, resources: list[Resource], lo: int, hi: int, month_start, month_end) -> None:
        """Savings Plan recurring fee per hour, RIFee per month (unused part as its effective cost)."""
        sp = [r for r in resources if r.pricing == "savings_plan"]
        if sp:
            r0 = sp[0]
            hours = np.arange(lo, hi)
            used = np.zeros(len(hours))
            for r in sp:
                used += r.active[lo:hi] * round(r.hourly_price * (1 - SP_DISCOUNT), 6)
            used = np.minimum(used, SP_COMMITMENT)
            base, prefix = self._base(r0, "sp-fee|none")
            self.tag_sets["sp-fee|none"] = {}
            arn = f"arn:aws:savingsplans::{r0.account.payer_id}:savingsplan/acme-compute-sp-1"
            starts = self.hour_starts[hours]
            out.add(len(hours), **dict(base, resource_id=arn, instance_type=None, az=None), start=starts,
                    end=starts + np.timedelta64(1, "h"), product_code="ComputeSavingsPlans",
                    product_name="Savings Plans for AWS Compute usage", product_family="Savings Plans",
                    operation="", line_item_type="SavingsPlanRecurringFee", usage_type="ComputeSP:1yrNoUpfront",
                    usage_amount=1.0, unblended_rate=SP_COMMITMENT, unblended_cost=SP_COMMITMENT,
                    pricing_term=None, pricing_unit="Hrs", sp_arn=arn, sp_total=SP_COMMITMENT, sp_used=np.round(used, 6),
                    line_id=self._ids(9990, 5, hours),
                    description="1 year No Upfront Compute Savings Plan")
        for r in resources:
            if r.pricing != "reserved":
                continue
            rate = round(r.hourly_price * (1 - RI_DISCOUNT), 6)
            window_hours = hi - lo
            used_hours = int(r.active[lo:hi].sum())
            base, prefix = self._base(r, "ri-fee|none")
            self.tag_sets["ri-fee|none"] = {}
            arn = self._ri_arn(r)
            out.add(1, **dict(base, resource_id=arn, az=None), start=np.datetime64(month_start.replace(tzinfo=None), "s"),
                    end=np.datetime64(month_end.replace(tzinfo=None), "s"), product_code="AmazonEC2",
                    product_name="Amazon Elastic Compute Cloud", product_family="Compute Instance",
                    operation="RunInstances", line_item_type="RIFee", usage_type=f"{prefix}-HeavyUsage:{r.instance_type}",
                    usage_amount=float(window_hours), unblended_rate=rate, unblended_cost=round(rate * window_hours, 6),
                    pricing_term="Reserved", pricing_unit="Hrs", ri_arn=arn,
                    ri_unused_recurring=round(rate * (window_hours - used_hours), 6),
                    line_id=self._ids(9991, 6, np.array([lo + 10_000 * self.reservation[id(r)]]))[0],
                    description=f"USD {rate} hourly fee per Linux/UNIX (Amazon VPC), {r.instance_type} instance")

    def monthly_adjustments(self, out: Lines, account, usage_total: float, month_start, month_end, credit: float) -> None:
        base = dict(usage_account=account.account_id, account_name=account.name, payer=account.payer_id,
                    payer_name=account.payer_name, region=None, location=None, tag_ref="none|none",
                    resource_id=None, az=None, instance_type=None)
        self.tag_sets["none|none"] = {}
        s, e = np.datetime64(month_start.replace(tzinfo=None), "s"), np.datetime64(month_end.replace(tzinfo=None), "s")
        tax = round(usage_total * 0.0625, 6)
        out.add(1, **base, start=s, end=e, product_code="AmazonEC2", product_name="Amazon Elastic Compute Cloud",
                line_item_type="Tax", usage_type="", operation="", usage_amount=1.0, unblended_cost=tax,
                od_cost=tax, line_id=float(stable_int(account.account_id, month_start) % 10**9),
                description="Tax for product code AmazonEC2")
        if credit:
            out.add(1, **base, start=s, end=e, product_code="AmazonSageMaker", product_name="Amazon SageMaker",
                    line_item_type="Credit", usage_type="", operation="", usage_amount=0.0,
                    unblended_cost=-credit, od_cost=0.0,
                    line_id=float(stable_int(account.account_id, "credit", month_start) % 10**9 + 1),
                    description="AWS Activate credits")


# --- month windows ---------------------------------------------------------------------------
def month_windows(world: World, until_hour: int | None = None):
    """(period 'YYYY-MM', month start, month end, lo hour, hi hour) covering the window."""
    end_hour = world.hours if until_hour is None else until_hour
    t = world.start.replace(day=1, hour=0, minute=0, second=0)
    while True:
        nxt = (t + timedelta(days=32)).replace(day=1)
        lo = max(0, int((t - world.start).total_seconds() // 3600))
        hi = min(end_hour, int((nxt - world.start).total_seconds() // 3600))
        if lo >= end_hour:
            break
        if hi > lo:
            yield t.strftime("%Y-%m"), t, nxt, lo, hi
        t = nxt


def _set_mtime(path: Path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


def _delivered(world: World, month_end: datetime, hi: int) -> datetime:
    """Closed months land on the 3rd of the next month; the open month the morning after its data."""
    data_end = world.start + timedelta(hours=hi)
    return min(month_end + timedelta(days=2), data_end) + timedelta(hours=6)


# --- writers ---------------------------------------------------------------------------------
def _map_column(refs: pa.DictionaryArray, per_ref: dict[str, dict[str, str]]) -> pa.Array:
    """One MAP per row: the entries of the row's ref (rows sharing a ref share its entries)."""
    ref_values = refs.dictionary.to_pylist()
    codes = refs.indices.to_numpy(zero_copy_only=False)
    sizes = np.array([len(per_ref.get(v, {})) for v in ref_values], dtype=np.int64)
    row_sizes = sizes[codes]
    offsets = np.concatenate([[0], np.cumsum(row_sizes)]).astype(np.int32)
    # keys/items for each row: gather from each ref's flattened entries
    flat_k = [list(per_ref.get(v, {}).keys()) for v in ref_values]
    flat_v = [list(per_ref.get(v, {}).values()) for v in ref_values]
    starts = np.concatenate([[0], np.cumsum(sizes)])[:-1]
    all_k = np.array([k for ks in flat_k for k in ks] or [""], dtype=object)
    all_v = np.array([v for vs in flat_v for v in vs] or [""], dtype=object)
    # each row takes its ref's run of entries: start of the run + position inside it
    row_start = starts[codes]
    entry_idx = np.repeat(row_start - offsets[:-1], row_sizes) + np.arange(offsets[-1])
    keys = pa.array(all_k[entry_idx] if len(entry_idx) else np.array([], dtype=object), type=pa.string())
    items = pa.array(all_v[entry_idx] if len(entry_idx) else np.array([], dtype=object), type=pa.string())
    return pa.MapArray.from_arrays(pa.array(offsets, type=pa.int32()), keys, items)


def cur2_table(gen: Generator, lines: Lines, billing_start: datetime, billing_end: datetime) -> pa.Table:
    n = lines.n
    c = lines.column
    # user tags get CUR 2.0's `user_` prefix; AWS-generated ones (EKS pods) already carry `aws_`
    user_tags = {ref: {(k if k.startswith("aws_") else f"user_{k}"): v for k, v in tags.items()}
                 for ref, tags in gen.tag_sets.items()}
    for ref in user_tags:
        if ref.startswith(("i-", "arn:aws:sagemaker")):
            user_tags[ref]["aws_createdBy"] = "AssumedRole:ml-platform-ci"
    # product map per row: instance_type / region / product_family / product_name
    prod_ref = pc.binary_join_element_wise(
        pc.fill_null(c("instance_type").cast(pa.string()), ""), pc.fill_null(c("region").cast(pa.string()), ""),
        pc.fill_null(c("product_family").cast(pa.string()), ""), pc.fill_null(c("product_name").cast(pa.string()), ""), "|")
    prod_dict = pc.dictionary_encode(prod_ref)
    prod_maps = {}
    for v in prod_dict.dictionary.to_pylist():
        it, rg, pf, pn = v.split("|")
        m = {}
        if it:
            m["instance_type"] = it
        if rg:
            m["region"] = rg
        if pf:
            m["product_family"] = pf
        if pn:
            m["product_name"] = pn
        prod_maps[v] = m
    cost_cat = {ref: ({"business_unit": "ml"} if tags else {}) for ref, tags in gen.tag_sets.items()}

    def s(name):
        return c(name).cast(pa.string())

    line_id = pc.cast(pc.cast(c("line_id"), pa.int64()), pa.string())
    start = c("start")
    interval = pc.binary_join_element_wise(pc.strftime(start, "%Y-%m-%dT%H:%M:%SZ"),
                                           pc.strftime(c("end"), "%Y-%m-%dT%H:%M:%SZ"), "/")
    bp_start = pa.array(np.full(n, np.datetime64(billing_start.replace(tzinfo=None), "s")), pa.timestamp("s"))
    bp_end = pa.array(np.full(n, np.datetime64(billing_end.replace(tzinfo=None), "s")), pa.timestamp("s"))
    cols = {
        "bill_bill_type": pa.array(np.full(n, "Anniversary", dtype=object), pa.string()),
        "bill_billing_entity": pa.array(np.full(n, "AWS", dtype=object), pa.string()),
        "bill_billing_period_end_date": bp_end,
        "bill_billing_period_start_date": bp_start,
        "bill_invoice_id": pa.nulls(n, pa.string()),
        "bill_invoicing_entity": pa.array(np.full(n, "Amazon Web Services, Inc.", dtype=object), pa.string()),
        "bill_payer_account_id": s("payer"),
        "bill_payer_account_name": s("payer_name"),
        "cost_category": _map_column(c("tag_ref"), cost_cat),
        "discount": pa.MapArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.float64())),
        "identity_line_item_id": line_id,
        "identity_time_interval": interval,
        "line_item_availability_zone": s("az"),
        "line_item_blended_cost": c("unblended_cost"),
        "line_item_blended_rate": pc.cast(c("unblended_rate"), pa.string()),
        "line_item_currency_code": pa.array(np.full(n, "USD", dtype=object), pa.string()),
        "line_item_legal_entity": pa.array(np.full(n, "Amazon Web Services, Inc.", dtype=object), pa.string()),
        "line_item_line_item_description": s("description"),
        "line_item_line_item_type": s("line_item_type"),
        "line_item_net_unblended_cost": c("unblended_cost"),
        "line_item_normalization_factor": pa.nulls(n, pa.float64()),
        "line_item_operation": s("operation"),
        "line_item_product_code": s("product_code"),
        "line_item_resource_id": s("resource_id"),
        "line_item_tax_type": pa.nulls(n, pa.string()),
        "line_item_unblended_cost": c("unblended_cost"),
        "line_item_unblended_rate": pc.cast(c("unblended_rate"), pa.string()),
        "line_item_usage_account_id": s("usage_account"),
        "line_item_usage_account_name": s("account_name"),
        "line_item_usage_amount": c("usage_amount"),
        "line_item_usage_end_date": c("end"),
        "line_item_usage_start_date": start,
        "line_item_usage_type": s("usage_type"),
        "pricing_currency": pa.array(np.full(n, "USD", dtype=object), pa.string()),
        "pricing_public_on_demand_cost": c("od_cost"),
        "pricing_public_on_demand_rate": pc.cast(c("od_rate"), pa.string()),
        "pricing_term": s("pricing_term"),
        "pricing_unit": s("pricing_unit"),
        "product": _map_column(prod_dict, prod_maps),
        "product_from_location": pa.nulls(n, pa.string()),
        "product_instance_family": pa.nulls(n, pa.string()),
        "product_location": s("location"),
        "product_servicecode": s("product_code"),
        "reservation_effective_cost": c("ri_effective"),
        "reservation_reservation_a_r_n": s("ri_arn"),
        "reservation_unused_amortized_upfront_fee_for_billing_period": pa.nulls(n, pa.float64()),
        "reservation_unused_recurring_fee": c("ri_unused_recurring"),
        "resource_tags": _map_column(c("tag_ref"), user_tags),
        "savings_plan_savings_plan_a_r_n": s("sp_arn"),
        "savings_plan_savings_plan_effective_cost": c("sp_effective"),
        "savings_plan_total_commitment_to_date": c("sp_total"),
        "savings_plan_used_commitment": c("sp_used"),
        # the export's "include split cost allocation data" columns (NULL on all but pod rows)
        "split_line_item_actual_usage": c("split_actual"),
        "split_line_item_parent_resource_id": s("split_parent"),
        "split_line_item_reserved_usage": c("split_reserved"),
        "split_line_item_split_cost": c("split_cost"),
        "split_line_item_split_usage": c("split_usage"),
        "split_line_item_split_usage_ratio": c("split_ratio"),
        "split_line_item_unused_cost": c("split_unused"),
    }
    return pa.table(cols)


def legacy_table(gen: Generator, lines: Lines, billing_start: datetime, billing_end: datetime) -> pa.Table:
    n = lines.n
    c = lines.column

    def s(name):
        return pc.fill_null(c(name).cast(pa.string()), "")

    def f(name):
        return pc.fill_null(pc.cast(c(name), pa.string()), "")

    ts = lambda name: pc.strftime(c(name), "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    const = lambda v: pa.array(np.full(n, v, dtype=object), pa.string())  # noqa: E731
    cols = {
        "identity/LineItemId": pc.cast(pc.cast(c("line_id"), pa.int64()), pa.string()),
        "identity/TimeInterval": pc.binary_join_element_wise(ts("start"), ts("end"), "/"),
        "bill/InvoiceId": const(""),
        "bill/BillingEntity": const("AWS"),
        "bill/BillType": const("Anniversary"),
        "bill/PayerAccountId": s("payer"),
        "bill/BillingPeriodStartDate": const(billing_start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "bill/BillingPeriodEndDate": const(billing_end.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "lineItem/UsageAccountId": s("usage_account"),
        "lineItem/LineItemType": s("line_item_type"),
        "lineItem/UsageStartDate": ts("start"),
        "lineItem/UsageEndDate": ts("end"),
        "lineItem/ProductCode": s("product_code"),
        "lineItem/UsageType": s("usage_type"),
        "lineItem/Operation": s("operation"),
        "lineItem/AvailabilityZone": s("az"),
        "lineItem/ResourceId": s("resource_id"),
        "lineItem/UsageAmount": f("usage_amount"),
        "lineItem/CurrencyCode": const("USD"),
        "lineItem/UnblendedRate": f("unblended_rate"),
        "lineItem/UnblendedCost": f("unblended_cost"),
        "lineItem/BlendedRate": f("unblended_rate"),
        "lineItem/BlendedCost": f("unblended_cost"),
        "lineItem/LineItemDescription": s("description"),
        "product/ProductName": s("product_name"),
        "product/instanceType": s("instance_type"),
        "product/location": s("location"),
        "product/productFamily": s("product_family"),
        "product/region": s("region"),
        "pricing/publicOnDemandCost": f("od_cost"),
        "pricing/publicOnDemandRate": f("od_rate"),
        "pricing/term": s("pricing_term"),
        "pricing/unit": s("pricing_unit"),
    }
    # One column per tag key, as legacy CUR writes them (`resourceTags/user:Team`).
    refs = c("tag_ref")
    ref_values = refs.dictionary.to_pylist()
    codes = refs.indices.to_numpy(zero_copy_only=False)
    keys = sorted({k for v in ref_values for k in gen.tag_sets.get(v, {})})
    for k in keys:
        per_ref = np.array([gen.tag_sets.get(v, {}).get(k, "") for v in ref_values], dtype=object)
        cols[f"resourceTags/user:{k}"] = pa.array(per_ref[codes] if n else [], pa.string())
    return pa.table(cols)


FOCUS_12_COLUMNS = [
    "ProviderName", "PublisherName", "InvoiceIssuerName", "InvoiceId", "BillingAccountId",
    "BillingAccountName", "BillingAccountType", "SubAccountId", "SubAccountName", "SubAccountType",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory", "PricingQuantity",
    "PricingUnit", "PricingCurrency", "BillingCurrency", "ConsumedQuantity", "ConsumedUnit",
    "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceId",
    "SkuPriceDetails", "ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName",
    "AvailabilityZone", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory",
    "CommitmentDiscountType", "CommitmentDiscountStatus", "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit", "CapacityReservationId", "CapacityReservationStatus", "Tags",
]


def focus_table(gen: Generator, lines: Lines, billing_start: datetime, billing_end: datetime) -> pa.Table:
    n = lines.n
    c = lines.column
    ts = lambda name: pc.strftime(c(name), "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    const = lambda v: pa.array(np.full(n, v, dtype=object), pa.string())  # noqa: E731
    s = lambda name: c(name).cast(pa.string())  # noqa: E731
    num = lambda name: pc.cast(c(name), pa.string())  # noqa: E731
    refs = c("tag_ref")
    ref_values = refs.dictionary.to_pylist()
    codes = refs.indices.to_numpy(zero_copy_only=False)
    # GCP labels are lower-case with hyphens
    tag_json = np.array([
        json.dumps({k.lower().replace("_", "-"): v for k, v in gen.tag_sets.get(v, {}).items()}) if gen.tag_sets.get(v) else ""
        for v in ref_values], dtype=object)
    it = pc.fill_null(s("instance_type"), "")
    sku_details = pc.binary_join_element_wise(const('{"InstanceType":"'), it, const('"}'), "")
    spot = pc.equal(pc.fill_null(s("pricing_term"), ""), "Spot")
    cols = {
        "ProviderName": const("Google Cloud"), "PublisherName": const("Google"),
        "InvoiceIssuerName": const("Google Cloud"), "InvoiceId": const(f"GCP-{billing_start:%Y%m}-4821"),
        "BillingAccountId": s("payer"), "BillingAccountName": s("payer_name"),
        "BillingAccountType": const("Billing Account"), "SubAccountId": s("usage_account"),
        "SubAccountName": s("account_name"), "SubAccountType": const("Project"),
        "BillingPeriodStart": const(billing_start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "BillingPeriodEnd": const(billing_end.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "ChargePeriodStart": ts("start"), "ChargePeriodEnd": ts("end"),
        "ChargeCategory": const("Usage"), "ChargeClass": const(""), "ChargeDescription": s("description"),
        "ChargeFrequency": const("Usage-Based"), "BilledCost": num("unblended_cost"),
        "EffectiveCost": num("unblended_cost"), "ListCost": num("od_cost"), "ContractedCost": num("unblended_cost"),
        "ListUnitPrice": num("od_rate"), "ContractedUnitPrice": num("unblended_rate"),
        "PricingCategory": pc.if_else(spot, "Dynamic", "Standard"), "PricingQuantity": num("usage_amount"),
        "PricingUnit": const("Hours"), "PricingCurrency": const("USD"), "BillingCurrency": const("USD"),
        "ConsumedQuantity": num("usage_amount"), "ConsumedUnit": const("Hours"),
        "ServiceName": const("Compute Engine"), "ServiceCategory": const("Compute"),
        "ServiceSubcategory": const("Virtual Machines"), "SkuId": s("usage_type"), "SkuMeter": const("Compute"),
        "SkuPriceId": s("usage_type"), "SkuPriceDetails": sku_details, "ResourceId": s("resource_id"),
        "ResourceName": s("resource_id"), "ResourceType": const("Compute Instance"), "RegionId": s("region"),
        "RegionName": s("region"), "AvailabilityZone": pc.binary_join_element_wise(s("region"), const("-a"), ""),
        **{k: const("") for k in ("CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory",
                                  "CommitmentDiscountType", "CommitmentDiscountStatus", "CommitmentDiscountQuantity",
                                  "CommitmentDiscountUnit", "CapacityReservationId", "CapacityReservationStatus")},
        "Tags": pa.array(tag_json[codes] if n else [], pa.string()),
    }
    return pa.table({k: cols[k] for k in FOCUS_12_COLUMNS})


def _write_csv_gz(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    # mtime=0: gzip otherwise stamps the current time in its header and the bytes differ per run
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5, mtime=0) as fh:
        pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="needed"))
    os.replace(tmp, path)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    # several row groups per file, as AWS writes them: DuckDB reads row groups in parallel
    pq.write_table(table, tmp, compression="snappy", row_group_size=131_072)
    os.replace(tmp, path)


def generate(landing: str | Path, seed: int = 7, scale: float = 1.0, days: int = DEFAULT_DAYS,
             end: datetime = DEFAULT_END, log=print, formats: tuple[str, ...] = ("cur2", "cur_legacy", "focus"),
             workloads: bool = True) -> dict:
    """Write the sample landing folder; returns a summary (files, rows, billed totals).
    `workloads=False` writes billing only (the ingest benchmark)."""
    landing = Path(landing)
    world = build_world(seed=seed, scale=scale, days=days, end=end)
    gen = Generator(world)
    summary = {"files": [], "rows": 0, "billed_cost": 0.0, "resources": len(world.resources)}
    by_source: dict[str, list[Resource]] = {}
    for r in world.resources:
        by_source.setdefault(r.account.source, []).append(r)
    rng_credit = np.random.default_rng(seed + 1)
    last_period = None
    for period, m_start, m_end, lo, hi in month_windows(world):
        last_period = period
        delivered = _delivered(world, m_end, hi)
        # --- CUR 2.0, one payer, chunked into parts as AWS does for large exports
        export = "acme-ml-cur2"
        folder = landing / "billing" / "cur2" / export / "data" / f"BILLING_PERIOD={period}"
        resources = by_source["cur2"]
        chunk = 400
        data_files = []
        for part, i in enumerate(range(0, len(resources), chunk), start=1):
            lines = gen.lines_for(resources[i:i + chunk], lo, hi)
            if part == 1:
                gen.commitment_fees(lines, resources, lo, hi, m_start, m_end)
                usage = float(np.nansum(lines.column("unblended_cost").to_numpy(zero_copy_only=False)))
                for account in {r.account.account_id: r.account for r in resources}.values():
                    gen.monthly_adjustments(lines, account, usage / 3, m_start, m_end,
                                            credit=float(rng_credit.integers(100, 400)) if account.name == "ml-research" else 0)
            table = cur2_table(gen, lines, m_start, m_end)
            path = folder / f"{export}-{part:05d}.snappy.parquet"
            _write_parquet(table, path)
            _set_mtime(path, delivered)
            data_files.append(path)
            summary["rows"] += table.num_rows
            summary["billed_cost"] += float(pc.sum(table["line_item_unblended_cost"]).as_py() or 0)
            log(f"  wrote {path.relative_to(landing)} ({table.num_rows:,} rows)")
        manifest = landing / "billing" / "cur2" / export / "metadata" / f"BILLING_PERIOD={period}" / f"{export}-Manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({
            "executionId": str(uuid.UUID(int=stable_int(seed, period))),
            "billingPeriod": {"start": m_start.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "end": m_end.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
            "dataFiles": [f"s3://acme-billing/{p.relative_to(landing / 'billing' / 'cur2')}" for p in data_files],
            "reportName": export,
        }, indent=2))
        _set_mtime(manifest, delivered)
        summary["files"] += data_files

        if "cur_legacy" not in formats:
            continue
        # --- legacy CUR: one assembly per delivery
        legacy = by_source["cur_legacy"]
        report = "vision-lab-cur"
        span = f"{m_start:%Y%m%d}-{m_end:%Y%m%d}"
        deliveries = [(hi, delivered)]
        if hi < int((m_end - world.start).total_seconds() // 3600) and hi - lo > 24 * 8:
            # the open month: a partial delivery a week earlier, then the restatement
            deliveries = [(hi - 24 * 7, delivered - timedelta(days=7)), (hi, delivered)]
        for k, (upto, when) in enumerate(deliveries):
            lines = gen.lines_for(legacy, lo, upto)
            usage = float(np.nansum(lines.column("unblended_cost").to_numpy(zero_copy_only=False)))
            gen.monthly_adjustments(lines, legacy[0].account, usage, m_start, m_end, credit=0)
            table = legacy_table(gen, lines, m_start, m_end)
            assembly = str(uuid.UUID(int=stable_int(seed, period, k)))
            path = landing / "billing" / "cur-legacy" / report / span / assembly / f"{report}-1.csv.gz"
            _write_csv_gz(table, path)
            _set_mtime(path, when)
            (path.parent.parent / f"{report}-Manifest.json").write_text(json.dumps({
                "assemblyId": assembly, "reportKeys": [f"cur/{report}/{span}/{assembly}/{report}-1.csv.gz"],
                "billingPeriod": {"start": m_start.strftime("%Y%m%dT000000.000Z"), "end": m_end.strftime("%Y%m%dT000000.000Z")},
            }, indent=2))
            summary["files"].append(path)
            if k == len(deliveries) - 1:
                summary["rows"] += table.num_rows
                summary["billed_cost"] += float(pc.sum(lines.column("unblended_cost")).as_py() or 0)
            log(f"  wrote {path.relative_to(landing)} ({table.num_rows:,} rows)")

        if "focus" not in formats:
            continue
        # --- FOCUS 1.2 from Google Cloud, a file per month
        lines = gen.lines_for(by_source["focus_gcp"], lo, hi)
        table = focus_table(gen, lines, m_start, m_end)
        path = landing / "billing" / "focus" / "gcp" / f"focus-gcp-{period}.csv.gz"
        _write_csv_gz(table, path)
        _set_mtime(path, delivered)
        summary["files"].append(path)
        summary["rows"] += table.num_rows
        summary["billed_cost"] += float(pc.sum(lines.column("unblended_cost")).as_py() or 0)
        log(f"  wrote {path.relative_to(landing)} ({table.num_rows:,} rows)")
    summary["last_period"] = last_period
    if workloads:
        from .workloads import write_workloads

        summary["workloads"] = write_workloads(landing, world, log=log)
    return summary


def landing_is_empty(landing: str | Path) -> bool:
    p = Path(landing)
    return not p.exists() or not any(x.is_file() for x in p.rglob("*"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--landing", default="data/landing")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0, help="fleet multiplier (1 = ~40 GPU resources)")
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS)
    args = ap.parse_args(argv)
    s = generate(args.landing, args.seed, args.scale, args.days)
    print(f"{len(s['files'])} files, {s['rows']:,} line items, billed ${s['billed_cost']:,.2f}")


if __name__ == "__main__":
    main()
