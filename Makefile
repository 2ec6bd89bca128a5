# cxstream — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup broker broker-stop demo test test-unit test-integration lint schemas bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON) and installing cxstream[dev]"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Virtualenv + dependencies + Kafka broker jars (Maven Central)
	@$(BIN)/cxstream broker fetch

broker: setup ## Start the local Kafka broker on 127.0.0.1:9092 (stop: make broker-stop)
	$(BIN)/cxstream broker start

broker-stop: ## Stop the local Kafka broker
	$(BIN)/cxstream broker stop

demo: setup ## Run everything end to end on fresh local state and print a summary
	$(BIN)/cxstream demo

test: setup ## Lint, then unit + end-to-end tests (starts its own broker)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

test-unit: setup ## Unit tests only (no broker)
	$(BIN)/pytest -p no:cacheprovider -m "not integration" $(PYTEST_ARGS)

test-integration: setup ## End-to-end tests on a real broker only
	$(BIN)/pytest -p no:cacheprovider -m integration $(PYTEST_ARGS)

lint: $(STAMP) ## ruff + mypy + schema drift check
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/mypy
	$(BIN)/cxstream schemas --check

schemas: $(STAMP) ## Regenerate schemas/ from the pydantic models
	$(BIN)/cxstream schemas

bench: setup ## Spine micro-benchmark (standardise + resolve, in process)
	$(BIN)/cxstream bench

clean: ## Remove local state (broker data, worker state); keeps the venv and jar cache
	-$(BIN)/cxstream broker stop
	rm -rf .cxstream
