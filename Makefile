# The README's commands. `make run` sets up and runs the pipeline; `make test` sets up and
# runs the whole test suite. Both create .venv on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: setup run test test-fast lint bench clean screenshot report-screenshot

setup: $(STAMP)

# pip's notes about unusable local index folders (a machine setting) are noise here.
QUIET_PIP := grep -v "WARNING: Location" || true

# torch first, pinned, so pip never resolves a CUDA build for it.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 2>&1 | { $(QUIET_PIP); }
	$(BIN)/pip install --quiet torch==2.13.0 2>&1 | { $(QUIET_PIP); }
	$(BIN)/pip install --quiet -e '.[pipeline,serve,dev]' 2>&1 | { $(QUIET_PIP); }
	touch $(STAMP)

run: setup
	dvc repro
	dvc metrics show

test: setup
	pytest

test-fast: setup
	pytest -m "not slow"

lint: setup
	ruff check src flows tools tests benchmarks .ci
	ruff format --check src flows tools tests benchmarks .ci

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Figures printed by scripts in benchmarks/ (after `make run`: they use its model and data).
bench: setup
	python benchmarks/speed_and_memory.py
	python benchmarks/model_selection.py
	python benchmarks/reproducibility.py
	python benchmarks/qrs_detection.py
	python benchmarks/serve_latency.py
	python benchmarks/scale.py

# The README's picture of the MLflow runs table (after `make run`; needs chromium).
screenshot: setup
	python .ci/mlflow_screenshot.py

# The README's picture of the Holter report of one record (after `make run`; needs chromium).
report-screenshot: setup
	python benchmarks/holter_screenshot.py
