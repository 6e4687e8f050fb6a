# Everything a fresh machine needs, from nothing: uv (bootstrapped if missing), ./.venv, the pinned packages.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint format lock demo bench clean install install-dev fuzz

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

$(BIN)/python: | $(UV)
	$(UV) venv --quiet --python $(PYTHON) $(VENV)

$(VENV)/.installed-run: requirements.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-dev
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync --quiet --python $(BIN)/python requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-run
	@touch $@

# `run` needs only the runtime set; if the dev set is installed it is a superset, so keep it.
install:
	@if [ ! -f $(VENV)/.installed-dev ] || [ requirements-dev.lock -nt $(VENV)/.installed-dev ]; then \
		$(MAKE) --no-print-directory $(VENV)/.installed-run; fi

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/jobmatch db upgrade
	$(BIN)/jobmatch demo load --if-empty
	JOBMATCH_AUTH=off $(BIN)/jobmatch serve

# The five-day case on synthetic data: figures printed, chart in var/five_day_case.png.
demo: install
	$(BIN)/python scripts/five_day_case.py $(DEMO_ARGS)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# The fuzz test of `make test`, long: FUZZ_EXAMPLES examples per operation and phase.
FUZZ_EXAMPLES ?= 1000
fuzz: install-dev
	JOBMATCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/api/test_fuzz.py \
		--hypothesis-show-statistics $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every version (run after editing dependencies in pyproject.toml).
lock: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml --extra test -o requirements-dev.lock

# Every speed figure beside its peers: bench/report.md, results.json, plots. About 2 minutes
# with QUICK=1, within 30 on a 2-core machine without (the 1M-posting corpus).
bench: install
	$(BIN)/jobmatch bench all $(if $(QUICK),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
