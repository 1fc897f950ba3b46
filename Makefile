# Two entry points for a fresh machine: `make demo` runs the main job on the bundled data,
# `make test` runs the linters and the test suite. Both build .venv/ in the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

FAST := .venv-fast
SOURCES := $(shell find src -name '*.py' -o -name '*.yaml' -o -name '*.csv' -o -name '*.json')

.PHONY: demo test test-compiled lint bench bench-instructions bench-api data clean

$(BIN)/therabill: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(BIN)/therabill
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

demo: $(BIN)/therabill
	$(BIN)/therabill check examples/massage-and-manual.json --format table

test: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# The compiled build (mypyc) that batch work and the benchmark use: same source, built with
# THERABILL_COMPILE=1 into its own environment, rebuilt whenever a source file changes.
$(FAST)/.built: pyproject.toml setup.py $(SOURCES)
	rm -rf $(FAST) build
	$(PYTHON) -m venv $(FAST)
	$(FAST)/bin/pip install --quiet --upgrade pip setuptools wheel
	$(FAST)/bin/pip install --quiet ".[dev]"
	THERABILL_COMPILE=1 $(FAST)/bin/pip install --quiet --no-build-isolation --no-deps \
		--force-reinstall .
	@touch $@

# The whole suite again, against the compiled build (from the installed package, not src/).
test-compiled: $(FAST)/.built
	$(FAST)/bin/python -c "import sys, therabill.engine as e; \
		sys.exit(0 if e.__file__.endswith('.so') else 'the engine is not compiled')"
	THERABILL_CMS_DIR=$${THERABILL_CMS_DIR:-$(abspath ..)/shared/cms} \
		$(FAST)/bin/python -m pytest -p no:cacheprovider

bench: $(FAST)/.built
	$(FAST)/bin/python bench/bench_engine.py

# Instructions per checked visit (valgrind): steady where wall-clock rates are not.
bench-instructions: $(FAST)/.built
	$(FAST)/bin/python bench/bench_instructions.py

# POST /v1/check through two uvicorn workers on loopback: p99 latency and requests a second.
bench-api: $(VENV)/.dev
	$(BIN)/python bench/bench_api.py

# Rebuild the bundled reference tables from the official CMS files in ../shared/cms.
data: $(BIN)/therabill
	$(BIN)/therabill data build

clean:
	rm -rf $(VENV) $(FAST) build .pytest_cache .ruff_cache .mypy_cache
