# The README's commands. `make run` sets up and runs the pipeline; `make test` sets up and
# runs the whole test suite. Both create .venv on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: setup run test test-fast lint bench clean

setup: $(STAMP)

# torch first, pinned, so pip never resolves a CUDA build for it.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	dvc repro
	dvc metrics show

test: setup
	pytest

test-fast: setup
	pytest -m "not slow"

lint: setup
	ruff check src flows tests benchmarks
	ruff format --check src flows tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
