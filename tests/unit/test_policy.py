import pytest

from orchestration.policy import PolicyError, load_policy, normalise_tag_key


def test_shipped_policy_loads():
    from orchestration.config import DEFAULT_POLICY

    p = load_policy(DEFAULT_POLICY)
    assert "team" in p.tagging.keys["team"]
    assert p.tagging.prefixes == ("user:", "user_")
    assert p.tagging.top_offenders >= 1


@pytest.mark.parametrize("key,expected", [
    ("user:Team", "team"), ("user_TEAM", "team"), ("Job-Type", "job_type"), ("user_cost center", "cost_center"),
])
def test_tag_keys_normalise_case_and_prefix(key, expected):
    assert normalise_tag_key(key, ("user:", "user_")) == expected


def test_unknown_key_fails_with_line(tmp_path):
    f = tmp_path / "policy.yaml"
    f.write_text("tagging:\n  prefixes: [user_]\n  keys:\n    team: [team]\n  colour: blue\n")
    with pytest.raises(PolicyError, match=r"line 5: unknown key 'colour' under 'tagging'"):
        load_policy(f)


def test_bad_value_fails_with_line(tmp_path):
    f = tmp_path / "policy.yaml"
    f.write_text("tagging:\n  keys:\n    team: [team]\n  top_offenders: -3\n")
    with pytest.raises(PolicyError, match=r"line 4: 'tagging.top_offenders' must be a whole number >= 1"):
        load_policy(f)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(PolicyError, match="set FINOPS_POLICY"):
        load_policy(tmp_path / "nope.yaml")


def test_allocation_and_efficiency_thresholds_validate(tmp_path):
    base = "tagging:\n  keys:\n    team: [team]\n"
    f = tmp_path / "policy.yaml"
    f.write_text(base + "efficiency:\n  training_bands: [0.2, 0.1, 0.65, 0.85]\n")
    with pytest.raises(PolicyError, match=r"line 5: 'efficiency.training_bands' must be four increasing shares"):
        load_policy(f)
    f.write_text(base + "allocation:\n  idle_gpu_utilization_below: 5\n")
    with pytest.raises(PolicyError, match=r"line 5: 'allocation.idle_gpu_utilization_below' must be a share"):
        load_policy(f)
    f.write_text(base + "allocation:\n  idle_below: 0.05\n")
    with pytest.raises(PolicyError, match=r"unknown key 'idle_below' under 'allocation'"):
        load_policy(f)


def test_dbt_project_var_defaults_mirror_the_shipped_policy():
    """A bare `dbt build` (no --vars) must behave like the pipeline with the shipped policy.yaml."""
    import yaml

    from orchestration.config import DBT_PROJECT_DIR, DEFAULT_POLICY
    from orchestration.marts.dbt_vars import dbt_vars

    defaults = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert defaults == dbt_vars(load_policy(DEFAULT_POLICY))


def test_ml_sections_validate_with_line_numbers(tmp_path):
    base = "tagging:\n  keys:\n    team: [team]\n"
    f = tmp_path / "policy.yaml"
    for body, message in (
        ("runtime:\n  capacity_margin: 0.5\n", r"line 5: 'runtime.capacity_margin' must be a number between 1 and 5"),
        ("forecast:\n  horizon_days: 7.5\n", r"line 5: 'forecast.horizon_days' must be a whole number"),
        ("forecast:\n  levels: [80, 120]\n", r"line 5: 'forecast.levels' must list interval levels in percent"),
        ("anomaly:\n  min_severity_usd: -1\n", r"line 5: 'anomaly.min_severity_usd' must be a number"),
        ("inference:\n  output_token_weight: -2\n", r"line 5: 'inference.output_token_weight' must be a number between 0 and 100"),
        ("inference:\n  output_weight: 4\n", r"unknown key 'output_weight' under 'inference': rename it to 'output_token_weight'"),
    ):
        f.write_text(base + body)
        with pytest.raises(PolicyError, match=message):
            load_policy(f)
    f.write_text(base + "forecast:\n  levels: [95, 80]\n")
    assert load_policy(f).forecast.levels == (80, 95)


def test_recommendation_sections_protected_tags_and_tiers_validate(tmp_path):
    base = "tagging:\n  keys:\n    team: [team]\n"
    f = tmp_path / "policy.yaml"
    for body, message in (
        ("idle:\n  delete_after_days: 0\n", r"line 5: 'idle.delete_after_days' must be a whole number between 1"),
        ("storage:\n  glacier_usd_per_gb_month: cheap\n", r"line 5: 'storage.glacier_usd_per_gb_month' must be a number"),
        ("protected:\n  tags: [critical]\n", r"line 5: 'protected.tags' must list key=value tags"),
        ("workload_tiers:\n  research: {job_types: [research], allow_spot: maybe}\n", r"'workload_tiers.research.allow_spot' must be true or false"),
        ("workload_tiers:\n  research: {jobtypes: [research]}\n", r"unknown key 'jobtypes' under 'workload_tiers.research'"),
    ):
        f.write_text(base + body)
        with pytest.raises(PolicyError, match=message):
            load_policy(f)
    f.write_text(base + "protected:\n  tags: [\"Tier=Critical\", \"env = prod-dr\"]\n")
    assert load_policy(f).protected_tags == (("tier", "critical"), ("env", "prod-dr"))


def test_idle_distribution_is_one_of_the_methods(tmp_path):
    base = "tagging:\n  keys:\n    team: [team]\n"
    f = tmp_path / "policy.yaml"
    f.write_text(base)
    assert load_policy(f).allocation.idle_distribution == "separate"
    f.write_text(base + "allocation:\n  idle_distribution: weighted\n")
    assert load_policy(f).allocation.idle_distribution == "weighted"
    f.write_text(base + "allocation:\n  idle_distribution: pro_rata\n")
    with pytest.raises(PolicyError, match=r"line 5: 'allocation.idle_distribution' must be one of separate, even, weighted"):
        load_policy(f)
