"""Plain-Python ML code (features, fit, predict, backtest); frames in, frames out. No Dagster or DuckDB imports."""
