# One command each, on a machine with only Python 3.11+ and make (README: Quick start).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup test lint typecheck pytest plan validate bench bench-check bench-quick bench-load lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint requirements/constraints.txt --editable '.[dev]'
	touch $(STAMP)

test: setup lint typecheck pytest

lint: setup
	$(BIN)/ruff format --check reconciler tests benchmarks
	$(BIN)/ruff check reconciler tests benchmarks

typecheck: setup
	$(BIN)/mypy --strict reconciler

pytest: setup
	$(BIN)/pytest -q -n 2

# The main job against the embedded sandbox: named explicitly, so it also runs under CI=true.
plan: setup
	$(BIN)/reconciler --env sandbox plan

validate: setup
	$(BIN)/reconciler --env sandbox validate

# The figures of issues 9, 21 and 22 (about 15 minutes; never part of `make test`): run.py, then
# floor.py (the client against a bare httpx loop, alternating pairs). Exit 0 unless a run
# fails; `make bench-check` exits 2 when a target is missed. One part:
# make bench FLOOR_ARGS="--only shards"; a smoke run of both: make bench-quick.
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/floor.py $(FLOOR_ARGS)

bench-check: setup
	$(BIN)/python benchmarks/run.py --check $(BENCH_ARGS)
	$(BIN)/python benchmarks/floor.py --check $(FLOOR_ARGS)

bench-quick: setup
	$(BIN)/python benchmarks/run.py --quick $(BENCH_ARGS)
	$(BIN)/python benchmarks/floor.py --quick $(FLOOR_ARGS)

bench-load: setup
	$(BIN)/python benchmarks/load_manifests.py

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --editable '.[dev]'
	{ echo "# Exact versions for reproducible installs (make uses this as a pip constraints file)."; \
	  echo "# Regenerate: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements/constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .reconciler .mypy_cache .ruff_cache .hypothesis
