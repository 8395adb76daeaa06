"""GPU FinOps control plane: the Dagster code location and the plain code it calls."""
