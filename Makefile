# channelhub: `make demo` runs the hub with a sample retailer, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# `make demo DEMO_ARGS="--for 120"` runs the demo two minutes, then prints its JSON summary.
DEMO_ARGS ?=
DEMO_SECONDS ?= 120

.PHONY: install demo demo-check serve test lint typecheck pytest bench clean test-peers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	CHANNELHUB_DATABASE_URL=$${CHANNELHUB_DATABASE_URL:-sqlite:///channelhub-demo.db} $(BIN)/channelhub demo --host 127.0.0.1 --port 8000 $(DEMO_ARGS)

# The demo for DEMO_SECONDS on a fresh database and any free port; fails when anything
# unplanned went wrong (CI runs it in a clean clone).
demo-check: install
	rm -f channelhub-demo-check.db*
	CHANNELHUB_DATABASE_URL=sqlite:///channelhub-demo-check.db $(BIN)/channelhub demo --port 0 --for $(DEMO_SECONDS)

serve: install
	$(BIN)/channelhub db upgrade && $(BIN)/channelhub serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -n 2 --dist loadfile -q

test: lint typecheck pytest

# A real Medusa v2 server from npm on loopback with the local PostgreSQL (see docs/connectors/medusa.md).
test-peers: install
	PYTEST=$(CURDIR)/$(BIN)/pytest peers/medusa/run.sh

bench: install
	$(BIN)/python bench/catalog_import.py --products 100000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache channelhub-demo.db* channelhub-demo-check.db*
