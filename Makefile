# Veri: `make run` serves everything on the embedded default; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the locked dependencies

browser: ## Install Debian's chromium for the browser tests (if missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing chromium from Debian's packages"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped (or fail in CI)"; \
	fi

lint: install ## ruff (lint + format check) and mypy strict
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: install browser lint ## Everything: lint, types, migrations check, all tests
	$(BIN)/pytest

run: install ## Serve Veri on the embedded Postgres with demo data and print the URL
	HYBRID_SEARCH=$${HYBRID_SEARCH:-true} MEMORY_DECAY=$${MEMORY_DECAY:-true} $(BIN)/veri run

lock: ## Re-resolve the dependencies into requirements.lock
	rm -rf /tmp/veri-lock && $(PYTHON) -m venv /tmp/veri-lock
	/tmp/veri-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/veri-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

format: install ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) .veri artifacts

.PHONY: help install browser lint test run lock format clean
