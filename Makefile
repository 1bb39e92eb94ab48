# Two commands on a fresh machine with Python 3.11+:  `make run`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
HOST ?= 127.0.0.1
DEMO_ACCOUNTS ?= 200
PYTEST_WORKERS ?= 2

.PHONY: setup run test test-fast lint format openapi migrate demo bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(BIN)/hardship db upgrade

demo: migrate
	$(BIN)/hardship demo --accounts $(DEMO_ACCOUNTS)

run: demo
	@echo "serving on http://$(HOST):$(PORT)  (agent UI: http://$(HOST):$(PORT)/agent/login, API docs: /docs)"
	$(BIN)/hardship serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check app tests migrations benchmarks
	$(BIN)/ruff format --check app tests migrations benchmarks
	$(BIN)/mypy app
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix app tests migrations benchmarks
	$(BIN)/ruff format app tests migrations benchmarks

test: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test-fast: setup
	$(BIN)/pytest -x -q -m "not browser"

openapi: setup
	$(BIN)/python -m app.openapi_export openapi/openapi.json

.PHONY: asyncapi
asyncapi: setup
	$(BIN)/python -m app.asyncapi_export openapi/asyncapi.json

clean:
	rm -rf $(VENV) hardship.db hardship.db-wal hardship.db-shm .pytest_cache .mypy_cache .ruff_cache
