"""EKS split cost allocation data in CUR 2.0 (parquet) and legacy CUR (csv, `splitLineItem/`
headers) lands in the canonical `x_split_*` columns, and pod rows add nothing to the bill."""

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import ingest_all

T0, T1 = datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 11)
P0, P1 = datetime(2026, 11, 1), datetime(2026, 12, 1)
NODE = "i-0abc123def4567890"
POD = "arn:aws:eks:us-east-1:345678901234:pod/ml-prod-gpu/llm-serving/vllm-6c9d7f-x2k4p/0c1d2e3f"

# (resource id, product, operation, usage type, unblended, parent, split cost, unused, usage, ratio, actual, reserved, tags)
ROWS = [
    (NODE, "AmazonEC2", "RunInstances", "USE1-BoxUsage:g5.12xlarge", 5.672, None, None, None, None, None, None, None, {}),
    (POD, "AmazonEKS", "EKSPod-EC2", "USE1-EKS-EC2-GPU-Hours", 0.0, NODE, 2.1, 0.7, 1.0, 0.25, 1.0, 1.0,
     {"aws_eks_cluster_name": "ml-prod-gpu", "aws_eks_namespace": "llm-serving", "aws_eks_workload_name": "vllm"}),
    (POD, "AmazonEKS", "EKSPod-EC2", "USE1-EKS-EC2-vCPU-Hours", 0.0, NODE, 0.21, 0.5, 8.0, 1 / 6, 4.96, 8.0,
     {"aws_eks_cluster_name": "ml-prod-gpu", "aws_eks_namespace": "llm-serving", "aws_eks_workload_name": "vllm"}),
]


def write_cur2_split(path, net: bool = True):
    n = len(ROWS)
    col = lambda i: [r[i] for r in ROWS]  # noqa: E731
    table = {
        "bill_payer_account_id": ["012345678901"] * n,
        "bill_billing_period_start_date": pa.array([P0] * n, pa.timestamp("ms")),
        "bill_billing_period_end_date": pa.array([P1] * n, pa.timestamp("ms")),
        "line_item_usage_account_id": ["345678901234"] * n,
        "line_item_line_item_type": ["Usage"] * n,
        "line_item_resource_id": col(0),
        "line_item_product_code": col(1),
        "line_item_operation": col(2),
        "line_item_usage_type": col(3),
        "line_item_usage_start_date": pa.array([T0] * n, pa.timestamp("ms")),
        "line_item_usage_end_date": pa.array([T1] * n, pa.timestamp("ms")),
        "line_item_unblended_cost": pa.array(col(4), pa.float64()),
        "line_item_usage_amount": pa.array([1.0] * n),
        "split_line_item_parent_resource_id": col(5),
        "split_line_item_split_cost": pa.array(col(6), pa.float64()),
        "split_line_item_unused_cost": pa.array(col(7), pa.float64()),
        "split_line_item_split_usage": pa.array(col(8), pa.float64()),
        "split_line_item_split_usage_ratio": pa.array(col(9), pa.float64()),
        "split_line_item_actual_usage": pa.array(col(10), pa.float64()),
        "split_line_item_reserved_usage": pa.array(col(11), pa.float64()),
        "resource_tags": pa.array([list(r[12].items()) for r in ROWS], type=pa.map_(pa.string(), pa.string())),
    }
    if net:  # written only when the account has discounts
        table["split_line_item_net_split_cost"] = pa.array([None, 1.995, 0.1995], pa.float64())
        table["split_line_item_net_unused_cost"] = pa.array([None, 0.665, 0.475], pa.float64())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path)


SPLIT = ("x_split_parent_resource_id, x_split_cost, x_split_unused_cost, x_split_net_cost, x_split_net_unused_cost, "
         "x_split_usage, x_split_usage_ratio, x_split_actual_usage, x_split_reserved_usage")


