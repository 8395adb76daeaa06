"""Readers: one per landing format, plain functions with no Dagster imports."""
