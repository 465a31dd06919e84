# The two commands of the quick start: `make run` and `make test`. Both install the exact
# versions of the lock files (requirements*.txt, with hashes); `make lock` writes them again
# from pyproject.toml after a dependency is added (LOCK_ARGS=--upgrade moves every pin).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench messages docs lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The lock holds every dependency, so the project itself goes in without resolving any.
$(STAMP): pyproject.toml requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): pyproject.toml requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/livewall run

# On every core (pytest-xdist); a module whose fixtures are costly to set up asks to stay on
# one worker (xdist_group; hence pytest < 9.2, which ignores it: pytest-xdist#1386).
# PYTEST_WORKERS=0 runs in this process; PYTEST_ARGS adds options.
PYTEST_WORKERS ?= auto
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check collectors aggregator wall tests bench
	$(BIN)/ruff format --check collectors aggregator wall tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

# New marked strings into their part's French catalogue (wall, console, digest), untranslated.
messages: $(TEST_STAMP)
	$(BIN)/python -m wall.catalogues

# `livewall` itself is left out of the dev lock: the `dev` extra names `livewall[test]`.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--strip-extras --unsafe-package livewall --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock: $(TEST_STAMP)
	$(PIP_COMPILE) --output-file requirements.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file requirements-dev.txt pyproject.toml

docs: $(STAMP)
	$(BIN)/livewall settings-doc > docs/configuration.md

clean:
	rm -rf $(VENV) livewall.db livewall.db-wal livewall.db-shm
