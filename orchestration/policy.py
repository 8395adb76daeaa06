"""Load and validate policy.yaml. Every threshold the pipeline uses is read from here."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TAG_COLUMNS = ("team", "project", "job_type", "experiment_id", "env")


class PolicyError(ValueError):
    """policy.yaml is missing, unreadable or has a bad value; the message names the line."""


@dataclass(frozen=True)
class TaggingPolicy:
    prefixes: tuple[str, ...]
    keys: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    top_offenders: int


@dataclass(frozen=True)
class AllocationPolicy:
    idle_gpu_utilization_below: float
    idle_distribution: str = "separate"      # separate | even | weighted (fct_gpu_cost_distributed, fct_shared_gpu_cost_distributed)


@dataclass(frozen=True)
class EfficiencyPolicy:
    training_bands: tuple[float, float, float, float]    # upper bounds of poor / average / good / elite
    inference_bands: tuple[float, float, float, float]
    training_target_utilization: float
    inference_target_utilization: float


@dataclass(frozen=True)
class InferencePolicy:
    output_token_weight: float    # one output token costs this many input tokens of serving capacity


@dataclass(frozen=True)
class RuntimePolicy:
    capacity_margin: float        # recommended capacity = p90 GPU-hours x this
    test_share: float             # newest share of finished runs held out to measure the model


@dataclass(frozen=True)
class ForecastPolicy:
    horizon_days: int
    levels: tuple[int, ...]
    backtest_windows: int
    backtest_step_days: int


@dataclass(frozen=True)
class AnomalyPolicy:
    lookback_days: int
    interval_level: int
    min_history_days: int
    robust_z_threshold: float
    min_severity_usd: float


@dataclass(frozen=True)
class Policy:
    path: str
    tagging: TaggingPolicy
    allocation: AllocationPolicy
    efficiency: EfficiencyPolicy
    runtime: RuntimePolicy
    forecast: ForecastPolicy
    anomaly: AnomalyPolicy
    recommendations: dict = field(default_factory=dict)       # section -> threshold -> number
    protected_tags: tuple = ()                                # (key, value) pairs, lower case
    workload_tiers: dict = field(default_factory=dict)        # tier -> settings
    inference: InferencePolicy = InferencePolicy(output_token_weight=4.0)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return _Lined(mapping, lines)


class _Lined(dict):
    def __init__(self, data: dict, lines: dict[str, int]):
        super().__init__(data)
        self.lines = lines

    def line(self, key: str) -> int | None:
        return self.lines.get(key)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _fail(path: str, section: _Lined, key: str, message: str) -> PolicyError:
    line = section.line(key) if isinstance(section, _Lined) else None
    where = f"{path}, line {line}" if line else path
    return PolicyError(f"{where}: {message}")


def _check_keys(path: str, section: dict, allowed: set[str], name: str) -> None:
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.75)
            fix = f"rename it to '{close[0]}' or remove it" if close else "fix or remove it"
            raise _fail(
                path, section, key,
                f"unknown key '{key}' under '{name}': {fix} (allowed keys: {', '.join(sorted(allowed))})",
            )


def load_policy(path: str | Path) -> Policy:
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(
            f"{path}: policy file not found: point FINOPS_POLICY at your policy.yaml, or unset FINOPS_POLICY "
            "to use the one shipped at the repository root"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PolicyError(f"{path}: the policy file cannot be read ({reason}): point FINOPS_POLICY at a readable "
                          "UTF-8 policy.yaml") from None
    try:
        doc = yaml.load(text, Loader=_LineLoader) or _Lined({}, {})
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else path
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise PolicyError(f"{where}: not valid YAML ({problem}): fix the indentation, a missing ':' or an "
                          "unclosed quote or bracket there") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: the policy must be a YAML mapping of sections (tagging:, allocation:, ...): "
                          "start from the policy.yaml shipped at the repository root")
    _check_keys(path, doc, {"tagging", "allocation", "efficiency", "runtime", "forecast", "anomaly", "inference", *RECOMMENDATION_SPEC,
                            "protected", "workload_tiers"}, "the top level")

    tagging = doc.get("tagging")
    if not isinstance(tagging, dict):
        raise PolicyError(f"{path}: section 'tagging' is required (tag prefixes and keys): copy it from the "
                          "policy.yaml shipped at the repository root")
    _check_keys(path, tagging, {"prefixes", "keys", "required", "top_offenders"}, "tagging")

    prefixes = tagging.get("prefixes", [])
    if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
        raise _fail(path, tagging, "prefixes", f"'tagging.prefixes' must be a list of strings, e.g. [\"user:\", \"user_\"], got {prefixes!r}")

    keys = tagging.get("keys")
    if not isinstance(keys, dict):
        raise _fail(path, tagging, "keys", "'tagging.keys' must map tag columns to key lists")
    _check_keys(path, keys, set(TAG_COLUMNS), "tagging.keys")
    normalised: dict[str, tuple[str, ...]] = {}
    for column in TAG_COLUMNS:
        aliases = keys.get(column, [column])
        if not isinstance(aliases, list) or not aliases or not all(isinstance(a, str) for a in aliases):
            raise _fail(path, keys, column, f"'tagging.keys.{column}' must be a non-empty list of strings")
        normalised[column] = tuple(normalise_tag_key(a, ()) for a in aliases)

    required = tagging.get("required", ["team"])
    if not isinstance(required, list) or any(r not in TAG_COLUMNS for r in required):
        raise _fail(path, tagging, "required", f"'tagging.required' must list tag columns from {', '.join(TAG_COLUMNS)}, got {required!r}")

    top = tagging.get("top_offenders", 20)
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise _fail(path, tagging, "top_offenders", f"'tagging.top_offenders' must be a whole number >= 1, got {top!r}")

    allocation = _section(path, doc, "allocation", {"idle_gpu_utilization_below", "idle_distribution"})
    efficiency = _section(path, doc, "efficiency", {"training_bands", "inference_bands", "training_target_utilization",
                                                    "inference_target_utilization"})
    runtime = _settings(path, doc, "runtime", RUNTIME_SPEC)
    forecast_section = _section(path, doc, "forecast", {*FORECAST_SPEC, "levels"})
    forecast = _settings(path, doc, "forecast", FORECAST_SPEC, extra={"levels"})
    anomaly = _settings(path, doc, "anomaly", ANOMALY_SPEC)
    inference = _settings(path, doc, "inference", INFERENCE_SPEC)
    recommendations = {name: _settings(path, doc, name, spec) for name, spec in RECOMMENDATION_SPEC.items()}
    protected = _protected(path, doc)
    tiers = _tiers(path, doc)
    levels = forecast_section.get("levels", [80, 95])
    if not isinstance(levels, list) or not levels or not all(isinstance(v, int) and 0 < v < 100 for v in levels):
        raise _fail(path, forecast_section, "levels", f"'forecast.levels' must list interval levels in percent (e.g. [80, 95]), got {levels!r}")
    return Policy(
        path=path,
        tagging=TaggingPolicy(
            prefixes=tuple(p.lower() for p in prefixes),
            keys=normalised,
            required=tuple(required),
            top_offenders=top,
        ),
        allocation=AllocationPolicy(
            idle_gpu_utilization_below=_share(path, allocation, "allocation", "idle_gpu_utilization_below", 0.05),
            idle_distribution=_choice(path, allocation, "allocation", "idle_distribution", IDLE_DISTRIBUTIONS)),
        efficiency=EfficiencyPolicy(
            training_bands=_bands(path, efficiency, "training_bands", (0.20, 0.40, 0.65, 0.85)),
            inference_bands=_bands(path, efficiency, "inference_bands", (0.10, 0.25, 0.50, 0.75)),
            training_target_utilization=_share(path, efficiency, "efficiency", "training_target_utilization", 0.40),
            inference_target_utilization=_share(path, efficiency, "efficiency", "inference_target_utilization", 0.25),
        ),
        runtime=RuntimePolicy(**runtime),
        forecast=ForecastPolicy(levels=tuple(sorted(levels)), **{k: int(v) for k, v in forecast.items()}),
        anomaly=AnomalyPolicy(**{k: int(v) if ANOMALY_SPEC[k][3] else v for k, v in anomaly.items()}),
        recommendations=recommendations,
        protected_tags=protected,
        workload_tiers=tiers,
        inference=InferencePolicy(**inference),
        raw=dict(doc),
    )


# Numeric settings: section -> key -> (default, low, high, whole number?)
RUNTIME_SPEC = {"capacity_margin": (1.15, 1.0, 5.0, False), "test_share": (0.2, 0.01, 0.9, False)}
FORECAST_SPEC = {"horizon_days": (30, 1, 366, True), "backtest_windows": (2, 1, 52, True),
                 "backtest_step_days": (15, 1, 366, True)}
ANOMALY_SPEC = {"lookback_days": (14, 1, 366, True), "interval_level": (99, 50, 99.9, True),
                "min_history_days": (28, 7, 3660, True), "robust_z_threshold": (3.5, 1.0, 100.0, False),
                "min_severity_usd": (50.0, 0.0, 1e12, False)}
INFERENCE_SPEC = {"output_token_weight": (4.0, 0.0, 100.0, False)}
RECOMMENDATION_SPEC: dict[str, dict[str, tuple]] = {
    "idle": {"relative_to_trailing_average": (0.05, 0.0, 1.0, False), "trailing_days": (7, 1, 90, True),
             "delete_after_days": (7, 1, 365, True), "archive_after_days": (30, 1, 3650, True),
             "min_measured_share": (0.9, 0.0, 1.0, False),
             "min_monthly_savings_usd": (10, 0, 1e9, False)},
    "rightsizing": {"lookback_days": (30, 1, 365, True), "headroom": (0.2, 0.0, 5.0, False),
                    "min_runs": (5, 1, 1e6, True), "max_untracked_share": (0.02, 0.0, 1.0, False),
                    "min_monthly_savings_usd": (50, 0, 1e9, False)},
    "spot": {"max_run_hours": (4, 0.1, 720, False), "min_share_of_short_runs": (0.9, 0.0, 1.0, False),
             "default_discount": (0.65, 0.0, 0.99, False), "lookback_days": (30, 1, 365, True),
             "min_runs": (5, 1, 1e6, True),
             "min_monthly_savings_usd": (50, 0, 1e9, False)},
    "autoscale": {"lookback_days": (14, 1, 365, True), "min_idle_hours_per_week": (20, 1, 168, True),
                  "min_monthly_savings_usd": (50, 0, 1e9, False)},
    "commitments": {"lookback_days": ([7, 30, 60, 90], 1, 365, True), "compute_savings_plan_discount": (0.28, 0.0, 0.99, False),
                    "sagemaker_savings_plan_discount": (0.35, 0.0, 0.99, False),
                    "min_monthly_savings_usd": (100, 0, 1e9, False)},
    "storage": {"infrequent_access_after_days": (30, 1, 3650, True), "glacier_after_days": (90, 1, 3650, True),
                "deep_archive_after_days": (365, 1, 3650, True), "standard_usd_per_gb_month": (0.023, 0, 10, False),
                "infrequent_access_usd_per_gb_month": (0.0125, 0, 10, False),
                "glacier_usd_per_gb_month": (0.004, 0, 10, False), "deep_archive_usd_per_gb_month": (0.00099, 0, 10, False),
                "min_monthly_savings_usd": (5, 0, 1e9, False)},
    "network": {"lookback_days": (30, 1, 365, True), "min_monthly_cost_usd": (100, 0, 1e9, False)},
    "budgets": {"alert_at": (0.8, 0.0, 10.0, False), "action_at": (0.95, 0.0, 10.0, False)},
}


def _settings(path: str, doc: dict, name: str, spec: dict[str, tuple], extra: set[str] = frozenset()) -> dict:
    """Every key of `spec` checked against its range (default when absent); `extra` keys are
    allowed in the section and validated by the caller."""
    section = _section(path, doc, name, set(spec) | set(extra))
    out = {}
    for key, (default, low, high, whole) in spec.items():
        if isinstance(default, list):  # a list of numbers (e.g. lookback windows)
            values = section.get(key, default)
            if not isinstance(values, list) or not values:
                raise _fail(path, section, key, f"'{name}.{key}' must be a list of numbers, e.g. {default}")
            out[key] = sorted(_number(path, {key: v}, name, key, v, low=low, high=high, whole=whole) for v in values)
        else:
            out[key] = _number(path, section, name, key, default, low=low, high=high, whole=whole)
    return out


def _protected(path: str, doc: dict) -> tuple[tuple[str, str], ...]:
    """`protected.tags`: ["tier=critical", ...]; keys matched like tagging keys (case, prefixes)."""
    section = _section(path, doc, "protected", {"tags"})
    tags = section.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and "=" in t for t in tags):
        raise _fail(path, section, "tags", "'protected.tags' must list key=value tags, e.g. [\"tier=critical\"]")
    return tuple((k.strip().lower(), v.strip().lower()) for k, v in (t.split("=", 1) for t in tags))


TIER_KEYS = {"job_types", "idle_pause_after_hours", "allow_spot", "requires_approval"}


def _tiers(path: str, doc: dict) -> dict[str, dict]:
    """`workload_tiers`: name -> job types it covers, hours idle before a pause, whether spot may
    be proposed, whether every recommendation for it needs approval."""
    section = doc.get("workload_tiers") or _Lined({}, {})
    if not isinstance(section, dict):
        raise _fail(path, doc, "workload_tiers", "'workload_tiers' must map tier names to settings")
    tiers = {}
    for name, tier in section.items():
        if not isinstance(tier, dict):
            raise _fail(path, section, name, f"'workload_tiers.{name}' must be a mapping")
        _check_keys(path, tier, TIER_KEYS, f"workload_tiers.{name}")
        jobs = tier.get("job_types", [])
        if not isinstance(jobs, list) or not all(isinstance(j, str) for j in jobs):
            raise _fail(path, tier, "job_types", f"'workload_tiers.{name}.job_types' must be a list of job_type tag values")
        for flag in ("allow_spot", "requires_approval"):
            if not isinstance(tier.get(flag, False), bool):
                raise _fail(path, tier, flag, f"'workload_tiers.{name}.{flag}' must be true or false")
        tiers[name] = {"job_types": [j.lower() for j in jobs],
                       "idle_pause_after_hours": _number(path, tier, f"workload_tiers.{name}", "idle_pause_after_hours",
                                                         24, low=1, high=8760, whole=True),
                       "allow_spot": tier.get("allow_spot", False), "requires_approval": tier.get("requires_approval", False)}
    # resources whose job_type no tier lists: the cautious default unless the policy says otherwise
    tiers.setdefault("default", {"job_types": [], "idle_pause_after_hours": 24.0, "allow_spot": False,
                                 "requires_approval": True})
    return tiers


def _number(path: str, section: dict, name: str, key: str, default: float, low: float, high: float,
            whole: bool = False) -> float:
    value = section.get(key, default)
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and low <= value <= high
          and (not whole or float(value).is_integer()))
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise _fail(path, section, key, f"'{name}.{key}' must be {kind} between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _section(path: str, doc: dict, name: str, allowed: set[str]) -> dict:
    section = doc.get(name) or _Lined({}, {})
    if not isinstance(section, dict):
        raise _fail(path, doc, name, f"'{name}' must be a mapping of settings")
    _check_keys(path, section, allowed, name)
    return section


# How idle and unattributed GPU cost reaches the teams; the first is the default.
IDLE_DISTRIBUTIONS = ("separate", "even", "weighted")


def _choice(path: str, section: dict, name: str, key: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when absent)."""
    value = section.get(key, choices[0])
    if value not in choices:
        raise _fail(path, section, key, f"'{name}.{key}' must be one of {', '.join(choices)}, got {value!r}")
    return value


def _share(path: str, section: dict, name: str, key: str, default: float) -> float:
    """A share of capacity: a number in (0, 1]."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise _fail(path, section, key, f"'{name}.{key}' must be a share between 0 and 1 (e.g. 0.05 for 5 %), got {value!r}")
    return float(value)


def _bands(path: str, section: dict, key: str, default: tuple) -> tuple[float, float, float, float]:
    value = section.get(key, list(default))
    ok = (isinstance(value, list) and len(value) == 4
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1 for v in value)
          and all(a < b for a, b in zip(value, value[1:])))
    if not ok:
        raise _fail(path, section, key, f"'efficiency.{key}' must be four increasing shares between 0 and 1 "
                                        f"(upper bounds of poor / average / good / elite), got {value!r}")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def normalise_tag_key(key: str, prefixes: tuple[str, ...]) -> str:
    """`user:Team` -> `team`; `Job-Type` -> `job_type`. Case-insensitive, one prefix removed."""
    k = key.strip().lower()
    for prefix in prefixes:
        if k.startswith(prefix):
            k = k[len(prefix):]
            break
    return k.replace("-", "_").replace(" ", "_")
