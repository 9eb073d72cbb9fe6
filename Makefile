# Every target sets itself up on a fresh machine (Python 3.11 + the package registries).
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: install run playground test lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned to the CPU build, before anything that pulls torch
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -c constraints.txt -e ".[st,dev]"
	touch $(STAMP)

install: $(STAMP)

## Run the bot with the embedded defaults (SQLite + embedded Chroma + bundled e5-small).
run: install
	$(BIN)/canbo run

playground: install
	$(BIN)/canbo playground

## The whole test suite: lint, format check, types, import contracts, tests (SQLite + Postgres).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -m "not slow"

bench: install
	$(PY) bench/retrieval.py
	$(PY) bench/records.py
	$(PY) bench/bot.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
