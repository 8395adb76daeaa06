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
