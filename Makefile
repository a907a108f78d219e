# Tagarela — developer commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PORT ?=

.PHONY: run test lint bench bench-search migrate install clean

$(PIP_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: system-deps $(PIP_STAMP) $(NODE_STAMP)

.PHONY: system-deps
system-deps:
	@scripts/ensure-system-deps.sh

migrate: install
	$(PY) -m infra.sql.migrate upgrade head

run: migrate
	$(PY) -m devhost $(if $(PORT),--port $(PORT),)

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

test: install
	@scripts/ensure-postgres.sh
	$(VENV)/bin/lint-imports
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@scripts/ensure-postgres.sh
	$(PY) bench/run.py

# Message search on 1M generated messages (SQLite + PostgreSQL; the data is cached under .data/bench/).
bench-search: install
	@scripts/ensure-postgres.sh
	$(PY) bench/run.py --search

clean:
	rm -rf $(VENV) node_modules .data .pytest_cache .mypy_cache .ruff_cache
