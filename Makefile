# Quick start: `make run` (Data Manager on an embedded SQLite file at 127.0.0.1:8000)
#              `make test` (lint, types, import contract, the whole test suite)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/petrosa data-manager serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.read
	$(BIN)/python -m bench.extraction
	$(BIN)/python -m bench.tradeengine
	$(BIN)/python -m bench.engine_calls

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
