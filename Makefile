# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench messages docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/livewall run

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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

docs: $(STAMP)
	$(BIN)/livewall settings-doc > docs/configuration.md

clean:
	rm -rf $(VENV) livewall.db livewall.db-wal livewall.db-shm
