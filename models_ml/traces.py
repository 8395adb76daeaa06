"""Adapters from published GPU traces (../shared/data/traces) to the frames the models take,
so the models are measured on reality and not only on our generator.

Zeus (NSDI'23; github.com/ml-energy/zeus, `summary_train.csv` + `summary_power_<gpu>.csv`): real
training of six dataset/network pairs on A40, P100, RTX6000 and V100. One job = one
(dataset, network, batch size, optimizer, learning rate, repetition) trained to its target metric
on one GPU at the GPU's default (highest) power limit: GPU-hours = epochs to target x seconds per
epoch / 3600.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import runtime

ZEUS_CATEGORICAL = ["dataset", "network", "optimizer", "gpu"]
ZEUS_FEATURES = ZEUS_CATEGORICAL + ["batch_size", "learning_rate"]


def load_zeus_jobs(folder: str | Path) -> pd.DataFrame:
    folder = Path(folder)
    train = pd.read_csv(folder / "summary_train.csv")
    # the target of a workload: the metric value most configurations reached (ties: the hardest)
    keys = ["dataset", "network", "batch_size", "optimizer", "learning_rate", "run"]
    reach = train.groupby(["dataset", "network", "target_metric"]).agg(groups=("run", "size"), epochs=("target_epoch", "mean"))
    reach = reach.reset_index().sort_values(["dataset", "network", "groups", "epochs"], ascending=[True, True, False, False])
    targets = reach.groupby(["dataset", "network"]).head(1)[["dataset", "network", "target_metric"]]
    jobs = train.merge(targets, on=["dataset", "network", "target_metric"])[keys + ["target_epoch"]]
    frames = []
    for f in sorted(folder.glob("summary_power_*.csv")):
        power = pd.read_csv(f)
        gpu = f.stem.removeprefix("summary_power_").upper()
        top = power.loc[power.groupby(["dataset", "network", "batch_size", "optimizer"])["power_limit"].idxmax()]
        frames.append(jobs.merge(top[["dataset", "network", "batch_size", "optimizer", "time_per_epoch"]],
                                 on=["dataset", "network", "batch_size", "optimizer"]).assign(gpu=gpu))
    out = pd.concat(frames, ignore_index=True)
    out["gpu_hours"] = out["target_epoch"] * out["time_per_epoch"] / 3600.0
    out["run_id"] = (out["dataset"] + "/" + out["network"] + "/" + out["gpu"] + "/b" + out["batch_size"].astype(str)
                     + "/" + out["optimizer"] + "/lr" + out["learning_rate"].astype(str) + "/r" + out["run"].astype(str))
    return out[out["gpu_hours"] > 0].reset_index(drop=True)


def evaluate_runtime_on_zeus(folder: str | Path) -> dict:
    """Train on every repetition but the last of each configuration, test on the last one (the
    trace has no timestamps), against the median GPU-hours of the same workload on the same GPU."""
    jobs = load_zeus_jobs(folder)
    last = jobs.groupby(["dataset", "network", "batch_size", "optimizer", "learning_rate"])["run"].transform("max")
    test, train = jobs[jobs["run"] == last], jobs[jobs["run"] < last]
    model = runtime.fit(train, ZEUS_FEATURES, ZEUS_CATEGORICAL)
    actual = test["gpu_hours"].to_numpy()
    pred = model.predict(test)
    ours = runtime.scores(actual, pred["p50_gpu_hours"].to_numpy())
    base = runtime.scores(actual, runtime.baseline(train, test, ("network", "gpu")))
    return {"jobs": int(len(jobs)), "train_jobs": int(len(train)), "test_jobs": int(len(test)),
            "mape": ours["mape"], "median_ape": ours["median_ape"],
            "p90_coverage": float(np.mean(actual <= pred["p90_gpu_hours"].to_numpy())),
            "baseline": "median GPU-hours of the same network on the same GPU",
            "baseline_mape": base["mape"], "baseline_median_ape": base["median_ape"]}
