# Two entry points for a fresh machine: `make demo` runs the main job on the bundled data,
# `make test` runs the linters and the test suite. Both build .venv/ in the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast system lint bench bench-instructions bench-api bench-spark data clean

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

# The system packages the tests use (a browser, a PostgreSQL server, Java for Spark): each
# part's idempotent script in .ci/, which installs with apt only what is missing.
system:
	@for setup in .ci/setup-*.sh; do [ -e "$$setup" ] && bash "$$setup" || exit 1; done

test: system $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# The suite without the Spark tests (they start a JVM): the quick loop while working.
test-fast: $(VENV)/.dev
	$(BIN)/pytest -m "not spark"

# Engine throughput in process and end to end through `therabill check` (see bench/README.md).
bench: $(VENV)/.dev
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_stream.py --visits 100000 --details full,lines,totals

# Instructions per checked visit (valgrind): steady where wall-clock rates are not.
bench-instructions: $(VENV)/.dev
	$(BIN)/python bench/bench_instructions.py

# POST /v1/check through two uvicorn workers on loopback: p99 latency and requests a second.
bench-api: $(VENV)/.dev
	$(BIN)/python bench/bench_api.py

# Spark local[2] against therabill batch, Parquet to Parquet (see bench/README.md).
bench-spark: $(VENV)/.dev
	$(BIN)/python bench/bench_spark.py --visits 100000

# Rebuild the bundled reference tables from the official CMS files in ../shared/cms.
data: $(BIN)/therabill
	$(BIN)/therabill data build

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache
