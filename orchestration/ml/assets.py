"""ML assets: thin wrappers that read marts, call `orchestration.ml.pipeline` (which calls
`models_ml`) and write `ml.*` tables; every model reports its backtest beside its output."""


import dagster as dg

from ..exports.writer import export_file
from ..resources import ExportsResource, ModelStoreResource, PolicyResource, WarehouseResource
from . import pipeline

ML_SPEC = dict(group_name="ml", automation_condition=dg.AutomationCondition.eager())
ML = dict(ML_SPEC, pool="duckdb_warehouse")


def _pct(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.1%}"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["ml", "runtime_model"], deps=[dg.AssetKey(["marts", "fct_training_run_cost"])], kinds={"lightgbm"},
                     description="LightGBM p50/p90 GPU-hours per training run (quantile objectives on log GPU-hours), "
                                 "trained on older finished runs and measured on the newest against the median of "
                                 "the same instance type and team; saved as a version under FINOPS_MODELS/runtime/.",
                     **ML_SPEC),
        dg.AssetSpec(["ml", "runtime_model_evaluation"], deps=[dg.AssetKey(["marts", "fct_training_run_cost"])],
                     kinds={"duckdb"}, description="The latest runtime model version and its backtest beside the baseline's.",
                     **ML_SPEC),
    ],
    pool="duckdb_warehouse",
)
def runtime_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource,
                  model_store: ModelStoreResource):
    with warehouse.connect() as con:
        out = pipeline.train_runtime_model(con, model_store.path, policy.load())
    if out["version"] is None:
        context.log.warning(f"runtime model not trained: {out['skipped']}")
        yield dg.MaterializeResult(asset_key=["ml", "runtime_model_evaluation"], metadata={"rows": 0})
        yield dg.MaterializeResult(asset_key=["ml", "runtime_model"], metadata={"skipped": out["skipped"]})
        return
    m = out["metrics"]
    table = ("| | model (p50) | baseline |\n|---|---|---|\n"
             f"| MAPE | {_pct(m['mape'])} | {_pct(m['baseline_mape'])} |\n"
             f"| median APE | {_pct(m['median_ape'])} | {_pct(m['baseline_median_ape'])} |\n"
             f"| MAE (GPU-hours) | {m['mae_gpu_hours']:.2f} | {m['baseline_mae_gpu_hours']:.2f} |\n"
             f"| p90 coverage | {_pct(m['p90_coverage'])} | |")
    context.log.info(f"runtime model {out['version']}: MAPE {_pct(m['mape'])} vs baseline {_pct(m['baseline_mape'])}")
    yield dg.MaterializeResult(asset_key=["ml", "runtime_model_evaluation"], metadata={"rows": 1})
    yield dg.MaterializeResult(asset_key=["ml", "runtime_model"], metadata={
        "model_version": out["version"], "artifact": dg.MetadataValue.path(out["path"]),
        "mape": m["mape"], "baseline_mape": m["baseline_mape"], "p90_coverage": m["p90_coverage"],
        "mae_gpu_hours": m["mae_gpu_hours"], "train_runs": m["train_runs"], "test_runs": m["test_runs"],
        "test_cutoff": str(out["cutoff"]), "evaluation": dg.MetadataValue.md(table)})


@dg.asset(key=["ml", "runtime_predictions"], kinds={"lightgbm"},
          deps=[dg.AssetKey(["ml", "runtime_model"]), dg.AssetKey(["marts", "fct_training_run_cost"])],
          description="For every RUNNING or queued training run: predicted p50/p90 GPU-hours and the capacity to give "
                      "it (p90 x policy.yaml runtime.capacity_margin), with the model's backtest error.", **ML)
def runtime_predictions(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource,
                        model_store: ModelStoreResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        out = pipeline.predict_runtimes(con, model_store.path, policy.load())
    return dg.MaterializeResult(metadata={"open_runs": len(out), "recommended_gpu_hours": float(out["recommended_gpu_hours"].sum()),
                                          "preview": dg.MetadataValue.md(pipeline.md_table(out.head(10)) if len(out) else "no open runs")})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["ml", "spend_forecast"], deps=[dg.AssetKey(["marts", "fct_daily_cost"])], kinds={"statsforecast"},
                     description="Daily spend per team x service, per team and in total, forecast 30 days ahead with "
                                 "80/95 % intervals by the candidate (MSTL, ETS, SeasonalNaive) that backtested best on "
                                 "each series, each row with that model's backtest error; the fan chart beside the exports.",
                     **ML_SPEC),
        dg.AssetSpec(["ml", "spend_forecast_backtest"], deps=[dg.AssetKey(["marts", "fct_daily_cost"])], kinds={"duckdb"},
                     description="Backtest error of every candidate on every spend series.", **ML_SPEC),
        dg.AssetSpec(["ml", "month_end_projection"], deps=[dg.AssetKey(["marts", "fct_daily_cost"])], kinds={"duckdb"},
                     description="Spend so far this month plus the forecast to month end, per team and in total.", **ML_SPEC),
    ],
    pool="duckdb_warehouse",
)
def spend_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource,
                   exports: ExportsResource):
    with warehouse.connect() as con:
        out = pipeline.forecast_spend(con, policy.load())
    png = pipeline.forecast_plot_png(out["series"], out["forecast"])
    where = export_file(png, "spend_forecast.png", exports.uri)
    errors = out["errors"]
    total = errors[errors["unique_id"] == "total"].set_index("model")
    chosen = out["choice"].get("total")
    summary = errors.groupby("model")[["total_ape", "smape"]].median()
    yield dg.MaterializeResult(asset_key=["ml", "spend_forecast_backtest"], metadata={"rows": len(errors)})
    yield dg.MaterializeResult(asset_key=["ml", "month_end_projection"], metadata={
        "teams": int(out["projection"]["team"].notna().sum()),
        "projection": dg.MetadataValue.md(pipeline.md_table(out["projection"][["unique_id", "actual_to_date", "projected_total"]]))})
    yield dg.MaterializeResult(asset_key=["ml", "spend_forecast"], metadata={
        "series": int(out["series"]["unique_id"].nunique()),
        "models_chosen": dg.MetadataValue.json(out["choice"].value_counts().to_dict()),
        "total_model": chosen or "SeasonalNaive",
        "total_monthly_mape": float(total.loc[chosen, "total_ape"]) if chosen in total.index else None,
        "total_monthly_mape_seasonal_naive": float(total.loc["SeasonalNaive", "total_ape"]) if "SeasonalNaive" in total.index else None,
        "median_backtest_by_model": dg.MetadataValue.md(pipeline.md_table(summary, index=True)),
        "plot_file": where, "plot": dg.MetadataValue.md(pipeline.png_markdown(png))})


@dg.asset(key=["ml", "spend_anomalies"], deps=[dg.AssetKey(["marts", "fct_daily_cost"])], kinds={"statsforecast"},
          description="Days of the last two weeks whose spend per team x service fell outside the 99 % interval of a "
                      "model fit on the days before (robust z-score on short histories), with severity in dollars.", **ML)
def spend_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: PolicyResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        found = pipeline.detect_spend_anomalies(con, policy.load())
    preview = found[["unique_id", "ds", "actual", "expected", "severity_usd", "method"]].head(10)
    return dg.MaterializeResult(metadata={"anomalies": len(found),
                                          "dollars_above_expected": float(found.loc[found["severity_usd"] > 0, "severity_usd"].sum()),
                                          "preview": dg.MetadataValue.md(pipeline.md_table(preview) if len(found) else "none")})


ml_assets = [runtime_model, runtime_predictions, spend_forecast, spend_anomalies]
