"""Runtime predictor: how many GPU-hours will a training run take? (LightGBM quantile models)

Plain functions on pandas frames; no Dagster, no database. The flow:

    features = build_features(runs)                  # one row per run, no look-ahead
    train, test, cutoff = time_split(features, 0.2)  # older runs train, the newest test
    model = fit(train)                               # p50 and p90 boosters
    metrics = evaluate(model, train, test)           # MAPE, MAE, p90 coverage vs the baseline
    save(model, folder, metrics, ...) / load_latest(root)
    predict(model, build_features(open_runs, history=runs))

The target is the run's GPU-hours (wall-clock hours x GPUs held) of FINISHED runs. Both quantile
models are fit on log GPU-hours (a quantile of the log is the log of the quantile), so a 20-minute
run and a 20-hour run weigh alike, which is what MAPE measures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

CATEGORICAL = ["instance_type", "gpu_model", "framework", "optimizer", "team", "user_name", "model_name"]
NUMERIC = ["gpu_count", "batch_size", "epochs", "dataset_gb", "model_params_m", "learning_rate",
           "log_work", "user_recent_gpu_hours", "user_prior_runs", "submit_hour", "submit_weekday"]
FEATURES = CATEGORICAL + NUMERIC
QUANTILES = {"p50": 0.5, "p90": 0.9}
PARAMS = {"learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 20, "feature_fraction": 0.9,
          "bagging_fraction": 0.9, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1, "num_threads": 2, "seed": 7,
          "deterministic": True, "force_col_wise": True}
ROUNDS = 400
RECENT_RUNS = 5  # the user's last N finished runs make the `user_recent_gpu_hours` feature


class RuntimeModelError(ValueError):
    """Not enough finished runs to train or evaluate; the message says how many there are."""


def _param(params: pd.Series, key: str) -> pd.Series:
    def get(text):
        if not isinstance(text, str) or not text:
            return None
        try:
            return json.loads(text).get(key)
        except (ValueError, AttributeError):
            return None
    return params.map(get)


def build_features(runs: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run: the run's own parameters and its user's history *before* it started.

    `runs`: run_id, start_time, end_time, status, instance_type, gpu_model, gpu_count, team,
    user_name, params (JSON of logged hyperparameters). `history` (default: `runs`) supplies the
    finished runs the user-history features may look at; only runs that ENDED before a run's start
    count, so no feature sees the future."""
    df = runs.copy()
    df["start_time"] = pd.to_datetime(df["start_time"])
    df["end_time"] = pd.to_datetime(df["end_time"])
    for key, kind in (("batch_size", float), ("epochs", float), ("dataset_gb", float), ("model_params_m", float),
                      ("learning_rate", float), ("framework", str), ("optimizer", str), ("model_name", str)):
        values = _param(df["params"], key)
        df[key] = pd.to_numeric(values, errors="coerce") if kind is float else values.astype("object")
    df["gpu_count"] = pd.to_numeric(df["gpu_count"], errors="coerce")
    df["gpu_hours"] = (df["end_time"] - df["start_time"]).dt.total_seconds() / 3600.0 * df["gpu_count"]
    # the amount of work in the units the parameters imply (no GPU speed): a strong, monotone hint
    df["log_work"] = np.log(df["epochs"] * df["dataset_gb"] * df["model_params_m"].clip(lower=1) ** 0.6)
    df["submit_hour"] = df["start_time"].dt.hour
    df["submit_weekday"] = df["start_time"].dt.weekday
    df[["user_recent_gpu_hours", "user_prior_runs"]] = _user_history(df, runs if history is None else history)
    return df


