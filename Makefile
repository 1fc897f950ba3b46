# Two entry points for a fresh machine: `make demo` runs the main job on the bundled data,
# `make test` runs the linters and the test suite. Both build .venv/ in the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench data clean

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

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_engine.py

# Rebuild the bundled reference tables from the official CMS files in ../shared/cms.
data: $(BIN)/therabill
	$(BIN)/therabill data build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
