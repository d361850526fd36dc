# fti-airflow: the commands a user runs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
ENV := source scripts/env.sh &&
UV_VERSION := $(shell sed -n 's/^uv==//p' requirements.txt)

.PHONY: mlflow-ui serve help first-hour setup venv node system-deps airflow-init data test lint unit integration e2e run stop bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: system-deps venv node airflow-init data ## Everything: system packages, venv and node_modules from the locks, Airflow DB + settings, demo data

system-deps: ## Install Debian's redis-server, PostgreSQL, chromium, nodejs and npm when missing (never starts a service)
	bash scripts/install-system-deps.sh

venv: $(VENV)/.installed ## The virtual environment, exactly as requirements.txt pins it, byte-compiled

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"
	VIRTUAL_ENV=$(VENV) $(VENV)/bin/uv pip sync --compile-bytecode requirements.txt
	VIRTUAL_ENV=$(VENV) $(VENV)/bin/uv pip install --compile-bytecode --no-deps --no-build-isolation -e .
	touch $@

node: node_modules/.installed ## node_modules/ exactly as package-lock.json pins it (playwright-core, for the browser tests)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

airflow-init: venv ## Create/upgrade Airflow's metadata DB and load airflow_settings.yaml
	$(ENV) mkdir -p "$$AIRFLOW_HOME" && airflow db migrate >/dev/null && echo "airflow db: $$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
	$(ENV) python scripts/load_airflow_settings.py airflow_settings.yaml

data: venv ## Land the three shipped data sets: Online Retail II and the car parks (fetched, checksummed), store_sales (generated)
	$(ENV) fti data fetch && fti data generate store_sales

test: lint ## Lint, type-check and run every test against real Redis, PostgreSQL, MLflow and Airflow
	$(ENV) python -m pytest

lint: venv ## ruff and mypy
	$(ENV) ruff check include dags plugins tests scripts && mypy

unit: venv ## Only the tests that need no service
	$(ENV) python -m pytest tests/unit tests/dags

run: venv ## Start the embedded default: local Redis + airflow standalone on 127.0.0.1:8080
	bash scripts/run-standalone.sh

mlflow-ui: venv ## MLflow's UI on 127.0.0.1:5000 over the local tracking store
	$(ENV) mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri "sqlite:///$$FTI_VAR_DIR/mlflow/mlflow.db"

serve: venv ## HTTP lookups of live predictions on 127.0.0.1:8000 (Redis: FTI_REDIS_URL)
	$(ENV) fti serve

stop: ## Stop what `make run` started
	bash scripts/run-standalone.sh stop

bench: venv ## Benchmarks: print tables and write bench/results.json
	$(ENV) fti bench all

first-hour: venv ## Time to first prediction: a fresh clone through setup, run, the three DAGs and an HTTP lookup
	$(ENV) fti bench first-hour

lock: ## Regenerate requirements.txt from requirements.in
	$(VENV)/bin/uv pip compile requirements.in --python-version 3.11 --custom-compile-command "make lock" -o requirements.txt

clean: ## Remove local state (var/) but keep the venv
	rm -rf var