def _user_history(df: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Median GPU-hours of the user's last RECENT_RUNS finished runs that ended before this run
    started, and how many such runs there were (an as-of join per user)."""
    h = history[history["status"] == "FINISHED"].copy()
    h["start_time"] = pd.to_datetime(h["start_time"])
    h["end_time"] = pd.to_datetime(h["end_time"])
    h["gpu_hours"] = (h["end_time"] - h["start_time"]).dt.total_seconds() / 3600.0 * pd.to_numeric(h["gpu_count"])
    out = pd.DataFrame(index=df.index, data={"user_recent_gpu_hours": np.nan, "user_prior_runs": 0.0})
    for user, rows in df.groupby("user_name", sort=False):
        past = h[h["user_name"] == user].sort_values("end_time")
        if past.empty:
            continue
        ends = past["end_time"].to_numpy()
        hours = past["gpu_hours"].to_numpy()
        n_before = np.searchsorted(ends, rows["start_time"].to_numpy(), side="left")  # ended strictly before
        out.loc[rows.index, "user_prior_runs"] = n_before.astype(float)
        out.loc[rows.index, "user_recent_gpu_hours"] = [
            float(np.median(hours[max(0, n - RECENT_RUNS):n])) if n else np.nan for n in n_before]
    return out


def trainable(features: pd.DataFrame) -> pd.DataFrame:
    """Finished runs with a positive, measured GPU-hours target."""
    ok = (features["status"] == "FINISHED") & (features["gpu_hours"] > 0) & features["gpu_hours"].notna()
    return features[ok]


def time_split(features: pd.DataFrame, test_share: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Train on the older runs, test on the newest `test_share` by start time. Test runs start at
    or after the cutoff and every train run ENDED before it, so neither the target nor the
    user-history features of training rows see the test period."""
    data = trainable(features).sort_values(["start_time", "run_id"])
    if len(data) < 50:
        raise RuntimeModelError(f"only {len(data)} finished runs with a runtime; at least 50 are needed to train and test")
    cutoff = data["start_time"].iloc[int(len(data) * (1 - test_share))]
    train = data[data["end_time"] < cutoff]
    test = data[data["start_time"] >= cutoff]
    return train, test, cutoff


@dataclass
class RuntimeModel:
    boosters: dict[str, lgb.Booster]
    categories: dict[str, list[str]]   # categorical feature -> the values seen in training, in order
    features: list[str]

    def matrix(self, df: pd.DataFrame) -> pd.DataFrame:
        X = df.reindex(columns=self.features).copy()
        for c in self.features:
            if c in self.categories:
                # LightGBM categoricals with the training categories; unseen values become missing
                X[c] = pd.Categorical(X[c].astype("object").where(X[c].notna(), None).map(
                    lambda v: None if v is None else str(v)), categories=self.categories[c])
            else:
                X[c] = pd.to_numeric(X[c], errors="coerce").astype(float)
        return X

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        X = self.matrix(df)
        out = pd.DataFrame(index=df.index)
        for name, booster in self.boosters.items():
            out[f"{name}_gpu_hours"] = np.exp(booster.predict(X, num_threads=PARAMS["num_threads"]))
        # quantile models are fit separately and may cross; p90 is never below p50
        out["p90_gpu_hours"] = np.maximum(out["p90_gpu_hours"], out["p50_gpu_hours"])
        return out


def fit(train: pd.DataFrame, features: list[str] | None = None, categorical: list[str] | None = None) -> RuntimeModel:
    features = features or FEATURES
    cats = [c for c in (categorical if categorical is not None else CATEGORICAL) if c in features]
    categories = {c: sorted(train[c].dropna().astype(str).unique().tolist()) for c in cats}
    model = RuntimeModel({}, categories, features)
    X = model.matrix(train)
    y = np.log(train["gpu_hours"].to_numpy())
    for name, alpha in QUANTILES.items():
        ds = lgb.Dataset(X, y, categorical_feature=cats, free_raw_data=False)
        model.boosters[name] = lgb.train(dict(PARAMS, objective="quantile", alpha=alpha), ds, num_boost_round=ROUNDS)
    return model


def baseline(train: pd.DataFrame, test: pd.DataFrame, keys: tuple[str, ...] = ("instance_type", "team")) -> np.ndarray:
    """What a team would guess without a model: the median GPU-hours of the same instance type
    and team in the training runs (then instance type alone, then all runs)."""
    guess = pd.Series(np.nan, index=test.index)
    for k in (list(keys), list(keys[:1]), []):
        if k:
            med = train.groupby(k)["gpu_hours"].median()
            fill = test[k].apply(tuple, axis=1).map(lambda t: med.get(t if len(t) > 1 else t[0], np.nan))
        else:
            fill = pd.Series(train["gpu_hours"].median(), index=test.index)
        guess = guess.fillna(fill)
    return guess.to_numpy(dtype=float)


def scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"mape": float(np.mean(np.abs(predicted - actual) / actual)),
            "median_ape": float(np.median(np.abs(predicted - actual) / actual)),
            "mae_gpu_hours": float(np.mean(np.abs(predicted - actual)))}