def test_cur2_split_columns_land_in_x_split_and_pod_rows_bill_nothing(tmp_path, con, tagging):
    write_cur2_split(tmp_path / "landing" / "billing" / "cur2" / "x-00001.snappy.parquet")
    ingest_all(con, tmp_path / "landing", tagging)
    rows = {(r[0], r[1]): r[2:] for r in con.execute(
        f"SELECT ResourceId, x_usage_type, ResourceType, {SPLIT} FROM raw.billing_line_items").fetchall()}
    gpu = rows[(POD, "USE1-EKS-EC2-GPU-Hours")]
    assert gpu[0] == "EKS Pod"
    assert gpu[1:6] == (NODE, Decimal("2.1"), Decimal("0.7"), Decimal("1.995"), Decimal("0.665"))
    assert gpu[6:] == (1.0, 0.25, 1.0, 1.0)
    assert rows[(NODE, "USE1-BoxUsage:g5.12xlarge")][1:] == (None,) * 9   # the node row is not split
    # the bill is the node's line alone: pod rows must not be added on top of it
    billed, effective = con.execute("SELECT SUM(BilledCost), SUM(EffectiveCost) FROM raw.billing_line_items").fetchone()
    assert billed == effective == Decimal("5.672")
    tags = con.execute("SELECT Tags FROM raw.billing_line_items WHERE ResourceId = ? LIMIT 1", [POD]).fetchone()[0]
    assert '"aws_eks_namespace":"llm-serving"' in tags.replace(" ", "")


def test_absent_split_columns_are_null(tmp_path, con, tagging):
    write_cur2_split(tmp_path / "landing" / "billing" / "cur2" / "x-00001.snappy.parquet", net=False)
    ingest_all(con, tmp_path / "landing", tagging)
    nets = con.execute("SELECT DISTINCT x_split_net_cost, x_split_net_unused_cost FROM raw.billing_line_items").fetchall()
    assert nets == [(None, None)]


LEGACY_SPLIT = (
    "identity/LineItemId,bill/PayerAccountId,bill/BillingPeriodStartDate,bill/BillingPeriodEndDate,"
    "lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
    "lineItem/ProductCode,lineItem/Operation,lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,"
    "lineItem/UnblendedCost,splitLineItem/ParentResourceId,splitLineItem/SplitCost,splitLineItem/UnusedCost,"
    "splitLineItem/NetSplitCost,splitLineItem/NetUnusedCost,splitLineItem/SplitUsage,splitLineItem/SplitUsageRatio,"
    "splitLineItem/ActualUsage,splitLineItem/ReservedUsage,resourceTags/aws:eks:namespace,resourceTags/user:team\n"
    "a1,098765432109,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,098765432109,Usage,2026-11-03T10:00:00Z,"
    "2026-11-03T11:00:00Z,AmazonEC2,RunInstances,BoxUsage:g4dn.xlarge,i-node,1,0.526,,,,,,,,,,,vision\n"
    "a2,098765432109,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,098765432109,Usage,2026-11-03T10:00:00Z,"
    "2026-11-03T11:00:00Z,AmazonEKS,EKSPod-EC2,EKS-EC2-vCPU-Hours,"
    "arn:aws:eks:us-east-1:098765432109:pod/vision/batch/eval-7k2mp/9f8e,2,0,i-node,0.0241,0.0119,,,2,0.5,1.24,2,batch,\n"
)


def test_legacy_cur_split_line_item_headers(tmp_path, con, tagging):
    import gzip

    path = tmp_path / "landing" / "billing" / "cur-legacy" / "rep" / "20261101-20261201" / "7a1c" / "rep-1.csv.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(LEGACY_SPLIT.encode()))
    ingest_all(con, tmp_path / "landing", tagging)
    pod = con.execute(
        f"SELECT x_source_format, {SPLIT}, BilledCost, Tags FROM raw.billing_line_items WHERE ResourceType = 'EKS Pod'"
    ).fetchone()
    assert pod[0] == "cur_legacy"
    assert pod[1:10] == ("i-node", Decimal("0.0241"), Decimal("0.0119"), None, None, 2.0, 0.5, 1.24, 2.0)
    assert pod[10] == 0 and '"aws:eks:namespace":"batch"' in pod[11].replace(" ", "")
    assert con.execute("SELECT SUM(BilledCost) FROM raw.billing_line_items").fetchone()[0] == Decimal("0.526")
