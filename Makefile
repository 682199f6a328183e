# SoleFlip developer tasks. `make help` lists them; ./soleflip bootstraps the environment.
.DEFAULT_GOAL := help
SHELL := /bin/sh
VENV := .venv/bin
PYTEST_ARGS ?=
LINT_PATHS := libs services tools tests $(wildcard bench)

.PHONY: help install dev test test-unit test-integration lint typecheck fmt bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## install the locked environment into .venv (uv sync --frozen)
	./soleflip --help >/dev/null

dev: ## run the whole system locally (Ctrl-C stops it)
	./soleflip dev

test: ## run every test (PYTEST_ARGS=... to pass options)
	./soleflip test $(PYTEST_ARGS)

test-unit: ## run the unit tests
	./soleflip test tests/unit $(PYTEST_ARGS)

test-integration: ## run the integration tests (real Postgres and NATS)
	./soleflip test tests/integration $(PYTEST_ARGS)

lint: install ## ruff check and ruff format --check
	$(VENV)/ruff check $(LINT_PATHS)
	$(VENV)/ruff format --check $(LINT_PATHS)

typecheck: install ## mypy (strict) on libs, services and tools
	$(VENV)/mypy

fmt: install ## format and autofix with ruff
	$(VENV)/ruff check --fix $(LINT_PATHS)
	$(VENV)/ruff format $(LINT_PATHS)

bench: install ## run the benchmarks (JSON results on stdout)
	@if [ -d bench ]; then for b in bench/[!_]*.py; do $(VENV)/python "$$b" || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean: ## remove caches and local dev state (.soleflip: embedded Postgres/NATS data, dev secrets)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .soleflip
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