def evaluate(model: RuntimeModel, train: pd.DataFrame, test: pd.DataFrame,
             baseline_keys: tuple[str, ...] = ("instance_type", "team")) -> dict:
    actual = test["gpu_hours"].to_numpy()
    pred = model.predict(test)
    ours = scores(actual, pred["p50_gpu_hours"].to_numpy())
    base = scores(actual, baseline(train, test, baseline_keys))
    return {
        "train_runs": int(len(train)), "test_runs": int(len(test)),
        "mape": ours["mape"], "median_ape": ours["median_ape"], "mae_gpu_hours": ours["mae_gpu_hours"],
        "p90_coverage": float(np.mean(actual <= pred["p90_gpu_hours"].to_numpy())),
        "baseline": f"median GPU-hours per {' + '.join(baseline_keys)}",
        "baseline_mape": base["mape"], "baseline_median_ape": base["median_ape"],
        "baseline_mae_gpu_hours": base["mae_gpu_hours"],
    }


def version_of(train: pd.DataFrame) -> str:
    """A version named for the training window and its data: the same runs give the same version."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(
        train[["run_id", "gpu_hours"]].sort_values("run_id"), index=False).values.tobytes()).hexdigest()[:10]
    return f"{train['start_time'].max():%Y%m%dT%H%M%S}-{digest}"


def save(model: RuntimeModel, folder: Path, metrics: dict, train: pd.DataFrame, cutoff) -> Path:
    """`folder/<version>/`: p50.txt and p90.txt boosters and model_card.json (features,
    categories, parameters, training window, metrics)."""
    target = Path(folder) / version_of(train)
    target.mkdir(parents=True, exist_ok=True)
    for name, booster in model.boosters.items():
        booster.save_model(str(target / f"{name}.txt"))
    card = {
        "model": "LightGBM quantile regression of log GPU-hours per training run",
        "quantiles": QUANTILES, "features": model.features, "categorical_features": sorted(model.categories),
        "categories": model.categories, "params": PARAMS, "num_boost_round": ROUNDS,
        "training_window": {"first_start": str(train["start_time"].min()), "last_start": str(train["start_time"].max()),
                            "test_cutoff": str(cutoff)},
        "metrics": metrics,
    }
    (target / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True, default=str))
    return target


def load(version_dir: Path) -> tuple[RuntimeModel, dict]:
    card = json.loads((Path(version_dir) / "model_card.json").read_text())
    boosters = {name: lgb.Booster(model_file=str(Path(version_dir) / f"{name}.txt")) for name in QUANTILES}
    return RuntimeModel(boosters, card["categories"], card["features"]), card


def load_latest(root: Path) -> tuple[RuntimeModel, dict, Path]:
    versions = sorted(p for p in Path(root).glob("*/model_card.json"))
    if not versions:
        raise RuntimeModelError(f"no trained runtime model under {root}; materialize ml/runtime_model first")
    latest = max(versions, key=lambda p: (json.loads(p.read_text())["training_window"]["last_start"], p.parent.name))
    model, card = load(latest.parent)
    return model, card, latest.parent


def predict_open_runs(model: RuntimeModel, open_runs: pd.DataFrame, capacity_margin: float) -> pd.DataFrame:
    """p50/p90 GPU-hours for RUNNING or queued runs, and the capacity to give them: p90 x the
    policy margin, in GPU-hours and in hours of the run's GPUs."""
    pred = model.predict(open_runs)
    keep = [c for c in ("run_id", "status", "resource_id", "team", "user_name", "instance_type", "gpu_count", "start_time")
            if c in open_runs.columns]
    out = open_runs[keep].copy()
    out["p50_gpu_hours"] = pred["p50_gpu_hours"]
    out["p90_gpu_hours"] = pred["p90_gpu_hours"]
    out["recommended_gpu_hours"] = pred["p90_gpu_hours"] * capacity_margin
    out["recommended_hours"] = out["recommended_gpu_hours"] / out["gpu_count"].where(out["gpu_count"] > 0)
    out["expected_end_time"] = out["start_time"] + pd.to_timedelta(pred["p50_gpu_hours"] / out["gpu_count"].where(out["gpu_count"] > 0), unit="h")
    return out
