# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
DOCS_PORT ?= 8080
SCALE ?= 10000000

export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# dbt and dagster from the venv, also for the processes Dagster starts
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-spark spark dev docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# PySpark + dbt-spark (~300 MB) only for the Spark targets below, with their own stamp
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

## Materialize the whole asset graph on FINOPS_LANDING (generates the sample when empty).
run: install
	$(BIN)/python -m orchestration.cli run

## The whole test suite (unit, dbt through `dbt build`, end to end).
test: install
	$(BIN)/python -m pytest

## The dbt project on a local Apache Spark from the sample: every mart equal to DuckDB's row for
## row (needs Java 17; about 10 minutes).
test-spark: $(SPARK_STAMP)
	$(BIN)/python -m pytest -m spark

## Build the marts on Spark from the warehouse `make run` left (parquet under data/spark).
spark: $(SPARK_STAMP)
	$(BIN)/python -m orchestration.cli spark

## Dagster UI on http://127.0.0.1:$(PORT)
dev: install
	$(BIN)/python -m orchestration.cli prepare
	$(BIN)/dagster dev -h 127.0.0.1 -p $(PORT) -w workspace.yaml

## dbt docs site on http://127.0.0.1:$(DOCS_PORT) (run `make run` first for column types)
docs: install
	$(BIN)/python -m orchestration.cli prepare
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir . && ../$(BIN)/dbt docs serve --profiles-dir . --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

## Benchmarks (not tests): ingest of SCALE CUR 2.0 line items vs DuckDB's own parquet copy; ML fits.
bench: install
	$(BIN)/python tests/benchmarks/bench_ingest.py --rows $(SCALE)
	$(BIN)/python tests/benchmarks/bench_ml.py

clean:
	rm -rf data/landing data/warehouse data/exports data/models data/dagster_home data/spark dbt_project/target dbt_project/logs
