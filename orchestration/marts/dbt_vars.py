"""Policy values handed to dbt as `--vars`, built as pure functions so they are unit-tested."""

from __future__ import annotations

import json

from ..policy import Policy


def dbt_vars(policy: Policy) -> dict:
    return {
        "untagged_required_tags": list(policy.tagging.required),
        "untagged_top_offenders": policy.tagging.top_offenders,
        "idle_gpu_utilization_below": policy.allocation.idle_gpu_utilization_below,
        "idle_distribution": policy.allocation.idle_distribution,
        "training_efficiency_bands": list(policy.efficiency.training_bands),
        "inference_efficiency_bands": list(policy.efficiency.inference_bands),
        "training_target_utilization": policy.efficiency.training_target_utilization,
        "inference_target_utilization": policy.efficiency.inference_target_utilization,
        "tag_prefixes": list(policy.tagging.prefixes),
        "protected_tags": [list(kv) for kv in policy.protected_tags],
        "workload_tiers": policy.workload_tiers,
        "inference_output_token_weight": policy.inference.output_token_weight,
        "rec": policy.recommendations,
    }


def dbt_build_args(policy: Policy, *, unit_tests: bool = False) -> list[str]:
    """`dbt build` with the policy as vars. dbt's unit tests check the SQL on fixed inputs, so
    the warehouse's data cannot change their outcome: as dbt Labs recommends, the runs on real data
    (the Dagster assets, the nightly schedule) leave them to development and CI (`make test`), and
    the data tests still run on every build."""
    args = ["build", "--vars", json.dumps(dbt_vars(policy), sort_keys=True)]
    return args if unit_tests else [*args, "--exclude-resource-type", "unit_test"]
