"""Emit and export recommendations when their inputs change: an asset sensor on the spend
forecast (the last input the recommendation models read) runs the recommendation models and the
`recommendations` export. The rest of the graph follows its inputs through declarative automation."""


import dagster as dg

RECOMMENDATIONS = dg.AssetKey(["marts", "recommendations"])

emit_recommendations_job = dg.define_asset_job(
    "emit_recommendations",
    selection=(dg.AssetSelection.groups("recommendations")
               | dg.AssetSelection.assets(["marts", "recommendation_history"], RECOMMENDATIONS,
                                          ["exports", "recommendations"])),
    description="Rebuild every rec_* model, the recommendations table and its history, and export it.",
)


@dg.asset_sensor(asset_key=dg.AssetKey(["ml", "spend_forecast"]), job=emit_recommendations_job,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="New spend forecast (the nightly graph or a re-delivered month) -> emit recommendations.")
def recommendations_on_new_forecast(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    return dg.RunRequest(run_key=f"forecast-{asset_event.run_id}")
